package state_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/trailwatch/trailwatch/internal/state"
)

// countingDynamo counts the writes a store makes.
type countingDynamo struct {
	state.DynamoAPI
	writes atomic.Int64
}

func (c *countingDynamo) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.writes.Add(1)
	return c.DynamoAPI.UpdateItem(ctx, in, optFns...)
}

// TestStormRepeatIsOneWrite: recording an event in its window, first or
// repeat, is one UpdateItem while the digest lists fewer than
// MaxDigestEvents repeats; beyond, two (the conditional write that would
// keep the repeat, then the ID alone).
func TestStormRepeatIsOneWrite(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	d := newDynamo(t, c.now)
	counting := &countingDynamo{DynamoAPI: d.Client}
	d.Client = counting
	w := state.WindowOf("security-group-changed", "low", "arn:aws:iam::111122223333:user/ci", c.now(), 5*time.Minute)
	for i := range state.MaxDigestEvents + 3 {
		before := counting.writes.Load()
		if _, err := d.Record(context.Background(), w, occurrence(i), "111122223333", "eu-west-1"); err != nil {
			t.Fatal(err)
		}
		want := int64(1)
		if i > state.MaxDigestEvents {
			want = 2
		}
		if got := counting.writes.Load() - before; got != want {
			t.Errorf("event %d of the window: %d writes, want %d", i, got, want)
		}
	}
	c.add(5 * time.Minute)
	due, err := d.Due(context.Background())
	if err != nil || len(due) != 1 {
		t.Fatalf("due = %v, %v", due, err)
	}
	if got := due[0]; got.Repeats != state.MaxDigestEvents+2 || len(got.Occurrences) != state.MaxDigestEvents || got.Occurrences[0].EventID != "e001" {
		t.Errorf("digest: %d repeats, %d occurrences from %+v; want %d, %d from e001", got.Repeats, len(got.Occurrences), got.Occurrences[0], state.MaxDigestEvents+2, state.MaxDigestEvents)
	}
}
