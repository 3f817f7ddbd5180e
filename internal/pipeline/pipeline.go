// Package pipeline runs one event through trailwatch: detect, enrich,
// render and deliver. The Lambda function and `trailwatch replay` use the
// same Pipeline value; only the edges differ (where events come from, which
// clients are real, which channels are configured).
package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/budget"
	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/deliver"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/human"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/internal/suppress"
)

// Channel delivers alerts somewhere. Rendering and sending are apart:
// every channel's message is rendered on the calling goroutine, which takes
// microseconds, and only the sends, which wait on the network, run
// concurrently.
type Channel interface {
	// Name is how logs and errors name the channel ("slack", "email").
	Name() string
	// Render prepares the alert's message; it does no I/O.
	Render(a alert.Alert) (Message, error)
	// RenderDigest prepares a storm digest's message.
	RenderDigest(d alert.Digest) (Message, error)
}

// Message is a rendered message, ready to send.
type Message interface {
	Send(ctx context.Context) error
}

// Preparer is a Channel whose sends need something fetched first (the
// Slack webhook URL from Secrets Manager). The pipeline runs the
// preparation while the alert is built, so the send does not wait for it;
// a preparation that fails is not reported: the send tries again and
// reports.
type Preparer interface {
	// Preparation returns the work, or nil when there is none.
	Preparation() func(ctx context.Context)
}

// Ledger remembers deliveries, so an event EventBridge delivers twice, or
// a retry after one channel failed, does not reach a channel twice. A claim
// carries its holder's deadline: a pending claim is never taken for a
// delivery; it is Held until its holder's deadline (plus a grace) and taken
// over after it.
type Ledger interface {
	// Claim claims key for holder, a token unique to the invocation, whose
	// deadline (zero: none) is when Lambda stops it.
	Claim(ctx context.Context, key, holder string, deadline time.Time) (state.Claim, error)
	// Done marks holder's claim sent.
	Done(ctx context.Context, key, holder string) error
	// Release forgets holder's claim after a failed send.
	Release(ctx context.Context, key, holder string) error
}

// Storms counts repeats of a detection by one principal in a window.
type Storms interface {
	Record(ctx context.Context, w state.Window, o state.Occurrence, account, region string) (state.Tally, error)
}

// DefaultStormWindow is the storm window when none is configured.
const DefaultStormWindow = 5 * time.Minute

