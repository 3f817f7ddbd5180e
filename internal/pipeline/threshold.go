package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/state"
)

// Counter counts threshold detections' events per principal and window
// (state.Dynamo in the functions, state.Memory in replay).
type Counter interface {
	CountTowards(ctx context.Context, c state.Count) (state.Crossing, error)
}

var (
	_ Counter = (*state.Dynamo)(nil)
	_ Counter = (*state.Memory)(nil)
)

// countTimeout bounds the counting of one event; past it, or when the
// table fails, the execution environment's own memory counts instead.
// Every write is a step of regions-burst, so counting stands before most
// alerts: a table that does not answer may hold each of them this long
// (a count takes milliseconds when it answers).
const countTimeout = time.Second

// Counted says what counting did with a threshold finding below its
// threshold (for logs and replay's summary).
type Counted struct {
	Detection string
	// N is the count of the principal's window after this event, Of its
	// threshold.
	N, Of int
	// Covered is set when an earlier event's alert covers this window.
	Covered bool
}

// CountThresholds turns the findings of threshold detections into what they
// mean for this event: a finding that crossed its window becomes the
// threshold's alert (how many, which, since when); one below it, or in a
// window that has alerted already, is dropped and reported in Counted.
// Findings of other detections pass unchanged.
func (p *Pipeline) CountThresholds(ctx context.Context, ev *event.Event, findings []detect.Finding, log *slog.Logger) ([]detect.Finding, []Counted) {
	var out []detect.Finding
	var counted []Counted
	for _, f := range findings {
		t := f.Detection.Threshold
		if t == nil || ev.CloudTrail == nil {
			out = append(out, f)
			continue
		}
		env := p.Catalog.Env()
		count, window := env.ThresholdOf(f.Detection)
		cr, err := p.countWindows(ctx, ev, f, count, window)
		if err != nil {
			log.Error("threshold counted in this environment's memory only: the state table failed", "detection", f.Detection.ID, "error", err)
		}
		switch {
		case cr.crossed:
			out = append(out, crossed(f, ev, cr.Crossing, count, window))
		default:
			counted = append(counted, Counted{Detection: f.Detection.ID, N: cr.N, Of: count, Covered: cr.covered})
			log.Info("counted towards a threshold", "detection", f.Detection.ID, "count", cr.N, "threshold", count,
				"window", window.String(), "covered", cr.covered)
		}
	}
	return out, counted
}

type windowsOutcome struct {
	state.Crossing
	crossed, covered bool
}

// countWindows counts the event in the two windows of length window that
// hold its time: one aligned to the window's length, one offset by half
// of it, so a burst within half a window is always counted whole in one
// of them, whatever the clock. The event crosses when it crosses either
// and neither had crossed before (an alert covers its window).
func (p *Pipeline) countWindows(ctx context.Context, ev *event.Event, f detect.Finding, count int, window time.Duration) (windowsOutcome, error) {
	rec := ev.CloudTrail
	at := rec.EventTime
	if at.IsZero() {
		at = p.now()
	}
	at = at.UTC()
	items := f.Counted
	if !f.Detection.Threshold.Distinct || len(items) == 0 {
		items = []string{deliveryKey(ev)}
	}
	half := window / 2
	starts := []time.Time{at.Truncate(window), at.Add(-half).Truncate(window).Add(half)}
	results := make([]state.Crossing, len(starts))
	errs := make([]error, len(starts))
	counts := make([]state.Count, len(starts))
	for i, start := range starts {
		counts[i] = state.Count{Detection: f.Detection.ID, Principal: principalKey(rec), Start: start, End: start.Add(window),
			EventID: deliveryKey(ev), Time: at, Items: items, Threshold: count}
	}
	if mem, local := p.counter().(*state.Memory); local {
		// In process (a scan, replay, the fallback): counting takes a
		// lock, not a round trip, so one after the other.
		for i, c := range counts {
			results[i], errs[i] = mem.CountTowards(ctx, c)
		}
	} else {
		cctx, cancel := context.WithTimeout(ctx, countTimeout)
		defer cancel()
		var wg sync.WaitGroup
		for i, c := range counts {
			wg.Go(func() {
				counter := p.counter()
				results[i], errs[i] = counter.CountTowards(cctx, c)
				if errs[i] != nil {
					// Fail open: this environment still counts what it sees.
					results[i], _ = p.fallbackCounter().CountTowards(ctx, c)
				}
			})
		}
		wg.Wait()
	}
	var o windowsOutcome
	for _, r := range results {
		if r.Already {
			o.covered = true
		}
		if r.N > o.N || r.Crossed && !o.crossed {
			o.Crossing = r
		}
		if r.Crossed {
			o.crossed = true
			o.Crossing = r
		}
	}
	if o.covered {
		o.crossed = false
	}
	return o, joinErrs(errs)
}

func joinErrs(errs []error) error {
	var parts []string
	for _, err := range errs {
		if err != nil {
			parts = append(parts, err.Error())
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(parts, "; "))
}

// counter is the table's counter, or the environment's own memory when
// there is none.
func (p *Pipeline) counter() Counter {
	if p.Counter != nil {
		return p.Counter
	}
	return p.fallbackCounter()
}

// fallbackCounter is the environment's own memory, for a table that fails.
func (p *Pipeline) fallbackCounter() *state.Memory {
	p.counterOnce.Do(func() { p.fallback = state.NewMemory() })
	return p.fallback
}

// crossed is the finding of a window that reached its threshold: what
// crossed, how many, which, and since when.
func crossed(f detect.Finding, ev *event.Event, cr state.Crossing, count int, window time.Duration) detect.Finding {
	t := f.Detection.Threshold
	rec := ev.CloudTrail
	who := rec.UserIdentity.ARN
	if who == "" {
		who = principalKey(rec)
	}
	out := f
	out.Headline = detect.ThresholdHeadline(t, who, cr.N, window)
	noun := t.Noun
	if t.Distinct {
		noun = "distinct " + noun
	}
	shown := fmt.Sprintf("%d", len(cr.Items))
	if len(cr.Items) < cr.N {
		shown = fmt.Sprintf("first %d of %d", len(cr.Items), cr.N)
	}
	out.Evidence = append([]detect.Evidence{
		{Label: fmt.Sprintf("Threshold: %d %s within %s, reached with this event", count, noun, detect.WindowText(window)), Text: thresholdSpan(cr, rec.EventTime, deliveryKey(ev))},
		{Label: fmt.Sprintf("The %s (%s)", noun, shown), Text: strings.Join(cr.Items, "\n")},
		{Label: "This event", Text: f.Headline},
	}, f.Evidence...)
	return out
}

func thresholdSpan(cr state.Crossing, last time.Time, lastID string) string {
	first := "first counted event " + cr.FirstEvent
	if !cr.FirstTime.IsZero() {
		first += " at " + cr.FirstTime.UTC().Format(time.RFC3339)
	}
	return first + "; this event " + lastID + " at " + last.UTC().Format(time.RFC3339)
}
