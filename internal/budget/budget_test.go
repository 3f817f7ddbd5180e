package budget_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/budget"
)

var start = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func TestShares(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		timeout              time.Duration
		reserve, prep, min   time.Duration
		sendBy               time.Duration // after start
		wantNoDeadline, fake bool
	}{
		// Lambda's 60 s: 2 s kept, a third of the rest before sending.
		{name: "60s", timeout: 60 * time.Second, reserve: 2 * time.Second, sendBy: 58 * time.Second, prep: 58 * time.Second / 3, min: time.Second},
		// A 3 s invocation (Lambda's timeout divided by 20).
		{name: "3s", timeout: 3 * time.Second, reserve: 600 * time.Millisecond, sendBy: 2400 * time.Millisecond, prep: 800 * time.Millisecond, min: 480 * time.Millisecond},
		{name: "no deadline", reserve: budget.MaxReserve, min: budget.MaxMinSend, wantNoDeadline: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, start.Add(tc.timeout))
				defer cancel()
			}
			b := budget.New(ctx, func() time.Time { return start })
			if _, ok := b.Deadline(); ok == tc.wantNoDeadline {
				t.Errorf("Deadline ok = %v", ok)
			}
			if got := b.Reserve(); got != tc.reserve {
				t.Errorf("Reserve = %s, want %s", got, tc.reserve)
			}
			if got := b.MinSend(); got != tc.min {
				t.Errorf("MinSend = %s, want %s", got, tc.min)
			}
			if tc.wantNoDeadline {
				if !b.SendBy().IsZero() || !b.PrepareBy().IsZero() {
					t.Errorf("SendBy %s, PrepareBy %s without a deadline; want zero", b.SendBy(), b.PrepareBy())
				}
				if err := b.CanSend(); err != nil {
					t.Errorf("CanSend without a deadline = %v", err)
				}
				return
			}
			if got := b.SendBy().Sub(start); got != tc.sendBy {
				t.Errorf("SendBy = start+%s, want start+%s", got, tc.sendBy)
			}
			if got := b.PrepareBy().Sub(start); got != tc.prep {
				t.Errorf("PrepareBy = start+%s, want start+%s", got, tc.prep)
			}
		})
	}
}

func TestCanSend(t *testing.T) {
	now := start
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(60*time.Second))
	defer cancel()
	b := budget.New(ctx, func() time.Time { return now })
	for _, tc := range []struct {
		at   time.Duration
		want string
	}{
		{at: 0},
		{at: 57 * time.Second}, // 1 s before SendBy: just enough
		{at: 57*time.Second + time.Millisecond, want: "not sent: 999ms left before the invocation's deadline less the 2s kept to record the outcome, less than the 1s a send needs"},
		{at: 59 * time.Second, want: "not sent: 0s left"},
	} {
		now = start.Add(tc.at)
		err := b.CanSend()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("at %s: CanSend = %v, want nil", tc.at, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("at %s: CanSend = %v, want %q", tc.at, err, tc.want)
		}
	}
}

// TestContexts: the prepare and send contexts end at their share with a
// Timeout that reads as words; the finishing context outlives the
// invocation's and lasts the reserve.
func TestContexts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	b := budget.New(ctx, nil)
	prep, cancelPrep := b.Prepare(ctx)
	defer cancelPrep()
	<-prep.Done()
	if ctx.Err() != nil {
		t.Fatal("the prepare context ended with the invocation's, not before")
	}
	var to *budget.Timeout
	if cause := context.Cause(prep); !errors.As(cause, &to) || !errors.Is(cause, context.DeadlineExceeded) ||
		!strings.HasPrefix(cause.Error(), "timed out after 0.01") || !strings.HasSuffix(cause.Error(), " seconds (the invocation's time before sending)") {
		t.Errorf("prepare context's cause = %v, want a Timeout after a third of 40ms", cause)
	}
	send, cancelSend := b.Send(ctx)
	defer cancelSend()
	<-send.Done()
	if ctx.Err() != nil {
		t.Fatal("the send context ended with the invocation's, not before the reserve")
	}
	if cause := context.Cause(send); !strings.Contains(cause.Error(), "(the invocation's time for sending)") {
		t.Errorf("send context's cause = %v", cause)
	}
	<-ctx.Done()
	fin, cancelFin := b.Finish(ctx)
	defer cancelFin()
	if fin.Err() != nil {
		t.Fatalf("the finishing context ended with the invocation's: %v", fin.Err())
	}
	if d, ok := fin.Deadline(); !ok || time.Until(d) > b.Reserve() {
		t.Errorf("finishing context's deadline in %s, want within the reserve %s", time.Until(d), b.Reserve())
	}
}

func TestTimeoutText(t *testing.T) {
	for _, tc := range []struct {
		t    budget.Timeout
		want string
	}{
		{budget.Timeout{After: 3 * time.Second}, "timed out after 3 seconds"},
		{budget.Timeout{After: 812345 * time.Microsecond, Of: "the alert's look-ups"}, "timed out after 0.812 seconds (the alert's look-ups)"},
		{budget.Timeout{After: 2345 * time.Millisecond}, "timed out after 2.3 seconds"},
	} {
		if got := tc.t.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.t, got, tc.want)
		}
	}
}