// Pipeline holds what processing an event needs.
type Pipeline struct {
	Catalog *detect.Catalog
	// Suppressions are the allow-lists, applied after detection.
	Suppressions []suppress.Rule
	Enricher     *enrich.Enricher
	Channels     []Channel
	// Ledger makes delivery idempotent; nil delivers every time.
	Ledger Ledger
	// Routing sends some accounts' alerts to channels of their own
	// (organization mode); nil sends every alert to Channels.
	Routing *Routing
	// Storms holds back repeats for a digest; nil alerts every event.
	Storms Storms
	// Counter counts threshold detections' events; nil counts in this
	// process's memory only.
	Counter Counter
	// StormWindow is the length of storm windows; zero means 5 minutes.
	// Windows are aligned to the events' own times.
	StormWindow time.Duration
	// Now is the clock that places an event without a time in a storm
	// window; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger

	// storming remembers, for the life of the execution environment, the
	// storms (detection, severity, principal) whose last event here was a
	// repeat held for the digest, and when.
	stormMu  sync.Mutex
	storming map[string]time.Time

	counterOnce sync.Once
	fallback    *state.Memory
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
	// AlreadyDelivered lists the channels that had the alert before
	// (a repeated delivery of the event, or a retry).
	AlreadyDelivered []string
	// Held lists the channels another invocation is delivering to: they
	// fail this invocation, so Lambda retries once that one is done or
	// stopped.
	Held []string
	// Repeat is set when the event repeats a detection the same principal
	// triggered earlier in the storm window: it waits for the digest.
	Repeat bool
	// BelowRoute is set when the event's route takes only more severe
	// alerts (organization mode's routes): it is logged, not sent.
	BelowRoute bool
	// Counted are the threshold detections this event counted towards
	// without crossing.
	Counted []Counted
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

// ErrHeld marks a channel another invocation is delivering to: this one
// must not send, and fails so that Lambda retries later.
var ErrHeld = errors.New("not sent")

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
	res.Findings, res.Suppressed = p.Suppress(ev, findings, log)
	res.Findings, res.Counted = p.CountThresholds(ctx, ev, res.Findings, log)
	findings = res.Findings
	if len(findings) == 0 {
		if len(res.Counted) > 0 {
			return res, nil
		}
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
	channels, ok := p.route(ctx, eventAccount(ev), findings[0].Severity, log)
	if !ok {
		res.BelowRoute = true
		return res, nil
	}
	// Everything the sends wait for runs side by side, as one wave of
	// requests: the claims (a duplicate is refused without waiting for the
	// look-ups), the storm-window record, the look-ups, and what the
	// channels fetch first (the Slack webhook URL). It all ends within the
	// budget's share before sending.
	b := budget.New(ctx, p.Now)
	key := deliveryKey(ev)
	prep, cancelPrep := b.Prepare(ctx)
	var prepared sync.WaitGroup
	defer prepared.Wait() // after cancelPrep: a preparation left over ends at once
	defer cancelPrep()
	stormed := func() (bool, string) { return false, "" }
	if p.Storms != nil && ev.CloudTrail != nil {
		storm := findings[0].Detection.ID + "#" + findings[0].Severity.String() + "#" + principalKey(ev.CloudTrail)
		if p.inStorm(storm) {
			// The last event of this storm here was a repeat: this one
			// most likely is too. It is recorded in its window first, and
			// claims and look-ups are made only for an alert, so a storm's
			// repeats cost one write each, not a wave of look-ups.
			repeat, note := p.storm(prep, ev, findings, log)
			p.sawStorm(storm, repeat)
			if repeat {
				res.Repeat = true
				return res, nil
			}
			stormed = func() (bool, string) { return false, note }
		} else {
			var repeat bool
			var note string
			done := make(chan struct{})
			go func() {
				defer close(done)
				repeat, note = p.storm(prep, ev, findings, log)
				p.sawStorm(storm, repeat)
			}()
			stormed = func() (bool, string) { <-done; return repeat, note }
		}
	}
	claims := p.claim(prep, b, key, channels)
	for _, ch := range channels {
		if pr, ok := ch.(Preparer); ok {
			if prepare := pr.Preparation(); prepare != nil {
				prepared.Go(func() { prepare(prep) })
			}
		}
	}
	built := p.buildAlert(prep, ev, findings, claims.pending() || p.Storms != nil)
	defer built.stop()

	repeat, note := stormed()
	if repeat {
		// Claims made for it are left pending with this invocation's
		// deadline: another copy of the event is a repeat again, or takes
		// them over after that deadline.
		claims.wait()
		built.cancel()
		res.Repeat = true
		return res, nil
	}
	if claims.wait(); claims.nothingToSend() {
		// Every channel had the alert, or another invocation is sending
		// it: the look-ups are not waited for.
		built.cancel()
		var err error
		res.Delivered, res.AlreadyDelivered, res.Held, err = p.deliver(ctx, b, claims, nil)
		log.Info("not sent: every channel had the alert or is being sent it", "detection", primary,
			"already_delivered", res.AlreadyDelivered, "held", res.Held, "failed", err != nil)
		return res, err
	}
	a, err := built.wait()
	if err != nil {
		p.finish(ctx, b, claims, nil, false)
		return res, fmt.Errorf("build alert: %w", err)
	}
	if note != "" {
		a.Notes = append(a.Notes, note)
	}
	res.Alert = a
	res.Delivered, res.AlreadyDelivered, res.Held, err = p.deliver(ctx, b, claims, func(ch Channel) (Message, error) { return ch.Render(*a) })
	log.Info("alert", "detection", primary, "severity", a.Severity.String(), "delivered", res.Delivered,
		"already_delivered", res.AlreadyDelivered, "held", res.Held, "failed", err != nil)
	return res, err
}

// alertBuild is the alert being built beside the claims and the storm
// record.
type alertBuild struct {
	done   chan struct{}
	a      alert.Alert
	err    error
	cancel context.CancelFunc
}

// wait returns the alert, built in b.
func (b *alertBuild) wait() (*alert.Alert, error) {
	if b.done != nil {
		<-b.done
	}
	return &b.a, b.err
}

// stop cancels what is left of the look-ups and waits for them to end,
// so nothing of the invocation runs after it returns.
func (b *alertBuild) stop() {
	b.cancel()
	if b.done != nil {
		<-b.done
	}
}

// buildAlert starts building the alert (the look-ups) under ctx: beside
// other work on a goroutine of its own, which stop cancels; alone, at once
// on this one.
func (p *Pipeline) buildAlert(ctx context.Context, ev *event.Event, findings []detect.Finding, beside bool) *alertBuild {
	if !beside {
		b := &alertBuild{cancel: func() {}}
		b.a, b.err = p.Enricher.Alert(ctx, ev, findings)
		return b
	}
	ctx, cancel := context.WithCancel(ctx)
	b := &alertBuild{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(b.done)
		b.a, b.err = p.Enricher.Alert(ctx, ev, findings)
	}()
	return b
}

// storm records the event in its window and reports whether it repeats an
// alerted one. Windows follow the event's own time, so a replay of past
// logs groups repeats as production did. When the store fails the event is
// alerted: a possible duplicate is better than a lost alert. So is an event
// that arrives after its window's digest was claimed (CloudTrail delivers
// minutes late), and one with a finding of tampering with trailwatch's
// delivery, which no digest may hold back: the digest would be sent by what
// is being tampered with.
func (p *Pipeline) storm(ctx context.Context, ev *event.Event, findings []detect.Finding, log *slog.Logger) (repeat bool, note string) {
	if i := slices.IndexFunc(findings, func(f detect.Finding) bool { return f.Detection.Immediate }); i >= 0 {
		log.Info("alerting at once: never held for a digest", "detection", findings[i].Detection.ID)
		return false, ""
	}
	f := findings[0]
	rec := ev.CloudTrail
	window := p.StormWindow
	if window <= 0 {
		window = DefaultStormWindow
	}
	at := rec.EventTime
	if at.IsZero() {
		now := time.Now
		if p.Now != nil {
			now = p.Now
		}
		at = now()
	}
	w := state.WindowOf(f.Detection.ID, f.Severity.String(), principalKey(rec), at, window)
	o := state.Occurrence{EventID: deliveryKey(ev), Time: rec.EventTime.UTC().Format(time.RFC3339), Resource: f.Resource.Name, Headline: f.Headline}
	t, err := p.Storms.Record(ctx, w, o, rec.Account(), rec.AWSRegion)
	switch {
	case err != nil:
		log.Warn("storm window unavailable; alerting", "error", err)
		return false, ""
	case t.Late:
		log.Info("repeat arrived after its storm window's digest; alerting", "detection", f.Detection.ID, "severity", f.Severity.String(),
			"principal", w.Principal, "window_end", w.End)
		return false, "This event arrived after the digest of its storm window (" + human.Time(w.Start) + " to " + human.Time(w.End) +
			") was sent, so it is alerted on its own."
	case !t.First:
		log.Info("repeat within storm window: held for the digest", "detection", f.Detection.ID, "severity", f.Severity.String(),
			"principal", w.Principal, "count", t.Count, "window_end", w.End)
		return true, ""
	}
	return false, "Further " + f.Detection.ID + " findings of this severity by this principal until " + human.Time(w.End) +
		" are summarized in one digest."
}

// inStorm reports whether this execution environment's last event of the
// storm was a repeat, less than a storm window ago.
func (p *Pipeline) inStorm(storm string) bool {
	now := p.now()
	p.stormMu.Lock()
	defer p.stormMu.Unlock()
	at, ok := p.storming[storm]
	return ok && now.Sub(at) < p.stormWindow()
}

// sawStorm remembers whether the storm's event was a repeat.
func (p *Pipeline) sawStorm(storm string, repeat bool) {
	now := p.now()
	p.stormMu.Lock()
	defer p.stormMu.Unlock()
	if !repeat {
		delete(p.storming, storm)
		return
	}
	if p.storming == nil || len(p.storming) >= maxStorming {
		p.storming = map[string]time.Time{}
	}
	p.storming[storm] = now
}

// maxStorming bounds the storms an execution environment remembers.
const maxStorming = 1024

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pipeline) stormWindow() time.Duration {
	if p.StormWindow > 0 {
		return p.StormWindow
	}
	return DefaultStormWindow
}

