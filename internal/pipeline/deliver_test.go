package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/state"
)

// testClock is a settable clock shared by a pipeline and its ledger.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const aclEvent = "s3/put-bucket-acl-canned-public-read-write.json"

// TestPendingClaimIsNeverDelivered: an invocation stopped at its deadline
// (Lambda's timeout) left its claims pending. Until that deadline plus the
// grace, a retry or a duplicate is held, fails and is retried later, never
// counted as delivered; after it, the retry takes the claims over and
// sends, saying that the alert may arrive twice.
func TestPendingClaimIsNeverDelivered(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	slackCh, emailCh := &recorder{name: "slack"}, &recorder{name: "email"}
	p := newPipeline(t, slackCh, emailCh)
	ledger := state.NewMemory()
	ledger.Now = clock.now
	p.Ledger, p.Now = ledger, clock.now
	var logs bytes.Buffer
	p.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	ev := decode(t, aclEvent)
	killedDeadline := clock.now().Add(time.Minute)
	// The killed invocation had sent the email and marked it; Slack was
	// still pending when Lambda stopped it.
	for _, ch := range []string{"slack", "email"} {
		if c, err := ledger.Claim(context.Background(), "sent#"+ev.CloudTrail.EventID+"#"+ch, "killed", killedDeadline); err != nil || c.Status != state.Claimed {
			t.Fatal(c, err)
		}
	}
	if err := ledger.Done(context.Background(), "sent#"+ev.CloudTrail.EventID+"#email", "killed"); err != nil {
		t.Fatal(err)
	}

	// A duplicate delivery while the holder may still be sending.
	clock.add(30 * time.Second)
	res, err := p.Process(context.Background(), ev, "")
	if !errors.Is(err, pipeline.ErrDelivery) || !errors.Is(err, pipeline.ErrHeld) {
		t.Fatalf("while held: error %v, want ErrDelivery and ErrHeld so Lambda retries", err)
	}
	if !slices.Equal(res.Held, []string{"slack"}) || !slices.Equal(res.AlreadyDelivered, []string{"email"}) || len(res.Delivered) != 0 {
		t.Errorf("while held: held %v, already %v, delivered %v; want slack held, email already delivered", res.Held, res.AlreadyDelivered, res.Delivered)
	}
	if res.Alert != nil {
		t.Error("while held: the alert was built; the look-ups must not be waited for")
	}

	// Lambda's retry a minute later: the holder's deadline has passed.
	clock.add(time.Minute)
	res, err = p.Process(context.Background(), ev, "")
	if err != nil || !slices.Equal(res.Delivered, []string{"slack"}) || !slices.Equal(res.AlreadyDelivered, []string{"email"}) {
		t.Fatalf("retry: delivered %v, already %v, err %v; want slack sent, email skipped", res.Delivered, res.AlreadyDelivered, err)
	}
	if len(slackCh.sent) != 1 || len(emailCh.sent) != 0 {
		t.Errorf("sent slack %d, email %d; want slack once, email not again", len(slackCh.sent), len(emailCh.sent))
	}
	if !strings.Contains(logs.String(), "may get the alert twice") {
		t.Errorf("the takeover was not logged:\n%s", logs.String())
	}
	if c, _ := ledger.Claim(context.Background(), "sent#"+ev.CloudTrail.EventID+"#slack", "later", time.Time{}); c.Status != state.Sent {
		t.Errorf("after the retry the Slack claim is %v, want sent", c.Status)
	}
}

// ledgerFunc is a Ledger made of functions around an in-process one.
type ledgerFunc struct {
	*state.Memory
	claim   func(ctx context.Context, key string) error
	release func(ctx context.Context, key string)
	done    func(ctx context.Context, key string)
}

func (l ledgerFunc) Claim(ctx context.Context, key, holder string, deadline time.Time) (state.Claim, error) {
	if l.claim != nil {
		if err := l.claim(ctx, key); err != nil {
			return state.Claim{}, err
		}
	}
	return l.Memory.Claim(ctx, key, holder, deadline)
}

func (l ledgerFunc) Release(ctx context.Context, key, holder string) error {
	if l.release != nil {
		l.release(ctx, key)
	}
	return l.Memory.Release(ctx, key, holder)
}

func (l ledgerFunc) Done(ctx context.Context, key, holder string) error {
	if l.done != nil {
		l.done(ctx, key)
	}
	return l.Memory.Done(ctx, key, holder)
}

// blocking is a channel whose sends wait until their context ends, as a
// Slack that accepts the post and never answers.
type blocking struct{ name string }

func (b blocking) Name() string { return b.name }
func (b blocking) Render(alert.Alert) (pipeline.Message, error) {
	return ctxSend(func(ctx context.Context) error {
		<-ctx.Done()
		return context.Cause(ctx)
	}), nil
}
func (b blocking) RenderDigest(alert.Digest) (pipeline.Message, error) {
	return b.Render(alert.Alert{})
}

