// Package route decides where an alert goes in organization mode: routes
// map organizational units and accounts, with a minimum severity, to their
// own channels (a Slack webhook secret, an email topic), and events no route
// matches go to the default channels.
//
// The most specific route wins: one that names the event's account, then
// the one whose OU is deepest in the account's OU path (a route for the
// production OU beats one for the root), then the first in the table. The
// winning route alone decides: its minimum severity holds back what is
// below it (logged, never silently), and its channels, or the default
// channels when it names none, receive the rest. Routes never widen what an
// event's detection would send: they only pick channels and a floor.
package route

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// Route sends the alerts of some accounts to some channels.
type Route struct {
	// Name identifies the route in logs, claims and the stack ("prod").
	Name string `json:"name"`
	// OUs are organizational unit IDs ("ou-ab12-11111111") or the root ID:
	// an account anywhere below one matches.
	OUs []string `json:"ous,omitempty"`
	// Accounts are account IDs that match directly.
	Accounts []string `json:"accounts,omitempty"`
	// MinSeverity is the lowest severity the route sends; empty: all.
	MinSeverity string `json:"minSeverity,omitempty"`
	// SlackSecretName names the Secrets Manager secret holding the route's
	// Slack webhook URL.
	SlackSecretName string `json:"slackSecretName,omitempty"`
	// Emails are subscribed to the route's own topic.
	Emails []string `json:"emails,omitempty"`
	// TopicARN is that topic, as the stack gives it to the functions; it
	// is not a setting.
	TopicARN string `json:"topicArn,omitempty"`
}

// Default is whether the route sends to the default channels: it names no
// channel of its own.
func (r Route) Default() bool {
	return r.SlackSecretName == "" && len(r.Emails) == 0 && r.TopicARN == ""
}

// Floor is the route's minimum severity (info when unset).
func (r Route) Floor() detect.Severity {
	if r.MinSeverity == "" {
		return detect.SeverityInfo
	}
	s, _ := detect.ParseSeverity(r.MinSeverity)
	return s
}

// Table is the routes, in the order they were configured.
type Table []Route

// Decision is where one alert goes.
type Decision struct {
	// Route is the matching route's name; empty when none matched.
	Route string
	// Default is set when the alert goes to the default channels (no route
	// matched, or the route names no channel).
	Default bool
	// Held is set when the alert is below the route's minimum severity:
	// it is logged, not sent.
	Held bool
	// Why says, for the log, which selector matched ("account
	// 111122223333", "OU ou-ab12-11111111").
	Why string
}

// Decide picks the route for an event of account, whose OU path from the
// root down is path (nil when unknown: only account routes can match), of
// the given severity.
func (t Table) Decide(account string, path []string, sev detect.Severity) Decision {
	best, bestRank, why := -1, -1, ""
	for i, r := range t {
		rank, w := r.rank(account, path)
		if rank > bestRank {
			best, bestRank, why = i, rank, w
		}
	}
	if best < 0 {
		return Decision{Default: true}
	}
	r := t[best]
	return Decision{Route: r.Name, Default: r.Default(), Held: sev < r.Floor(), Why: why}
}

// rank is how specifically r matches: -1 not at all, the depth of its
// deepest OU in path (0 for the root), or above any depth for an account.
func (r Route) rank(account string, path []string) (int, string) {
	if account != "" && slices.Contains(r.Accounts, account) {
		return 1 << 20, "account " + account
	}
	rank, why := -1, ""
	for depth, ou := range path {
		if slices.Contains(r.OUs, ou) && depth > rank {
			rank, why = depth, "OU "+ou
		}
	}
	return rank, why
}

var (
	nameRe    = lazyre.New(`^[a-z0-9][a-z0-9-]{0,30}$`)
	accountRe = lazyre.New(`^\d{12}$`)
	ouRe      = lazyre.New(`^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$`)
	// Secret names are bounded by length (512) below, not by a counted
	// repetition, which would compile to 512 copies of the class.
	secretRe = lazyre.New(`^[A-Za-z0-9/_+=.@-]+$`)
)

// Validate explains every problem of the table at once.
func (t Table) Validate() error {
	var errs []error
	names := map[string]bool{}
	selectors := map[string]string{}
	for i, r := range t {
		at := fmt.Sprintf("route %d", i+1)
		if r.Name != "" {
			at = fmt.Sprintf("route %q", r.Name)
		}
		switch {
		case !nameRe.MatchString(r.Name):
			errs = append(errs, fmt.Errorf("%s: name must be 1 to 31 lower-case letters, digits or dashes (it names the route's topic and claims)", at))
		case names[r.Name]:
			errs = append(errs, fmt.Errorf("%s: the name is used twice", at))
		}
		names[r.Name] = true
		if len(r.OUs)+len(r.Accounts) == 0 {
			errs = append(errs, fmt.Errorf("%s: no ous or accounts: a route must say whose alerts it takes", at))
		}
		for _, ou := range r.OUs {
			if !ouRe.MatchString(ou) {
				errs = append(errs, fmt.Errorf("%s: %q is neither an OU ID (ou-...-...) nor a root ID (r-...)", at, ou))
			}
		}
		for _, a := range r.Accounts {
			if !accountRe.MatchString(a) {
				errs = append(errs, fmt.Errorf("%s: %q is not a 12-digit account ID", at, a))
			}
		}
		// The same selector in two routes would make the table's order
		// decide silently.
		for _, sel := range append(slices.Clone(r.OUs), r.Accounts...) {
			if other, ok := selectors[sel]; ok && other != r.Name {
				errs = append(errs, fmt.Errorf("%s: %s is also in route %q; give each OU or account one route", at, sel, other))
			}
			selectors[sel] = r.Name
		}
		if r.MinSeverity != "" {
			if _, err := detect.ParseSeverity(r.MinSeverity); err != nil {
				errs = append(errs, fmt.Errorf("%s: minSeverity: %w", at, err))
			}
		}
		switch {
		case r.SlackSecretName == "":
		case strings.Contains(r.SlackSecretName, "://") || strings.Contains(r.SlackSecretName, "hooks.slack.com"):
			// Never echoed: it is a credential.
			errs = append(errs, fmt.Errorf("%s: slackSecretName looks like a webhook URL; store the URL in Secrets Manager and give the secret's name here", at))
		case len(r.SlackSecretName) > 512 || !secretRe.MatchString(r.SlackSecretName):
			errs = append(errs, fmt.Errorf("%s: slackSecretName %q is not a Secrets Manager secret name (letters, digits and /_+=.@- only)", at, r.SlackSecretName))
		}
		for _, e := range r.Emails {
			if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e || addr.Name != "" {
				errs = append(errs, fmt.Errorf("%s: %q is not a plain email address", at, e))
			}
		}
	}
	return errors.Join(errs...)
}
