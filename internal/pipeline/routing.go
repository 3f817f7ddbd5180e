package pipeline

import (
	"context"
	"log/slog"
	"time"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/route"
)

// Routing is organization mode's routes (internal/route): the alerts of
// some OUs and accounts go to channels of their own, from a minimum
// severity; the rest to the pipeline's Channels.
type Routing struct {
	Table route.Table
	// Channels are each route's own channels, by route name; a route that
	// names none sends to the pipeline's Channels.
	Channels map[string][]Channel
	// Directory gives an account's OU path; nil, or an account it cannot
	// place, lets only account routes match.
	Directory Directory
	// Timeout bounds the Directory's answer; zero means 1 s.
	Timeout time.Duration
}

// Directory places accounts in the organization.
type Directory interface {
	// OUPath returns the IDs from the root ("r-...") down to the
	// account's own OU.
	OUPath(ctx context.Context, account string) ([]string, error)
}

// route returns the channels an alert of account and severity goes to, or
// false when its route holds it back (below the route's minimum severity,
// which is logged).
func (p *Pipeline) route(ctx context.Context, account string, sev detect.Severity, log *slog.Logger) ([]Channel, bool) {
	r := p.Routing
	if r == nil || len(r.Table) == 0 {
		return p.Channels, true
	}
	var path []string
	if r.Directory != nil && account != "" {
		timeout := r.Timeout
		if timeout <= 0 {
			timeout = time.Second
		}
		dctx, cancel := context.WithTimeout(ctx, timeout)
		var err error
		path, err = r.Directory.OUPath(dctx, account)
		cancel()
		if err != nil {
			// Account routes still apply; an OU route cannot.
			log.Warn("routing: the account's OU path is unknown; only account routes apply", "account", account, "error", err)
			path = nil
		}
	}
	d := r.Table.Decide(account, path, sev)
	if d.Held {
		log.Info("held back by its route: below the route's minimum severity", "route", d.Route, "matched", d.Why,
			"severity", sev.String(), "account", account)
		return nil, false
	}
	if d.Default {
		return p.Channels, true
	}
	return r.Channels[d.Route], true
}

// eventAccount is the account an event happened in: the envelope's, which
// EventBridge keeps when a member forwards the event to the central bus,
// else the CloudTrail record's.
func eventAccount(ev *event.Event) string {
	if ev.Envelope.Account != "" {
		return ev.Envelope.Account
	}
	if ev.CloudTrail != nil {
		return ev.CloudTrail.RecipientAccountID
	}
	return ""
}