type ctxSend func(ctx context.Context) error

func (f ctxSend) Send(ctx context.Context) error { return f(ctx) }

// TestReleaseOutlivesTheDeadline: a send that runs until the invocation's
// time for sending ends is released on a context of its own, with time
// left, before the invocation's deadline; the error is returned before
// Lambda would stop the function, and the retry sends.
func TestReleaseOutlivesTheDeadline(t *testing.T) {
	memory := state.NewMemory()
	var mu sync.Mutex
	var releaseErr error
	var releasedAt time.Time
	ledger := ledgerFunc{Memory: memory, release: func(ctx context.Context, _ string) {
		mu.Lock()
		defer mu.Unlock()
		releaseErr, releasedAt = ctx.Err(), time.Now()
	}}
	p := newPipeline(t, blocking{"slack"})
	p.Ledger = ledger
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	res, err := p.Process(ctx, decode(t, aclEvent), "")
	returned := time.Now()
	if !errors.Is(err, pipeline.ErrDelivery) || !strings.Contains(err.Error(), "timed out after") {
		t.Fatalf("error %v, want a delivery error that says the send timed out", err)
	}
	if !returned.Before(deadline) {
		t.Errorf("Process returned %s after the deadline", returned.Sub(deadline))
	}
	mu.Lock()
	if releasedAt.IsZero() || releaseErr != nil {
		t.Errorf("release: at %v with context error %v; want a release on a live context", releasedAt, releaseErr)
	}
	mu.Unlock()
	if len(res.Delivered) != 0 {
		t.Errorf("delivered %v", res.Delivered)
	}
	rec := &recorder{name: "slack"}
	p.Channels = []pipeline.Channel{rec}
	if res, err := p.Process(context.Background(), decode(t, aclEvent), ""); err != nil || !slices.Equal(res.Delivered, []string{"slack"}) {
		t.Errorf("retry: delivered %v, %v; want sent, the claim having been released", res.Delivered, err)
	}
}

