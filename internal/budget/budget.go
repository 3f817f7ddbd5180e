// Package budget splits the time one invocation has, from the deadline of
// its context (Lambda's timeout), between the steps that deliver an alert:
//
//   - prepare: the look-ups, the delivery claims, the storm-window record
//     and fetching the Slack webhook, which run side by side;
//   - send: the channels' sends, which end before the deadline less a
//     reserve;
//   - finish: marking or releasing the claims, which runs on a context of
//     its own (not the invocation's, which may have ended) for at most the
//     reserve, so the invocation can still return its error before Lambda
//     stops it.
//
// A context without a deadline (the CLI, tests) has no budget: each step is
// bounded only by its own timeout.
package budget

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trailwatch/trailwatch/internal/human"
)

// Defaults of a Budget.
const (
	// MaxReserve is the most of the invocation's time kept for marking or
	// releasing the claims and returning: one DynamoDB write per channel,
	// made side by side, and the answer to the Lambda runtime.
	MaxReserve = 2 * time.Second
	// MaxMinSend is the most a send needs left to be worth starting.
	MaxMinSend = time.Second
)

// Budget is one invocation's time. The zero value has no deadline.
type Budget struct {
	start    time.Time
	deadline time.Time // zero: none
	now      func() time.Time
}

// New reads the budget of the invocation whose context is ctx; now is the
// clock (nil: time.Now).
func New(ctx context.Context, now func() time.Time) Budget {
	if now == nil {
		now = time.Now
	}
	b := Budget{start: now(), now: now}
	if d, ok := ctx.Deadline(); ok {
		b.deadline = d
	}
	return b
}

func (b Budget) clock() time.Time {
	if b.now == nil {
		return time.Now()
	}
	return b.now()
}

// Deadline is the invocation's deadline; ok is false without one.
func (b Budget) Deadline() (deadline time.Time, ok bool) { return b.deadline, !b.deadline.IsZero() }

// total is the invocation's whole time (zero without a deadline).
func (b Budget) total() time.Duration {
	if b.deadline.IsZero() {
		return 0
	}
	return max(b.deadline.Sub(b.start), 0)
}

// Reserve is the time kept at the end for the claims and the answer: a
// fifth of the invocation's time, at most MaxReserve (MaxReserve without a
// deadline, as the finishing context's timeout).
func (b Budget) Reserve() time.Duration {
	if b.deadline.IsZero() {
		return MaxReserve
	}
	return min(MaxReserve, b.total()/5)
}

// SendBy is when every send must have ended: the deadline less the
// reserve. Zero without a deadline.
func (b Budget) SendBy() time.Time {
	if b.deadline.IsZero() {
		return time.Time{}
	}
	return b.deadline.Add(-b.Reserve())
}

// PrepareBy is when the steps that run before the sends (look-ups, claims,
// storm record, the webhook URL) must have ended: a third of the time
// before SendBy, so that at least two thirds remain for the sends and
// their retries. Each step keeps its own, usually shorter, timeout. Zero
// without a deadline.
func (b Budget) PrepareBy() time.Time {
	if b.deadline.IsZero() {
		return time.Time{}
	}
	return b.start.Add(b.SendBy().Sub(b.start) / 3)
}

// MinSend is the least time a send needs to be worth starting: a fifth of
// the time before SendBy, at most MaxMinSend.
func (b Budget) MinSend() time.Duration {
	if b.deadline.IsZero() {
		return MaxMinSend
	}
	return min(MaxMinSend, b.SendBy().Sub(b.start)/5)
}

// Left is the time left for sending now; ok is false without a deadline.
func (b Budget) Left() (left time.Duration, ok bool) {
	if b.deadline.IsZero() {
		return 0, false
	}
	return b.SendBy().Sub(b.clock()), true
}

// CanSend returns nil when a send may start now, or why not: it could not
// end before SendBy with at least MinSend of its own.
func (b Budget) CanSend() error {
	left, ok := b.Left()
	if !ok || left >= b.MinSend() {
		return nil
	}
	return fmt.Errorf("not sent: %s left before the invocation's deadline less the %s kept to record the outcome, less than the %s a send needs",
		Round(max(left, 0)), Round(b.Reserve()), Round(b.MinSend()))
}

// Prepare returns the context of the steps before the sends: ctx ending at
// PrepareBy, with a *Timeout as its cause; ctx itself without a deadline.
func (b Budget) Prepare(ctx context.Context) (context.Context, context.CancelFunc) {
	if b.deadline.IsZero() {
		return ctx, func() {}
	}
	by := b.PrepareBy()
	return context.WithDeadlineCause(ctx, by, &Timeout{After: by.Sub(b.start), Of: "the invocation's time before sending"})
}

// Send returns the context of the sends: ctx ending at SendBy, with a
// *Timeout as its cause; ctx itself without a deadline.
func (b Budget) Send(ctx context.Context) (context.Context, context.CancelFunc) {
	if b.deadline.IsZero() {
		return ctx, func() {}
	}
	by := b.SendBy()
	return context.WithDeadlineCause(ctx, by, &Timeout{After: max(by.Sub(b.clock()), 0), Of: "the invocation's time for sending"})
}

// Finish returns the context that records a send's outcome (marks a claim
// sent or releases it): it keeps ctx's values but not its cancellation or
// deadline, since the invocation's context may have ended, and lasts the
// reserve. It is not cut at the deadline: a write that is still under way
// then is lost with the process, as it would be anyway.
func (b Budget) Finish(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), b.Reserve())
}

// Timeout is the cause of a context that ran out of its share of the
// invocation's time. It matches errors.Is(err, context.DeadlineExceeded).
type Timeout struct {
	// After is how long the share was.
	After time.Duration
	// Of names the share ("the invocation's time for sending").
	Of string
}

// Error reads "timed out after 1.2 seconds (the invocation's time for
// sending)".
func (t *Timeout) Error() string {
	if t.Of == "" {
		return "timed out after " + human.Duration(t.After)
	}
	return "timed out after " + human.Duration(t.After) + " (" + t.Of + ")"
}

// TimedOut says, when a call made under call (derived from parent with
// timeout) ended at a deadline, which one, in words for an alert or a log
// line: "timed out after 3 seconds" for the call's own; the cause of
// parent's deadline when that ended it first (a Timeout: "timed out after
// 0.8 seconds (the invocation's time before sending)"), else "timed out at
// the invocation's deadline". A call that was cancelled, or did not end at
// a deadline, is not a timeout.
func TimedOut(parent, call context.Context, timeout time.Duration) (string, bool) {
	if !errors.Is(call.Err(), context.DeadlineExceeded) {
		return "", false
	}
	if parent.Err() == nil {
		return "timed out after " + human.Duration(timeout), true
	}
	if !errors.Is(parent.Err(), context.DeadlineExceeded) {
		return "", false
	}
	return DeadlineText(parent), true
}

// DeadlineText says which deadline ended ctx: its cause when it has one (a
// Timeout), else "timed out at the invocation's deadline".
func DeadlineText(ctx context.Context) string {
	if cause := context.Cause(ctx); cause != nil && cause != context.DeadlineExceeded {
		return cause.Error()
	}
	return "timed out at the invocation's deadline"
}

// Is makes a Timeout a context.DeadlineExceeded.
func (t *Timeout) Is(target error) bool { return target == context.DeadlineExceeded }

// TimedOutAfter is how long the share was.
func (t *Timeout) TimedOutAfter() time.Duration { return t.After }

// Round shortens a duration for messages: whole milliseconds below a
// second, tenths of a second above.
func Round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
