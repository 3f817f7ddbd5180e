package state_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/trailwatch/trailwatch/internal/dynalite"
	"github.com/trailwatch/trailwatch/internal/state"
)

// ledger is what the claim contract tests exercise.
type ledger interface {
	Claim(ctx context.Context, key, holder string, deadline time.Time) (state.Claim, error)
	Done(ctx context.Context, key, holder string) error
	Release(ctx context.Context, key, holder string) error
}

var (
	_ ledger = (*state.Dynamo)(nil)
	_ ledger = (*state.Memory)(nil)
)

// ledgers runs a claim contract test against the in-process store and
// DynamoDB (dynalite through the real SDK client), both on clock c.
func ledgers(t *testing.T, test func(t *testing.T, l ledger, c *clock)) {
	t.Run("memory", func(t *testing.T) {
		c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
		m := state.NewMemory()
		m.Now = c.now
		test(t, m, c)
	})
	t.Run("dynamodb", func(t *testing.T) {
		c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
		test(t, newDynamo(t, c.now), c)
	})
}

func claim(t *testing.T, l ledger, key, holder string, deadline time.Time) state.Claim {
	t.Helper()
	c, err := l.Claim(context.Background(), key, holder, deadline)
	if err != nil {
		t.Fatalf("Claim(%s, %s): %v", key, holder, err)
	}
	return c
}

func TestClaimLifecycle(t *testing.T) {
	ledgers(t, func(t *testing.T, l ledger, c *clock) {
		ctx := context.Background()
		deadline := c.now().Add(time.Minute)
		if got := claim(t, l, "sent#e1#slack", "a", deadline); got != (state.Claim{Status: state.Claimed}) {
			t.Fatalf("first claim = %+v, want Claimed", got)
		}
		// Another invocation while the holder may still send: held, never
		// "delivered", until the holder's deadline plus the grace.
		got := claim(t, l, "sent#e1#slack", "b", c.now().Add(time.Minute))
		if want := (state.Claim{Status: state.Held, Until: deadline.Add(state.DefaultGrace)}); !got.Until.Equal(want.Until) || got.Status != want.Status {
			t.Fatalf("claim of a pending claim = %+v, want %+v", got, want)
		}
		if err := l.Done(ctx, "sent#e1#slack", "b"); !errors.Is(err, state.ErrNotHolder) {
			t.Errorf("Done by another invocation = %v, want ErrNotHolder", err)
		}
		if err := l.Release(ctx, "sent#e1#slack", "b"); !errors.Is(err, state.ErrNotHolder) {
			t.Errorf("Release by another invocation = %v, want ErrNotHolder", err)
		}
		if err := l.Done(ctx, "sent#e1#slack", "a"); err != nil {
			t.Fatal(err)
		}
		c.add(time.Hour)
		if got := claim(t, l, "sent#e1#slack", "c", c.now().Add(time.Minute)); got.Status != state.Sent {
			t.Errorf("claim of a sent claim, an hour later = %+v, want Sent", got)
		}
		if err := l.Release(ctx, "sent#e1#slack", "a"); !errors.Is(err, state.ErrNotHolder) {
			t.Errorf("Release of a sent claim = %v, want ErrNotHolder (it stays sent)", err)
		}

		if got := claim(t, l, "sent#e1#email", "a", c.now().Add(time.Minute)); got.Status != state.Claimed {
			t.Fatalf("another channel's claim = %+v", got)
		}
		if err := l.Release(ctx, "sent#e1#email", "a"); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, l, "sent#e1#email", "b", c.now().Add(time.Minute)); got != (state.Claim{Status: state.Claimed}) {
			t.Errorf("the retry's claim of a released claim = %+v, want Claimed (no takeover)", got)
		}
	})
}

