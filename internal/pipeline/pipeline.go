// Package pipeline runs one event through trailwatch: detect, enrich,
// render and deliver. The Lambda function and `trailwatch replay` use the
// same Pipeline value; only the edges differ (where events come from, which
// clients are real, which channels are configured).
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/deliver"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/suppress"
)

// Channel delivers a rendered alert somewhere.
type Channel interface {
	// Name is how logs and errors name the channel ("slack", "email").
	Name() string
	Send(ctx context.Context, a alert.Alert) error
}

// Pipeline holds what processing an event needs.
type Pipeline struct {
	Catalog *detect.Catalog
	// Suppressions are the allow-lists, applied after detection.
	Suppressions []suppress.Rule
	Enricher     *enrich.Enricher
	Channels     []Channel
	Log          *slog.Logger
}

// Result says what happened to one event.
type Result struct {
	// Findings are what the detections reported, allow-lists applied.
	Findings []detect.Finding
	// Suppressed are the findings an allow-list silenced.
	Suppressed []Suppressed
	// Alert is set when the event produced an alert.
	Alert *alert.Alert
	// Deferred is set when another rule's invocation sends this event's
	// alert; it names that detection.
	Deferred string
	// Delivered lists the channels that accepted the alert.
	Delivered []string
}

// Suppressed is a finding an allow-list silenced.
type Suppressed struct {
	Finding detect.Finding
	// Rule is the rule's 1-based position in the allow-list.
	Rule   int
	Reason string
}

// ErrDelivery marks a failure to deliver to at least one channel; the
// caller must report it so the event is retried or kept.
var ErrDelivery = errors.New("delivery failed")

// Process runs one event. rule is the detection whose EventBridge rule
// delivered it, or "" (replay, bare event). An event matched by several
// rules reaches the function once per rule; only the invocation whose rule
// belongs to the most severe finding sends the alert, which carries all
// findings, so the event yields one message.
func (p *Pipeline) Process(ctx context.Context, ev *event.Event, rule string) (Result, error) {
	log := p.logger().With("event_id", ev.ID())
	findings, err := p.Catalog.Evaluate(ev)
	if err != nil {
		// A broken decision must not silence the others: report and go on.
		log.Error("detection failed", "error", err)
	}
	res := Result{}
	res.Findings, res.Suppressed = p.suppress(ev, findings, log)
	findings = res.Findings
	if len(findings) == 0 {
		if len(res.Suppressed) > 0 {
			log.Info("every finding suppressed by allow-lists: no alert", "event_name", eventName(ev), "rule", rule)
		} else {
			log.Info("no detection fired", "event_name", eventName(ev), "rule", rule)
		}
		return res, nil
	}
	primary := findings[0].Detection.ID
	if rule != "" && rule != primary {
		if _, known := p.Catalog.Get(rule); known {
			res.Deferred = primary
			log.Info("alert left to the rule of the most severe finding", "rule", rule, "primary", primary)
			return res, nil
		}
		log.Warn("invoked by a rule this catalog does not know; sending anyway", "rule", rule)
	}
	a, err := p.Enricher.Alert(ctx, ev, findings)
	if err != nil {
		return res, fmt.Errorf("build alert: %w", err)
	}
	res.Alert = &a
	res.Delivered, err = p.deliver(ctx, a)
	log.Info("alert", "detection", primary, "severity", a.Severity.String(), "delivered", res.Delivered, "failed", err != nil)
	return res, err
}

// suppress applies the allow-lists. Every silenced finding is logged with
// the rule and its reason; a rule that tries to silence a protected
// detection without force is logged and ignored.
func (p *Pipeline) suppress(ev *event.Event, findings []detect.Finding, log *slog.Logger) ([]detect.Finding, []Suppressed) {
	if len(p.Suppressions) == 0 || ev.CloudTrail == nil {
		return findings, nil
	}
	var kept []detect.Finding
	var silenced []Suppressed
	for _, f := range findings {
		v := suppress.Check(p.Suppressions, f, ev.CloudTrail)
		if v.Refused > 0 {
			log.Warn("allow-list rule ignored: the detection is protected (set force to silence it)",
				"detection", f.Detection.ID, "rule", v.Refused)
		}
		if v.Rule == 0 {
			kept = append(kept, f)
			continue
		}
		log.Info("finding suppressed by allow-list", "detection", f.Detection.ID, "severity", f.Severity.String(),
			"rule", v.Rule, "reason", v.Reason, "principal", ev.CloudTrail.UserIdentity.ARN)
		silenced = append(silenced, Suppressed{Finding: f, Rule: v.Rule, Reason: v.Reason})
	}
	return kept, silenced
}

// deliver sends to every channel concurrently: one failing channel must not
// keep the alert from the others, and any failure is returned.
func (p *Pipeline) deliver(ctx context.Context, a alert.Alert) ([]string, error) {
	var (
		mu        sync.Mutex
		wg        sync.WaitGroup
		delivered []string
		errs      []error
	)
	for _, ch := range p.Channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := ch.Send(ctx, a)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ch.Name(), err))
				p.logger().Error("delivery failed", "event_id", a.EventID, "channel", ch.Name(), "error", err)
				return
			}
			delivered = append(delivered, ch.Name())
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return delivered, fmt.Errorf("%w: %w", ErrDelivery, errors.Join(errs...))
	}
	return delivered, nil
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}

func eventName(ev *event.Event) string {
	if ev.CloudTrail != nil {
		return ev.CloudTrail.EventName
	}
	return ev.Envelope.DetailType
}

// SlackPoster posts a rendered payload (deliver.Slack).
type SlackPoster interface {
	Post(ctx context.Context, payload []byte) error
}

// Slack is the Slack channel.
type Slack struct{ Poster SlackPoster }

// Name implements Channel.
func (Slack) Name() string { return "slack" }

// Send renders the Block Kit payload and posts it.
func (s Slack) Send(ctx context.Context, a alert.Alert) error {
	payload, err := render.SlackJSON(a)
	if err != nil {
		return err
	}
	return s.Poster.Post(ctx, payload)
}

// EmailPublisher publishes an email (deliver.SNS).
type EmailPublisher interface {
	Publish(ctx context.Context, e deliver.Email) error
}

// Email is the email channel, through SNS.
type Email struct{ Publisher EmailPublisher }

// Name implements Channel.
func (Email) Name() string { return "email" }

// Send renders subject and body and publishes them with attributes that
// subscription filter policies can use.
func (e Email) Send(ctx context.Context, a alert.Alert) error {
	m := render.RenderEmail(a)
	return e.Publisher.Publish(ctx, deliver.Email{
		Subject: m.Subject,
		Body:    m.Body,
		Attributes: map[string]string{
			"severity":  a.Severity.String(),
			"detection": a.Primary.Detection.ID,
		},
	})
}

var (
	_ Channel = Slack{}
	_ Channel = Email{}
)