// principalKey identifies the caller for storm windows.
func principalKey(rec *cloudtrail.Record) string {
	id := rec.UserIdentity
	for _, k := range []string{id.ARN, id.InvokedBy, id.PrincipalID, id.Type} {
		if k != "" {
			return k
		}
	}
	return "unknown"
}

// deliveryKey identifies the event for idempotent delivery: CloudTrail's
// eventID, the same however often EventBridge delivers it. GuardDuty sends
// a finding again, as a new event, each time it sees the activity again
// (the count grows); those updates are one alert per finding and severity,
// so a finding that becomes more severe is sent again.
func deliveryKey(ev *event.Event) string {
	switch {
	case ev.CloudTrail != nil && ev.CloudTrail.EventID != "":
		return ev.CloudTrail.EventID
	case ev.GuardDuty != nil && ev.GuardDuty.ID != "":
		return "guardduty#" + ev.GuardDuty.ID + "#" + strconv.FormatFloat(ev.GuardDuty.Severity, 'f', -1, 64)
	}
	return ev.ID()
}

// SendDigest delivers the digest of a storm window to every channel.
func (p *Pipeline) SendDigest(ctx context.Context, d alert.Digest, key string) ([]string, error) {
	b := budget.New(ctx, p.Now)
	channels, ok := p.route(ctx, d.AccountID, d.Severity, p.logger())
	if !ok {
		return nil, nil
	}
	claims := p.claim(ctx, b, "digest#"+key, channels)
	delivered, _, _, err := p.deliver(ctx, b, claims, func(ch Channel) (Message, error) { return ch.RenderDigest(d) })
	return delivered, err
}