// TestSendNeedsTime: a send that could not end before the invocation's
// time for sending does not start; the claim is released.
func TestSendNeedsTime(t *testing.T) {
	rec := &recorder{name: "slack"}
	p := newPipeline(t, rec)
	released := false
	p.Ledger = ledgerFunc{
		Memory: state.NewMemory(),
		// A claim that takes longer than its share (a store that does not
		// honour its context).
		claim:   func(context.Context, string) error { time.Sleep(1100 * time.Millisecond); return nil },
		release: func(context.Context, string) { released = true },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := p.Process(ctx, decode(t, aclEvent), "")
	if !errors.Is(err, pipeline.ErrDelivery) || !strings.Contains(err.Error(), "not sent: ") {
		t.Fatalf("error %v, want not sent for lack of time", err)
	}
	if rec.attempts != 0 || !released {
		t.Errorf("%d send attempts, released %v; want none, and the claim released", rec.attempts, released)
	}
}

// slowAliases answers only when its context ends.
type slowAliases struct{ called chan struct{} }

func (a slowAliases) AccountAlias(ctx context.Context, _ string) (string, error) {
	close(a.called)
	<-ctx.Done()
	return "", ctx.Err()
}

// TestDuplicateRefusedWithoutWaitingForLookUps: the claims are made beside
// the look-ups; an event every channel already had returns as soon as the
// claims say so.
func TestDuplicateRefusedWithoutWaitingForLookUps(t *testing.T) {
	slackCh := &recorder{name: "slack"}
	p := newPipeline(t, slackCh)
	ledger := state.NewMemory()
	p.Ledger = ledger
	ev := decode(t, aclEvent)
	if _, err := p.Process(context.Background(), ev, ""); err != nil {
		t.Fatal(err)
	}
	p.Enricher = &enrich.Enricher{Lookups: enrich.Lookups{Aliases: slowAliases{called: make(chan struct{})}}, Timeout: time.Minute}
	start := time.Now()
	res, err := p.Process(context.Background(), ev, "")
	if err != nil || !slices.Equal(res.AlreadyDelivered, []string{"slack"}) {
		t.Fatalf("duplicate: already %v, %v", res.AlreadyDelivered, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the duplicate took %s: it waited for the look-ups", took)
	}
	if len(slackCh.sent) != 1 {
		t.Errorf("slack got %d alerts, want 1", len(slackCh.sent))
	}
}

// barrier lets n parties through only once all have arrived, or fails
// after a while: steps that run one after the other never all arrive.
type barrier struct {
	mu      sync.Mutex
	arrived int
	n       int
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

func (b *barrier) arrive() bool {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return true
	case <-time.After(3 * time.Second):
		return false
	}
}

type barrierStorms struct {
	b      *barrier
	repeat bool
	missed *bool
}

func (s barrierStorms) Record(context.Context, state.Window, state.Occurrence, string, string) (state.Tally, error) {
	if !s.b.arrive() {
		*s.missed = true
	}
	return state.Tally{First: !s.repeat, Count: 1}, nil
}

type barrierAliases struct {
	b      *barrier
	missed *bool
}

func (a barrierAliases) AccountAlias(context.Context, string) (string, error) {
	if !a.b.arrive() {
		*a.missed = true
	}
	return "acme-prod", nil
}

// TestOneWaveBeforeSending: the claims, the storm-window record and the
// look-ups run side by side; each waits for all the others to have
// started, which steps made one after the other never do.
func TestOneWaveBeforeSending(t *testing.T) {
	for _, repeat := range []bool{false, true} {
		slackCh, emailCh := &recorder{name: "slack"}, &recorder{name: "email"}
		p := newPipeline(t, slackCh, emailCh)
		b := newBarrier(4) // two claims, the storm record, the alias
		var missed [3]bool
		p.Ledger = ledgerFunc{Memory: state.NewMemory(), claim: func(context.Context, string) error {
			if !b.arrive() {
				missed[0] = true
			}
			return nil
		}}
		p.Storms = barrierStorms{b: b, repeat: repeat, missed: &missed[1]}
		p.Enricher = &enrich.Enricher{Lookups: enrich.Lookups{Aliases: barrierAliases{b: b, missed: &missed[2]}}}
		res, err := p.Process(context.Background(), decode(t, aclEvent), "")
		if err != nil {
			t.Fatal(err)
		}
		if missed != [3]bool{} {
			t.Errorf("repeat %v: claims, storm record, look-up missed the others: %v; they ran one after the other", repeat, missed)
		}
		if sent := len(slackCh.sent) + len(emailCh.sent); res.Repeat != repeat || (sent == 0) != repeat {
			t.Errorf("repeat %v: Repeat %v, %d sent", repeat, res.Repeat, sent)
		}
	}
}

// TestLedgerSlowOrFailingFailsOpen: a state table that answers slowly or
// not at all delays the alert by at most the claim's share and never
// stops it (a possible duplicate beats a lost alert).
func TestLedgerSlowOrFailingFailsOpen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		claim func(ctx context.Context, key string) error
	}{
		{"failing", func(context.Context, string) error { return errors.New("InternalServerError") }},
		{"slow", func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{name: "slack"}
			p := newPipeline(t, rec)
			var logs bytes.Buffer
			p.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			p.Ledger = ledgerFunc{Memory: state.NewMemory(), claim: tc.claim}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			res, err := p.Process(ctx, decode(t, aclEvent), "")
			if err != nil || !slices.Equal(res.Delivered, []string{"slack"}) || len(rec.sent) != 1 {
				t.Errorf("delivered %v, sent %d, err %v; want the alert sent", res.Delivered, len(rec.sent), err)
			}
			if !strings.Contains(logs.String(), "delivery ledger unavailable; sending") {
				t.Errorf("the failure was not logged:\n%s", logs.String())
			}
		})
	}
}

// countingAliases counts look-ups.
type countingAliases struct {
	mu    sync.Mutex
	calls int
}

func (a *countingAliases) AccountAlias(context.Context, string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	return "acme-prod", nil
}

// TestStormRepeatsSkipLookUps: once an execution environment has seen a
// storm's repeat, the storm's next events are recorded in their window
// before anything else: a repeat then costs that one write, no claims and
// no look-ups. The first event of a new window is still alerted.
func TestStormRepeatsSkipLookUps(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	rec := &recorder{name: "slack"}
	p := newPipeline(t, rec)
	store := state.NewMemory()
	claims := 0
	p.Ledger = ledgerFunc{Memory: store, claim: func(context.Context, string) error { claims++; return nil }}
	p.Storms, p.Now = store, clock.now
	aliases := &countingAliases{}
	p.Enricher = &enrich.Enricher{Lookups: enrich.Lookups{Aliases: aliases}}
	run := func(id string) pipeline.Result {
		ev := decode(t, aclEvent)
		ev.CloudTrail.EventID = id
		ev.CloudTrail.EventTime = clock.now() // windows follow the events' times
		res, err := p.Process(context.Background(), ev, "")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i := range 5 {
		if res := run(fmt.Sprintf("storm-%d", i)); res.Repeat != (i > 0) {
			t.Errorf("event %d: Repeat %v", i, res.Repeat)
		}
	}
	// The first event, and the first repeat (not known to be one yet).
	if aliases.calls != 2 || claims != 2 {
		t.Errorf("%d look-ups and %d claims for 5 events of one storm, want 2 and 2", aliases.calls, claims)
	}
	clock.add(pipeline.DefaultStormWindow)
	if res := run("next-window"); res.Repeat || len(rec.sent) != 2 {
		t.Errorf("the first event of the next window: Repeat %v, %d alerts in all; want it alerted", res.Repeat, len(rec.sent))
	}
}
