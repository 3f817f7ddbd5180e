// Package heartbeat tells the home account when a member account and
// region of the organization stops forwarding (organization mode). Every
// member stack instance has a scheduled rule, RuleName, whose target is
// the central bus: each period EventBridge puts a "Scheduled Event" of the
// member's account and region there. The digest function records each one
// (Recorder) in the state table, and an hourly check (Check) lists the
// accounts of the targeted OUs in Organizations, times the member regions,
// and alerts on every pair silent for two periods.
//
// A heartbeat proves that the member's default bus still delivers to the
// central bus through the forwarding role, which every forwarding rule of
// the member uses too: deleting the stack instance, the role, or the bus
// policy's grant silences both. It does not prove each forwarding rule is
// there (trailwatch-rule-tampered reports their deletion).
package heartbeat

import (
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// RuleName is the member stacks' heartbeat rule. Its name starts with the
// member rules' prefix, so disabling or deleting it is
// trailwatch-rule-tampered like for the forwarding rules.
const RuleName = "TrailwatchMember-heartbeat"

// DefaultPeriod is how often members send a heartbeat.
const DefaultPeriod = time.Hour

// SilentAfter is how many periods without a heartbeat make a pair silent.
const SilentAfter = 2

// Scheduled events, as EventBridge delivers a scheduled rule's event.
const (
	scheduledSource     = "aws.events"
	scheduledDetailType = "Scheduled Event"
)

var (
	accountRe = lazyre.New(`^[0-9]{12}$`)
	regionRe  = lazyre.New(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	// ruleARNRe is a rule on the default bus: arn:PARTITION:events:REGION:ACCOUNT:rule/NAME.
	ruleARNRe = lazyre.New(`^arn:aws[a-z-]*:events:([a-z0-9-]+):([0-9]{12}):rule/(.+)$`)
)

// Parse reports whether the envelope is a member's heartbeat, and of which
// account and region. Only EventBridge can put an event whose source is
// aws.events on a bus (PutEvents refuses sources that start with "aws."),
// and the event's one resource must be the heartbeat rule of the account
// and region the envelope names; anything else is not a heartbeat.
func Parse(env event.Envelope) (account, region string, ok bool) {
	if env.Source != scheduledSource || env.DetailType != scheduledDetailType || len(env.Resources) != 1 {
		return "", "", false
	}
	if !accountRe.MatchString(env.Account) || !regionRe.MatchString(env.Region) {
		return "", "", false
	}
	m := ruleARNRe.FindStringSubmatch(env.Resources[0])
	if m == nil || m[1] != env.Region || m[2] != env.Account || m[3] != RuleName {
		return "", "", false
	}
	return env.Account, env.Region, true
}

// IsScheduled reports whether the envelope is a scheduled rule's event of
// any rule: the digest function's own schedule among them.
func IsScheduled(env event.Envelope) bool {
	return env.Source == scheduledSource && env.DetailType == scheduledDetailType
}