// SendAlert delivers an alert that no event carried (a member's silence,
// which the heartbeat check found) to the channels of the alert's account
// and severity, with a claim per channel under key: a key sent before is
// not sent again, and a failed channel is released for the next try.
func (p *Pipeline) SendAlert(ctx context.Context, a alert.Alert, key string) ([]string, error) {
	b := budget.New(ctx, p.Now)
	channels, ok := p.route(ctx, a.Where.AccountID, a.Severity, p.logger())
	if !ok {
		return nil, nil
	}
	claims := p.claim(ctx, b, key, channels)
	delivered, already, _, err := p.deliver(ctx, b, claims, func(ch Channel) (Message, error) { return ch.Render(a) })
	return append(delivered, already...), err
}

// Suppress applies the allow-lists to an event's findings: the kept ones,
// and the silenced ones with the rule that silenced each. Every silenced
// finding is logged with the rule and its reason; a rule that tries to
// silence a protected detection without force is logged and ignored.
func (p *Pipeline) Suppress(ev *event.Event, findings []detect.Finding, log *slog.Logger) ([]detect.Finding, []Suppressed) {
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

// claimSet is the claims of one delivery, one per channel, made side by
// side.
type claimSet struct {
	key      string
	holder   string
	deadline time.Time
	ledger   Ledger
	wg       sync.WaitGroup
	// channels are the delivery's, claims one per channel.
	channels []Channel
	claims   []claimOutcome
}

type claimOutcome struct {
	key   string // "" without a ledger
	claim state.Claim
	err   error
}

// claim starts claiming every channel for the delivery under key.
func (p *Pipeline) claim(ctx context.Context, b budget.Budget, key string, channels []Channel) *claimSet {
	cs := &claimSet{key: key, ledger: p.Ledger, channels: channels, claims: make([]claimOutcome, len(channels))}
	if p.Ledger == nil {
		return cs
	}
	cs.holder = newHolder()
	cs.deadline, _ = b.Deadline()
	for i, ch := range channels {
		c := &cs.claims[i]
		c.key = "sent#" + key + "#" + ch.Name()
		cs.wg.Go(func() { c.claim, c.err = p.Ledger.Claim(ctx, c.key, cs.holder, cs.deadline) })
	}
	return cs
}

// pending reports whether claims are being made.
func (cs *claimSet) pending() bool { return cs.ledger != nil && len(cs.claims) > 0 }

func (cs *claimSet) wait() { cs.wg.Wait() }

// nothingToSend reports whether every channel had the alert already or is
// held by another invocation.
func (cs *claimSet) nothingToSend() bool {
	if !cs.pending() {
		return false
	}
	for _, c := range cs.claims {
		if c.err != nil || (c.claim.Status != state.Sent && c.claim.Status != state.Held) {
			return false
		}
	}
	return true
}

// newHolder returns a token that tells this invocation's claims from any
// other's (Lambda's request ID is the same on its retries).
func newHolder() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// finish records a channel's outcome in the ledger on a context of its own
// (the invocation's may have ended): sent when err is nil after a send,
// released otherwise. Only a claim this invocation made is recorded; with
// c nil, every such claim of cs is released.
func (p *Pipeline) finish(ctx context.Context, b budget.Budget, cs *claimSet, c *claimOutcome, sent bool) {
	if cs.ledger == nil {
		return
	}
	record := func(c *claimOutcome, sent bool) {
		if c.key == "" || c.err != nil || c.claim.Status != state.Claimed {
			return
		}
		ctx, cancel := b.Finish(ctx)
		defer cancel()
		mark := cs.ledger.Release
		if sent {
			mark = cs.ledger.Done
		}
		if err := mark(ctx, c.key, cs.holder); err != nil {
			p.logger().Warn("delivery ledger not updated", "key", cs.key, "claim", c.key, "sent", sent, "error", err)
		}
	}
	if c != nil {
		record(c, sent)
		return
	}
	var wg sync.WaitGroup
	for i := range cs.claims {
		wg.Go(func() { record(&cs.claims[i], false) })
	}
	wg.Wait()
}

// deliver renders every channel's message, then sends them concurrently:
// one failing channel must not keep the alert from the others, and any
// failure is returned. Each channel's claim (cs) decides: sent before,
// skip; held by another invocation, fail so Lambda retries; claimed, or
// the ledger unavailable (fail open), send. A send starts only if it can
// end before the budget's SendBy; its claim is then marked sent, or
// released after a failure, so Lambda's retry resends exactly what failed.
func (p *Pipeline) deliver(ctx context.Context, b budget.Budget, cs *claimSet, render func(Channel) (Message, error)) (delivered, already, held []string, err error) {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	log := p.logger() // "key" is added where a line is logged: With costs every delivery
	failed := func(ch Channel, err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, channelError(ch.Name(), err))
		log.Error("delivery failed", "key", cs.key, "channel", ch.Name(), "error", err)
	}
	sendCtx, cancel := b.Send(ctx)
	defer cancel()
	one := func(ch Channel, c *claimOutcome, msg Message) {
		if err := b.CanSend(); err != nil {
			p.finish(ctx, b, cs, c, false)
			failed(ch, err)
			return
		}
		err := msg.Send(sendCtx)
		p.finish(ctx, b, cs, c, err == nil)
		if err != nil {
			failed(ch, err)
			return
		}
		mu.Lock()
		delivered = append(delivered, ch.Name())
		mu.Unlock()
	}
	cs.wait()
	msgs := make([]Message, len(cs.channels))
	for i, ch := range cs.channels {
		c := &cs.claims[i]
		switch {
		case c.err != nil:
			log.Warn("delivery ledger unavailable; sending", "key", cs.key, "channel", ch.Name(), "error", c.err)
		case c.claim.Status == state.Sent:
			log.Info("already delivered; not sending again", "key", cs.key, "channel", ch.Name())
			already = append(already, ch.Name())
			continue
		case c.claim.Status == state.Held:
			held = append(held, ch.Name())
			failed(ch, fmt.Errorf("%w: another invocation holds the delivery and may still send until %s; a retry after that sends it unless that invocation did",
				ErrHeld, c.claim.Until.UTC().Format(time.RFC3339)))
			continue
		case c.claim.TookOver:
			log.Warn("taking over the delivery of an invocation stopped before it recorded its outcome; it may have sent, so the channel may get the alert twice",
				"key", cs.key, "channel", ch.Name(), "previous_deadline", c.claim.Previous.UTC().Format(time.RFC3339Nano))
		}
		msg, err := render(ch)
		if err != nil {
			p.finish(ctx, b, cs, c, false)
			failed(ch, fmt.Errorf("render: %w", err))
			continue
		}
		msgs[i] = msg
	}
	// The last message is sent from this goroutine; the others beside it.
	last := len(msgs) - 1
	for last >= 0 && msgs[last] == nil {
		last--
	}
	for i, msg := range msgs {
		switch {
		case msg == nil:
		case i == last:
			one(cs.channels[i], &cs.claims[i], msg)
		default:
			wg.Go(func() { one(cs.channels[i], &cs.claims[i], msg) })
		}
	}
	wg.Wait()
	slices.Sort(delivered)
	slices.Sort(already)
	slices.Sort(held)
	if len(errs) > 0 {
		return delivered, already, held, fmt.Errorf("%w: %w", ErrDelivery, errors.Join(errs...))
	}
	return delivered, already, held, nil
}

