package state_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/state"
)

type counter interface {
	CountTowards(ctx context.Context, c state.Count) (state.Crossing, error)
}

var (
	_ counter = (*state.Dynamo)(nil)
	_ counter = (*state.Memory)(nil)
)

// counters runs a contract test against the in-process store and DynamoDB.
func counters(t *testing.T, test func(t *testing.T, c counter)) {
	t.Run("memory", func(t *testing.T) { test(t, state.NewMemory()) })
	t.Run("dynamodb", func(t *testing.T) { test(t, newDynamo(t, nil)) })
}

func countOf(i int, items ...string) state.Count {
	start := time.Date(2026, 11, 21, 3, 10, 0, 0, time.UTC)
	return state.Count{
		Detection: "secrets-harvested", Principal: "arn:aws:iam::111122223333:role/build-runner",
		Start: start, End: start.Add(10 * time.Minute), EventID: fmt.Sprintf("e%03d", i),
		Time: start.Add(time.Duration(i) * time.Second), Items: items, Threshold: 5,
	}
}

func TestCountTowards(t *testing.T) {
	type step struct {
		count                    state.Count
		wantN                    int
		wantCrossed, wantAlready bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{
			name: "distinct items cross once, at the threshold",
			steps: []step{
				{count: countOf(1, "a"), wantN: 1},
				{count: countOf(2, "b", "c"), wantN: 3},
				{count: countOf(3, "a"), wantN: 3}, // an item seen before counts once
				{count: countOf(4, "d", "e", "f"), wantN: 6, wantCrossed: true},
				{count: countOf(5, "g"), wantN: 6, wantAlready: true},
			},
		},
		{
			name: "the crossing event's retry is still the crossing",
			steps: []step{
				{count: countOf(1, "a", "b", "c", "d"), wantN: 4},
				{count: countOf(2, "e"), wantN: 5, wantCrossed: true},
				{count: countOf(2, "e"), wantN: 5, wantCrossed: true},
				{count: countOf(3, "f"), wantN: 5, wantAlready: true},
			},
		},
		{
			name: "another principal and another window count apart",
			steps: []step{
				{count: countOf(1, "a", "b", "c", "d"), wantN: 4},
				{count: func() state.Count { c := countOf(2, "e"); c.Principal = "arn:aws:iam::111122223333:user/x"; return c }(), wantN: 1},
				{count: func() state.Count {
					c := countOf(3, "e")
					c.Start, c.End = c.Start.Add(5*time.Minute), c.End.Add(5*time.Minute)
					return c
				}(), wantN: 1},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counters(t, func(t *testing.T, c counter) {
				for i, st := range tc.steps {
					cr, err := c.CountTowards(context.Background(), st.count)
					if err != nil {
						t.Fatalf("step %d: %v", i+1, err)
					}
					if cr.Crossed != st.wantCrossed || cr.Already != st.wantAlready {
						t.Errorf("step %d: crossed %v already %v, want %v %v", i+1, cr.Crossed, cr.Already, st.wantCrossed, st.wantAlready)
					}
					if !st.wantAlready && cr.N != st.wantN || st.wantAlready && cr.N != 0 && cr.N != st.wantN {
						t.Errorf("step %d: N = %d, want %d", i+1, cr.N, st.wantN)
					}
					if st.wantCrossed && (cr.FirstEvent != "e001" || len(cr.Items) != cr.N) {
						t.Errorf("step %d: first %q, items %v", i+1, cr.FirstEvent, cr.Items)
					}
				}
			})
		})
	}
}

// TestCountTowardsConcurrently: of many events counted at once past the
// threshold, exactly one is told it crossed.
func TestCountTowardsConcurrently(t *testing.T) {
	counters(t, func(t *testing.T, c counter) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		crossed := 0
		for i := range 20 {
			wg.Go(func() {
				cr, err := c.CountTowards(context.Background(), countOf(i, fmt.Sprintf("s%02d", i)))
				if err != nil {
					t.Error(err)
					return
				}
				if cr.Crossed {
					mu.Lock()
					crossed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if crossed != 1 {
			t.Errorf("%d events crossed, want exactly 1", crossed)
		}
	})
}

func TestCountTowardsRefusesNoItems(t *testing.T) {
	counters(t, func(t *testing.T, c counter) {
		if _, err := c.CountTowards(context.Background(), countOf(1, "")); err == nil {
			t.Error("an event with no items was counted")
		}
	})
}

// TestCrossingItemsAreTheSmallest: a window of more items than a crossing
// reports names its MaxCrossingItems smallest, sorted, whatever the order
// they came in, in process as in DynamoDB.
func TestCrossingItemsAreTheSmallest(t *testing.T) {
	counters(t, func(t *testing.T, c counter) {
		var items []string
		for i := range 40 {
			items = append(items, fmt.Sprintf("item-%02d", (i*17)%40)) // 00..39, shuffled
		}
		var cr state.Crossing
		for i := 0; i < len(items); i += 3 {
			n := countOf(1, items[i:min(i+3, len(items))]...)
			n.Threshold = 100
			var err error
			if cr, err = c.CountTowards(context.Background(), n); err != nil {
				t.Fatal(err)
			}
		}
		var want []string
		for i := range state.MaxCrossingItems {
			want = append(want, fmt.Sprintf("item-%02d", i))
		}
		if cr.N != 40 || !slices.Equal(cr.Items, want) {
			t.Errorf("N = %d, items %v; want 40, %v", cr.N, cr.Items, want)
		}
	})
}

// TestCountKey: the window's key is what deployed tables already hold.
func TestCountKey(t *testing.T) {
	if got, want := countOf(1, "a").Key(), "threshold#secrets-harvested#arn:aws:iam::111122223333:role/build-runner#1795230600#600"; got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
}
