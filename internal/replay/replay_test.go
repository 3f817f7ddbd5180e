package replay_test

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/deliver"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/replay"
	"github.com/trailwatch/trailwatch/internal/state"
)

// discard ends the Slack and email channels: payloads are rendered, then
// dropped.
type discard struct{}

func (discard) Post(context.Context, []byte) error           { return nil }
func (discard) Publish(context.Context, deliver.Email) error { return nil }

// BenchmarkReplay replays the whole events/ folder as `trailwatch replay
// --offline --format json events/` does (files read and classified, an
// in-memory delivery ledger and storm store, digests at the end), with the
// Slack and email channels rendering every alert and dropping it. One op is
// the whole folder; events/op and ns/event say how much that is per event.
func BenchmarkReplay(b *testing.B) {
	c, err := detect.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	dir := fixture.Dir(b)
	var events int
	b.ReportAllocs()
	for b.Loop() {
		store := state.NewMemory()
		p := &pipeline.Pipeline{
			Catalog:  c,
			Enricher: &enrich.Enricher{Replay: true, Offline: "benchmark"},
			Channels: []pipeline.Channel{pipeline.Slack{Poster: discard{}}, pipeline.Email{Publisher: discard{}}},
			Ledger:   store,
			Storms:   store,
		}
		r := &replay.Runner{
			Pipeline: p,
			Digests:  &pipeline.Digests{Pipeline: p, Store: store},
			Format:   replay.FormatJSON,
			Out:      io.Discard,
			Errs:     io.Discard,
		}
		sum, err := r.Run(context.Background(), []string{dir})
		if err != nil || sum.Unreadable > 0 || sum.DeliveryFailures > 0 || sum.Alerts == 0 {
			b.Fatalf("replay: %+v, %v", sum, err)
		}
		events = sum.Events
	}
	b.ReportMetric(float64(events), "events/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}

// collector is a channel that keeps what it is asked to render.
type collector struct {
	alerts  []alert.Alert
	digests []alert.Digest
}

func (c *collector) Name() string { return "collector" }
func (c *collector) Render(a alert.Alert) (pipeline.Message, error) {
	c.alerts = append(c.alerts, a)
	return nothing{}, nil
}
func (c *collector) RenderDigest(d alert.Digest) (pipeline.Message, error) {
	c.digests = append(c.digests, d)
	return nothing{}, nil
}

type nothing struct{}

func (nothing) Send(context.Context) error { return nil }

// TestReplayOfEvents replays events/ as `trailwatch replay` does: storm
// windows follow the events' own times (every repeat a digest lists lies
// in its window, though the run takes a moment of wall clock), and a
// finding of tampering with trailwatch's delivery is alerted every time,
// never held for a digest.
func TestReplayOfEvents(t *testing.T) {
	c, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	store := state.NewMemory()
	col := &collector{}
	p := &pipeline.Pipeline{Catalog: c, Enricher: &enrich.Enricher{Replay: true, Offline: "test"}, Channels: []pipeline.Channel{col}, Ledger: store, Storms: store}
	r := &replay.Runner{Pipeline: p, Digests: &pipeline.Digests{Pipeline: p, Store: store}, Format: replay.FormatJSON, Out: io.Discard, Errs: io.Discard}
	sum, err := r.Run(context.Background(), []string{fixture.Dir(t)})
	if err != nil || sum.Unreadable > 0 || sum.Digests == 0 {
		t.Fatalf("replay: %+v, %v", sum, err)
	}

	// Scheduled detections (a silent member) are decided on reports the
	// heartbeat check makes, never on recorded events: replay skips them.
	immediate := func(fs []detect.Finding) bool {
		return slices.ContainsFunc(fs, func(f detect.Finding) bool { return f.Detection.Immediate && !f.Detection.Scheduled })
	}
	var want, got int
	for _, name := range fixture.All(t) {
		fs, err := c.Evaluate(decode(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if immediate(fs) {
			want++
		}
	}
	for _, a := range col.alerts {
		if immediate(append([]detect.Finding{a.Primary}, a.Others...)) {
			got++
		}
	}
	if want == 0 || got != want {
		t.Errorf("%d alerts of tampering with trailwatch, want one for each of the %d events", got, want)
	}
	for _, d := range col.digests {
		if d.Detection.Immediate {
			t.Errorf("a digest of %s: its findings must never be held back", d.Detection.ID)
		}
		for _, o := range d.Occurrences {
			at, err := time.Parse(time.RFC3339, o.Time)
			if err != nil || at.Before(d.WindowStart) || !at.Before(d.WindowEnd) {
				t.Errorf("digest of %s for %s to %s lists an event of %s", d.Detection.ID, d.WindowStart, d.WindowEnd, o.Time)
			}
		}
	}
	for i := 1; i < len(col.digests); i++ {
		if col.digests[i].WindowStart.Before(col.digests[i-1].WindowStart) {
			t.Errorf("digests out of window order: %s after %s", col.digests[i].WindowStart, col.digests[i-1].WindowStart)
		}
	}
}

func decode(t *testing.T, name string) *event.Event {
	t.Helper()
	ev, err := event.Decode(fixture.Read(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