// channelError names the channel in a delivery error, once: senders may
// already start their errors with it ("slack: post to ...").
func channelError(name string, err error) error {
	if strings.HasPrefix(err.Error(), name+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
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
type Slack struct {
	// Route names the route whose channel this is ("slack:prod"); empty
	// for the default channel ("slack").
	Route  string
	Poster SlackPoster
	// Static, when set, holds the catalog's prepared texts (see
	// render.Static); nil renders them for each alert.
	Static *render.Static
}

// Name implements Channel.
func (s Slack) Name() string { return routed("slack", s.Route) }

// Preparation implements Preparer: a poster with a Prepare method
// (deliver.Slack) fetches its webhook URL.
func (s Slack) Preparation() func(ctx context.Context) {
	if p, ok := s.Poster.(interface{ Prepare(ctx context.Context) }); ok {
		return p.Prepare
	}
	return nil
}

// Render renders the Block Kit payload.
func (s Slack) Render(a alert.Alert) (Message, error) {
	payload, err := s.Static.SlackJSON(a)
	if err != nil {
		return nil, err
	}
	return slackMessage{s.Poster, payload}, nil
}

// RenderDigest renders a storm digest.
func (s Slack) RenderDigest(d alert.Digest) (Message, error) {
	payload, err := render.DigestSlackJSON(d)
	if err != nil {
		return nil, err
	}
	return slackMessage{s.Poster, payload}, nil
}

// slackMessage is a payload for a Slack poster.
type slackMessage struct {
	poster  SlackPoster
	payload []byte
}

func (m slackMessage) Send(ctx context.Context) error { return m.poster.Post(ctx, m.payload) }

// EmailPublisher publishes an email (deliver.SNS).
type EmailPublisher interface {
	Publish(ctx context.Context, e deliver.Email) error
}

// Email is the email channel, through SNS.
type Email struct {
	// Route is as in Slack.
	Route     string
	Publisher EmailPublisher
	// Static is as in Slack.
	Static *render.Static
}

// Name implements Channel.
func (e Email) Name() string { return routed("email", e.Route) }

// routed names a route's channel: its kind, a colon and the route.
func routed(kind, route string) string {
	if route == "" {
		return kind
	}
	return kind + ":" + route
}

// Render renders subject and body, with attributes that subscription
// filter policies can use.
func (e Email) Render(a alert.Alert) (Message, error) {
	m := e.Static.RenderEmail(a)
	return emailMessage{e.Publisher, deliver.Email{
		Subject: m.Subject,
		Body:    m.Body,
		Attributes: map[string]string{
			"severity":  a.Severity.String(),
			"detection": a.Primary.Detection.ID,
		},
	}}, nil
}

// RenderDigest renders a storm digest.
func (e Email) RenderDigest(d alert.Digest) (Message, error) {
	m := render.DigestEmail(d)
	return emailMessage{e.Publisher, deliver.Email{
		Subject: m.Subject,
		Body:    m.Body,
		Attributes: map[string]string{
			"severity":  d.Severity.String(),
			"detection": d.Detection.ID,
			"digest":    "true",
		},
	}}, nil
}

// emailMessage is an email for a publisher.
type emailMessage struct {
	publisher EmailPublisher
	email     deliver.Email
}

func (m emailMessage) Send(ctx context.Context) error { return m.publisher.Publish(ctx, m.email) }

var (
	_ Channel  = Slack{}
	_ Preparer = Slack{}
	_ Channel  = Email{}
	_ Ledger   = (*state.Dynamo)(nil)
	_ Ledger   = (*state.Memory)(nil)
	_ Storms   = (*state.Dynamo)(nil)
	_ Storms   = (*state.Memory)(nil)
)
