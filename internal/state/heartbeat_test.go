package state_test

import (
	"context"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/state"
)

// TestHeartbeats runs heartbeat items through dynalite: a heartbeat is
// recorded, a late older one changes nothing, ExpectHeartbeat keeps the
// first expectation, and a silence once marked stays marked.
func TestHeartbeats(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 30, 9, 5, 0, 0, time.UTC)}
	d := newDynamo(t, c.now)

	seen := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	if err := d.RecordHeartbeat(ctx, "444455556666", "eu-west-1", seen); err != nil {
		t.Fatal(err)
	}
	// A retry of an older heartbeat arrives late.
	if err := d.RecordHeartbeat(ctx, "444455556666", "eu-west-1", seen.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	first, err := d.ExpectHeartbeat(ctx, "444455556666", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equal(c.now()) {
		t.Errorf("expected since %v, want %v", first, c.now())
	}
	c.add(time.Hour)
	again, err := d.ExpectHeartbeat(ctx, "444455556666", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Equal(first) {
		t.Errorf("second ExpectHeartbeat moved the expectation to %v, want %v", again, first)
	}
	if _, err := d.ExpectHeartbeat(ctx, "777788889999", "ap-southeast-2"); err != nil {
		t.Fatal(err)
	}
	if err := d.MarkSilenceAlerted(ctx, "777788889999", "ap-southeast-2", "never#1"); err != nil {
		t.Fatal(err)
	}
	// Marking a pair without an item (expired) creates nothing.
	if err := d.MarkSilenceAlerted(ctx, "111111111111", "us-east-1", "x"); err != nil {
		t.Fatal(err)
	}
	got, err := d.Heartbeats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]state.Heartbeat{
		state.HeartbeatKey("444455556666", "eu-west-1"):      {Account: "444455556666", Region: "eu-west-1", LastSeen: seen, ExpectedSince: first},
		state.HeartbeatKey("777788889999", "ap-southeast-2"): {Account: "777788889999", Region: "ap-southeast-2", ExpectedSince: first.Add(time.Hour), Alerted: "never#1"},
	}
	if len(got) != len(want) {
		t.Fatalf("heartbeats = %+v, want %+v", got, want)
	}
	for k, w := range want {
		g := got[k]
		if g.Account != w.Account || g.Region != w.Region || !g.LastSeen.Equal(w.LastSeen) || !g.ExpectedSince.Equal(w.ExpectedSince) || g.Alerted != w.Alerted {
			t.Errorf("%s = %+v, want %+v", k, g, w)
		}
	}
}
