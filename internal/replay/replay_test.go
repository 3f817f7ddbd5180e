package replay_test

import (
	"context"
	"io"
	"testing"

	"github.com/trailwatch/trailwatch/internal/deliver"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
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
