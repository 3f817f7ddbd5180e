package state_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/dynalite"
	"github.com/trailwatch/trailwatch/internal/state"
)

// store is what the contract tests exercise.
type store interface {
	Record(ctx context.Context, w state.Window, o state.Occurrence, account, region string) (state.Tally, error)
	Due(ctx context.Context) ([]state.Digest, error)
	ClaimDigest(ctx context.Context, dg state.Digest) (bool, error)
	ReleaseDigest(ctx context.Context, dg state.Digest) error
}

var (
	_ store = (*state.Dynamo)(nil)
	_ store = (*state.Memory)(nil)
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynalite.Stop()
	os.Exit(code)
}

// newDynamo creates a fresh table on dynalite and a store on it, through
// the real SDK client.
func newDynamo(t *testing.T, now func() time.Time) *state.Dynamo {
	t.Helper()
	client := dynalite.Client(t)
	return &state.Dynamo{Client: client, Table: dynalite.Table(t, client), Now: now}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// stores runs a contract test against the in-process store and DynamoDB.
func stores(t *testing.T, test func(t *testing.T, s store, c *clock)) {
	t.Run("memory", func(t *testing.T) {
		test(t, state.NewMemory(), &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)})
	})
	t.Run("dynamodb", func(t *testing.T) {
		c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
		test(t, newDynamo(t, c.now), c)
	})
}

func occurrence(i int) state.Occurrence {
	return state.Occurrence{EventID: fmt.Sprintf("e%03d", i), Time: fmt.Sprintf("2026-11-20T09:0%d:%02dZ", i/60, i%60), Resource: fmt.Sprintf("sg-%03d", i), Headline: "changed"}
}

func TestStormWindow(t *testing.T) {
	stores(t, func(t *testing.T, s store, c *clock) {
		ctx := context.Background()
		w := state.WindowOf("security-group-changed", "low", "arn:aws:sts::111122223333:assumed-role/terraform/ci", c.now(), 5*time.Minute)
		var tallies []state.Tally
		for i := range 30 {
			tl, err := s.Record(ctx, w, occurrence(i), "111122223333", "eu-west-1")
			if err != nil {
				t.Fatal(err)
			}
			tallies = append(tallies, tl)
		}
		if !tallies[0].First || tallies[1].First || tallies[29].Count != 30 {
			t.Fatalf("tallies: first %+v, second %+v, last %+v", tallies[0], tallies[1], tallies[29])
		}
		// The first event retried, and a repeat delivered twice, count once.
		if tl, _ := s.Record(ctx, w, occurrence(0), "111122223333", "eu-west-1"); !tl.First || tl.Count != 30 {
			t.Errorf("retry of the first event: %+v; want First and the count unchanged", tl)
		}
		if tl, _ := s.Record(ctx, w, occurrence(7), "111122223333", "eu-west-1"); tl.First || tl.Count != 30 {
			t.Errorf("duplicate repeat: %+v; want no change", tl)
		}
		// A more severe event has its own window.
		crit := state.WindowOf("security-group-changed", "critical", w.Principal, c.now(), 5*time.Minute)
		if tl, _ := s.Record(ctx, crit, occurrence(100), "111122223333", "eu-west-1"); !tl.First {
			t.Error("a more severe event must open its own window")
		}

		c.add(5 * time.Minute)
		due, err := s.Due(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 1 {
			t.Fatalf("%d digests due, want 1 (the critical window has no repeats)", len(due))
		}
		dg := due[0]
		if dg.Repeats != 29 || len(dg.Occurrences) != state.MaxDigestEvents || dg.Window.Detection != "security-group-changed" || dg.Account != "111122223333" {
			t.Errorf("digest: repeats %d, %d occurrences, %+v", dg.Repeats, len(dg.Occurrences), dg.Window)
		}
		if dg.Occurrences[0].EventID != "e001" {
			t.Errorf("occurrences are not in time order: first %+v", dg.Occurrences[0])
		}
		ok, err := s.ClaimDigest(ctx, dg)
		if err != nil || !ok {
			t.Fatalf("claim digest = %v, %v", ok, err)
		}
		if ok, _ := s.ClaimDigest(ctx, dg); ok {
			t.Error("a digest was claimed twice")
		}
		if err := s.ReleaseDigest(ctx, dg); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.Due(ctx); len(due) != 1 {
			t.Errorf("a released digest is not due again (%d due)", len(due))
		}
	})
}
