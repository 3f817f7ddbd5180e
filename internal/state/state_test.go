package state_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/trailwatch/trailwatch/internal/dynalite"
	"github.com/trailwatch/trailwatch/internal/state"
)

// store is what the contract tests exercise.
type store interface {
	Record(ctx context.Context, w state.Window, o state.Occurrence, account, region string) (state.Tally, error)
	Due(ctx context.Context) ([]state.Digest, error)
	ClaimDigest(ctx context.Context, dg state.Digest) (state.Digest, bool, error)
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
		_, ok, err := s.ClaimDigest(ctx, dg)
		if err != nil || !ok {
			t.Fatalf("claim digest = %v, %v", ok, err)
		}
		if _, ok, _ := s.ClaimDigest(ctx, dg); ok {
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

// TestLateRepeatIsNeverSwallowed: windows follow event time, and events
// arrive late, so a repeat can reach a window after Due listed it or after
// its digest was claimed. One recorded before the claim is in the claimed
// digest; one after it is Late (the caller alerts it) and is not counted;
// a retry of an event counted before the claim stays what it was.
func TestLateRepeatIsNeverSwallowed(t *testing.T) {
	stores(t, func(t *testing.T, s store, c *clock) {
		ctx := context.Background()
		w := state.WindowOf("iam-policy-changed", "high", "arn:aws:iam::111122223333:user/ci", c.now(), 5*time.Minute)
		for i := range 3 {
			if _, err := s.Record(ctx, w, occurrence(i), "111122223333", "eu-west-1"); err != nil {
				t.Fatal(err)
			}
		}
		c.add(6 * time.Minute)
		due, err := s.Due(ctx)
		if err != nil || len(due) != 1 || due[0].Repeats != 2 {
			t.Fatalf("due = %+v, %v; want one digest of 2 repeats", due, err)
		}
		// Delivered late, between the listing and the claim.
		if tl, err := s.Record(ctx, w, occurrence(3), "111122223333", "eu-west-1"); err != nil || tl.First || tl.Late || tl.Count != 4 {
			t.Fatalf("repeat before the claim: %+v, %v; want a counted repeat", tl, err)
		}
		claimed, ok, err := s.ClaimDigest(ctx, due[0])
		if err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		if claimed.Repeats != 3 || len(claimed.Occurrences) != 3 || claimed.Window.Detection != "iam-policy-changed" || claimed.Key() != due[0].Key() {
			t.Errorf("claimed digest: %d repeats, %d occurrences, %+v; want the late repeat in it", claimed.Repeats, len(claimed.Occurrences), claimed.Window)
		}
		// Delivered after the claim: alerted on its own, never counted.
		for range 2 {
			tl, err := s.Record(ctx, w, occurrence(4), "111122223333", "eu-west-1")
			if err != nil || !tl.Late || tl.First {
				t.Errorf("repeat after the claim: %+v, %v; want Late", tl, err)
			}
		}
		// Retries of events the digest has.
		if tl, _ := s.Record(ctx, w, occurrence(2), "111122223333", "eu-west-1"); tl.Late || tl.First || tl.Count != 4 {
			t.Errorf("retry of a digested repeat: %+v; want a repeat, not late", tl)
		}
		if tl, _ := s.Record(ctx, w, occurrence(0), "111122223333", "eu-west-1"); tl.Late || !tl.First {
			t.Errorf("retry of the first event: %+v; want First", tl)
		}
		if due, _ := s.Due(ctx); len(due) != 0 {
			t.Errorf("%d digests due after the claim, want none", len(due))
		}
		// The next window is open as usual.
		next := state.WindowOf(w.Detection, w.Severity, w.Principal, w.End, 5*time.Minute)
		if tl, _ := s.Record(ctx, next, occurrence(5), "111122223333", "eu-west-1"); !tl.First || tl.Late {
			t.Errorf("first event of the next window: %+v", tl)
		}
	})
}

// TestDigestsInWindowOrder: digests come in the order of their windows, as
// production sends them.
func TestDigestsInWindowOrder(t *testing.T) {
	stores(t, func(t *testing.T, s store, c *clock) {
		ctx := context.Background()
		start := c.now()
		for _, at := range []time.Duration{20 * time.Minute, 0, 10 * time.Minute} {
			w := state.WindowOf("zz-detection", "low", "p", start.Add(at), 5*time.Minute)
			for i := range 2 {
				if _, err := s.Record(ctx, w, state.Occurrence{EventID: fmt.Sprintf("%v-%d", at, i)}, "111122223333", "eu-west-1"); err != nil {
					t.Fatal(err)
				}
			}
		}
		c.add(time.Hour)
		due, err := s.Due(ctx)
		if err != nil || len(due) != 3 {
			t.Fatalf("due = %d, %v", len(due), err)
		}
		for i, want := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute} {
			if !due[i].Window.Start.Equal(start.Add(want)) {
				t.Errorf("digest %d is of the window at %v, want %v", i, due[i].Window.Start, start.Add(want))
			}
		}
	})
}

// TestPastWindowLivesADay: a window of events from long ago (a late or
// redriven delivery) expires a day after it was opened, not a day after
// its end, so its digest is still sent.
func TestPastWindowLivesADay(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	client := dynalite.Client(t)
	d := &state.Dynamo{Client: client, Table: dynalite.Table(t, client), Now: c.now}
	ctx := context.Background()
	w := state.WindowOf("iam-policy-changed", "high", "p", c.now().Add(-72*time.Hour), 5*time.Minute)
	if _, err := d.Record(ctx, w, occurrence(1), "111122223333", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: map[string]types.AttributeValue{
		state.KeyAttribute: &types.AttributeValueMemberS{Value: w.Key()}}})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := out.Item[state.TTLAttribute].(*types.AttributeValueMemberN)
	if want := strconv.FormatInt(c.now().Add(24*time.Hour).Unix(), 10); exp == nil || exp.Value != want {
		t.Errorf("expires = %v, want %s (a day from now)", exp, want)
	}
}