// TestClaimTakenOverAfterTheHolderDeadline: a holder stopped at its
// deadline (Lambda's timeout) before it could release or mark its claim
// must not strand the alert: the claim is taken over once the deadline and
// the grace have passed, and not before.
func TestClaimTakenOverAfterTheHolderDeadline(t *testing.T) {
	ledgers(t, func(t *testing.T, l ledger, c *clock) {
		ctx := context.Background()
		deadline := c.now().Add(time.Minute)
		claim(t, l, "sent#e9#slack", "killed", deadline)

		c.add(time.Minute + state.DefaultGrace) // exactly at deadline + grace
		if got := claim(t, l, "sent#e9#slack", "early", c.now().Add(time.Minute)); got.Status != state.Held {
			t.Fatalf("claim at the holder's deadline plus the grace = %+v, want Held", got)
		}
		c.add(time.Millisecond)
		got := claim(t, l, "sent#e9#slack", "retry", c.now().Add(time.Minute))
		if got.Status != state.Claimed || !got.TookOver || !got.Previous.Equal(deadline) {
			t.Fatalf("claim after the holder's deadline plus the grace = %+v, want Claimed, TookOver from %s", got, deadline)
		}
		if err := l.Done(ctx, "sent#e9#slack", "killed"); !errors.Is(err, state.ErrNotHolder) {
			t.Errorf("Done by the holder taken over = %v, want ErrNotHolder", err)
		}
		if err := l.Done(ctx, "sent#e9#slack", "retry"); err != nil {
			t.Fatal(err)
		}
		c.add(10 * time.Minute)
		if got := claim(t, l, "sent#e9#slack", "late", c.now().Add(time.Minute)); got.Status != state.Sent {
			t.Errorf("claim of the taken-over claim once sent = %+v, want Sent", got)
		}
	})
}

// TestExpiredClaimIsFree: DynamoDB deletes expired items only eventually;
// until it does, an expired claim must not block a new delivery.
func TestExpiredClaimIsFree(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	d := newDynamo(t, c.now)
	claim(t, d, "sent#old#slack", "a", c.now().Add(time.Minute))
	if err := d.Done(context.Background(), "sent#old#slack", "a"); err != nil {
		t.Fatal(err)
	}
	c.add(25 * time.Hour)
	if got := claim(t, d, "sent#old#slack", "b", c.now().Add(time.Minute)); got.Status != state.Claimed {
		t.Errorf("claim of an expired claim = %+v, want Claimed", got)
	}
}

// TestClaimOfAnEarlierVersion: a pending claim written before claims
// carried their holder's deadline goes stale StaleAfter after it was made.
func TestClaimOfAnEarlierVersion(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	d := newDynamo(t, c.now)
	_, err := d.Client.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(d.Table),
		Item: map[string]types.AttributeValue{
			state.KeyAttribute: &types.AttributeValueMemberS{Value: "sent#v0#slack"},
			state.TTLAttribute: &types.AttributeValueMemberN{Value: "1795251600"}, // 2026-11-21
			"status":           &types.AttributeValueMemberS{Value: "pending"},
			"claimedAt":        &types.AttributeValueMemberN{Value: "1795165200"}, // 2026-11-20T09:00:00Z
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.add(time.Minute)
	if got := claim(t, d, "sent#v0#slack", "new", c.now().Add(time.Minute)); got.Status != state.Held || !got.Until.Equal(c.t.Add(time.Minute)) {
		t.Errorf("claim a minute after an earlier version's = %+v, want Held until 2 minutes after it", got)
	}
	c.add(time.Minute + time.Second)
	if got := claim(t, d, "sent#v0#slack", "new", c.now().Add(time.Minute)); got.Status != state.Claimed || !got.TookOver {
		t.Errorf("claim past StaleAfter = %+v, want Claimed, TookOver", got)
	}
}

// TestConcurrentDeliveries: the same event delivered to several
// invocations at once is claimed by exactly one; the others are told it is
// held, not that it was delivered.
func TestConcurrentDeliveries(t *testing.T) {
	ledgers(t, func(t *testing.T, l ledger, c *clock) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[state.ClaimStatus]int{}
		for i := range 8 {
			wg.Go(func() {
				got, err := l.Claim(context.Background(), "sent#dup#slack", string(rune('a'+i)), c.now().Add(time.Minute))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				outcomes[got.Status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if outcomes[state.Claimed] != 1 || outcomes[state.Held] != 7 {
			t.Errorf("outcomes of 8 concurrent claims: %v, want 1 claimed and 7 held", outcomes)
		}
	})
}

// TestLedgerUnavailable: a table that does not answer is an error (the
// pipeline then sends anyway), within the store's timeout.
func TestLedgerUnavailable(t *testing.T) {
	client := dynalite.Client(t)
	d := &state.Dynamo{Client: client, Table: "no-such-table", Timeout: 500 * time.Millisecond}
	if _, err := d.Claim(context.Background(), "sent#x#slack", "a", time.Now().Add(time.Minute)); err == nil {
		t.Error("claim on a missing table: no error")
	}
}
