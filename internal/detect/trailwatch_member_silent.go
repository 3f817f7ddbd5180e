package detect

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// The report of a silent member (organization mode): the digest function's
// heartbeat check makes one such event per account and region whose
// heartbeat stopped, and decides it with the catalog like any event. No
// EventBridge rule ever carries it (Scheduled): its source is one any
// principal of the organization could put on the central bus.
const (
	SilenceSource     = "trailwatch.heartbeat"
	SilenceDetailType = "Trailwatch Member Silent"
)

// Silence is the detail of a silence report.
type Silence struct {
	Account     string `json:"account"`
	AccountName string `json:"accountName,omitempty"`
	Region      string `json:"region"`
	// LastSeen is the last heartbeat received; nil when none ever was.
	LastSeen *time.Time `json:"lastSeen,omitempty"`
	// ExpectedSince is when the check first expected heartbeats of the
	// pair (the first check after the account, region or trailwatch
	// itself appeared).
	ExpectedSince time.Time `json:"expectedSince"`
	// Joined is when the account joined the organization.
	Joined *time.Time `json:"joined,omitempty"`
	// PeriodMinutes is how often members send a heartbeat.
	PeriodMinutes int       `json:"periodMinutes"`
	CheckedAt     time.Time `json:"checkedAt"`
}

var (
	accountIDRe = lazyre.New(`^[0-9]{12}$`)
	regionRe    = lazyre.New(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
)

func init() {
	register(&Detection{
		ID:    "trailwatch-member-silent",
		Title: "A member account and region stopped sending trailwatch's heartbeat",
		Description: "In organization mode every member stack instance sends a heartbeat to the central bus every hour " +
			"(its rule TrailwatchMember-heartbeat). The digest function's hourly check lists the accounts of the targeted " +
			"OUs (active ones only) times the member regions and reports every pair silent for two periods: its last " +
			"heartbeat older than that, or none at all since the check first expected one. A member whose forwarding was " +
			"broken (its stack instance, forwarding role or rules deleted, the central bus's policy changed, an SCP that " +
			"denies events:PutEvents) forwards nothing else either, so its events no longer reach trailwatch: that is what " +
			"this detection reports. It never comes from an EventBridge rule; the check makes the event it decides.",
		Severity:  SeverityHigh,
		Pattern:   Pattern{Source: []any{SilenceSource}, DetailType: []string{SilenceDetailType}},
		Evaluate:  evaluateMemberSilent,
		Scheduled: true,
		MITRE:     []string{"T1562.008", "T1562.001"},
		Runbook: "Find out why the account and region stopped forwarding. Check its stack instance (aws cloudformation " +
			"list-stack-instances --stack-set-name Trailwatch-Members --call-as DELEGATED_ADMIN, and its drift); in the " +
			"member account, check that the rules TrailwatchMember-* and the forwarding role exist and are enabled, and " +
			"its dead-letter queue; in the home account, check the central bus's policy. Look in the organization trail's " +
			"logs for DeleteStack, DeleteRule, DisableRule, DeleteRole or PutPermission calls in that account around the " +
			"last heartbeat, and treat the principal as compromised until explained. Repair by redeploying trailwatch or " +
			"the stack instance (aws cloudformation create-stack-instances), then replay the organization trail's logs of " +
			"the silent period (trailwatch replay). An account being closed or leaving the organization also goes silent.",
		References: []string{
			"https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html",
			"https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html",
			"https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccountsForParent.html",
		},
		FalsePositives: []string{
			"An EventBridge outage in the member's region, or throttled cross-account delivery for longer than two periods.",
			"An account suspended or closed between two checks (the next check skips it).",
			"A stack instance still being created for an account that joined a targeted OU (StackSets usually takes minutes).",
		},
		Protected: true,
		// A digest would come from the same check an hour later at best.
		Immediate: true,
		Tests: Tests{
			Positive: []Example{
				{"heartbeat/trailwatch-member-silent-stopped.json", SeverityHigh},
				{"heartbeat/trailwatch-member-silent-never-seen.json", SeverityHigh},
			},
			Negative: []string{
				"heartbeat/trailwatch-member-silent-heartbeat.json",
				"heartbeat/trailwatch-member-silent-bad-account.json",
			},
		},
	})
}

// evaluateMemberSilent decides a silence report. A report that does not
// name a valid account and region is no finding: the check only makes
// reports about accounts Organizations listed.
func evaluateMemberSilent(ev *event.Event, _ *Env) (Finding, bool) {
	if ev.Envelope.Source != SilenceSource || ev.Envelope.DetailType != SilenceDetailType {
		return Finding{}, false
	}
	var s Silence
	if err := json.Unmarshal(ev.Envelope.Detail, &s); err != nil {
		return Finding{}, false
	}
	if !accountIDRe.MatchString(s.Account) || !regionRe.MatchString(s.Region) || s.PeriodMinutes <= 0 || s.CheckedAt.IsZero() {
		return Finding{}, false
	}
	who := s.Account
	if s.AccountName != "" {
		who += " (" + s.AccountName + ")"
	}
	period := time.Duration(s.PeriodMinutes) * time.Minute
	f := Finding{
		Severity: SeverityHigh,
		Resource: Resource{Type: "trailwatch member stack", Name: "account " + s.Account + " in " + s.Region, Region: s.Region},
	}
	every := fmt.Sprintf("a heartbeat every %s", shortDuration(period))
	if s.LastSeen != nil {
		silent := s.CheckedAt.Sub(*s.LastSeen)
		f.Headline = fmt.Sprintf("No heartbeat from account %s in %s for %s: its events no longer reach trailwatch", who, s.Region, shortDuration(silent))
		f.Changes = []Change{{Setting: "Heartbeat", Before: every, After: "none since " + s.LastSeen.UTC().Format(time.RFC3339)}}
	} else {
		since := s.ExpectedSince
		if s.Joined != nil && s.Joined.After(since) {
			since = *s.Joined
		}
		f.Headline = fmt.Sprintf("Account %s in %s never sent a heartbeat in %s: its events do not reach trailwatch", who, s.Region, shortDuration(s.CheckedAt.Sub(since)))
		f.Changes = []Change{{Setting: "Heartbeat", Before: "expected since " + since.UTC().Format(time.RFC3339), After: "never received"}}
	}
	ev2 := []Evidence{{Label: "Checked at", Text: s.CheckedAt.UTC().Format(time.RFC3339)}}
	if s.Joined != nil {
		ev2 = append(ev2, Evidence{Label: "Joined the organization", Text: s.Joined.UTC().Format(time.RFC3339)})
	}
	f.Evidence = ev2
	return f, true
}

// shortDuration writes a duration in hours and minutes ("3 h 05 min"),
// or days and hours past two days.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Minute)
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
	if d >= time.Hour {
		return fmt.Sprintf("%d h %02d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d min", int(d/time.Minute))
}
