package state_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/state"
)

// store is what the contract tests exercise.
type store interface {
	Claim(ctx context.Context, key string) (bool, error)
	Done(ctx context.Context, key string) error
	Release(ctx context.Context, key string) error
	Record(ctx context.Context, w state.Window, o state.Occurrence, account, region string) (state.Tally, error)
	Due(ctx context.Context) ([]state.Digest, error)
	ClaimDigest(ctx context.Context, dg state.Digest) (bool, error)
	ReleaseDigest(ctx context.Context, dg state.Digest) error
}

var (
	_ store = (*state.Dynamo)(nil)
	_ store = (*state.Memory)(nil)
)

// dynalite starts the DynamoDB-compatible dynalite server (from the npm
// packages `npm ci` installs) on a free loopback port, once per test
// binary. Without it the DynamoDB tests are skipped, unless
// TRAILWATCH_REQUIRE_DYNALITE is set, as .ci/run does: then they fail.
var (
	dynaliteOnce sync.Once
	dynaliteURL  string
	dynaliteErr  error
)

func startDynalite(t *testing.T) string {
	t.Helper()
	dynaliteOnce.Do(func() {
		cli := filepath.Join(fixture.Root(t), "node_modules", "dynalite", "cli.js")
		if _, err := os.Stat(cli); err != nil {
			dynaliteErr = fmt.Errorf("dynalite is not installed (run npm ci): %w", err)
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			dynaliteErr = err
			return
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		cmd := exec.Command("node", cli, "--port", fmt.Sprint(port))
		out, err := cmd.StdoutPipe()
		if err != nil {
			dynaliteErr = err
			return
		}
		if err := cmd.Start(); err != nil {
			dynaliteErr = fmt.Errorf("start dynalite: %w", err)
			return
		}
		ready := make(chan error, 1)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "listening") {
					ready <- nil
					return
				}
			}
			ready <- fmt.Errorf("dynalite exited before listening")
		}()
		select {
		case dynaliteErr = <-ready:
		case <-time.After(30 * time.Second):
			dynaliteErr = fmt.Errorf("dynalite did not start within 30s")
		}
		// The process lives as long as the test binary: exec.Cmd has no
		// parent-death signal here, so kill it at exit via TestMain.
		dynaliteCmd = cmd
		dynaliteURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	})
	if dynaliteErr != nil {
		if os.Getenv("TRAILWATCH_REQUIRE_DYNALITE") != "" {
			t.Fatal(dynaliteErr)
		}
		t.Skip(dynaliteErr)
	}
	return dynaliteURL
}

var dynaliteCmd *exec.Cmd

func TestMain(m *testing.M) {
	code := m.Run()
	if dynaliteCmd != nil && dynaliteCmd.Process != nil {
		_ = dynaliteCmd.Process.Kill()
		_ = dynaliteCmd.Wait()
	}
	os.Exit(code)
}

var tableCount int

// newDynamo creates a fresh table on dynalite and a store on it, through
// the real SDK client.
func newDynamo(t *testing.T, now func() time.Time) *state.Dynamo {
	t.Helper()
	url := startDynalite(t)
	client := dynamodb.NewFromConfig(aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDDYNALITE", "secret", ""),
		BaseEndpoint: aws.String(url),
	})
	tableCount++
	table := fmt.Sprintf("trailwatch-test-%d-%d", time.Now().UnixNano(), tableCount)
	_, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(state.KeyAttribute), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(state.KeyAttribute), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := waiter.Wait(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 10*time.Second); err != nil {
		t.Fatalf("wait for table: %v", err)
	}
	return &state.Dynamo{Client: client, Table: table, Now: now}
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

func TestClaims(t *testing.T) {
	stores(t, func(t *testing.T, s store, _ *clock) {
		ctx := context.Background()
		first, err := s.Claim(ctx, "sent#e1#slack")
		if err != nil || !first {
			t.Fatalf("first claim = %v, %v", first, err)
		}
		again, err := s.Claim(ctx, "sent#e1#slack")
		if err != nil || again {
			t.Fatalf("a second claim while the first is pending = %v, %v; want false", again, err)
		}
		if err := s.Done(ctx, "sent#e1#slack"); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.Claim(ctx, "sent#e1#slack"); again {
			t.Error("a delivered alert was claimed again")
		}
		other, err := s.Claim(ctx, "sent#e1#email")
		if err != nil || !other {
			t.Errorf("another channel's claim = %v, %v", other, err)
		}
		if err := s.Release(ctx, "sent#e1#email"); err != nil {
			t.Fatal(err)
		}
		if retry, _ := s.Claim(ctx, "sent#e1#email"); !retry {
			t.Error("a released claim could not be claimed by the retry")
		}
	})
}

// TestStalePendingClaimIsTakenOver: a holder that crashed between claim
// and delivery must not strand the alert.
func TestStalePendingClaimIsTakenOver(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	d := newDynamo(t, c.now)
	ctx := context.Background()
	if ok, err := d.Claim(ctx, "sent#e9#slack"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	c.add(time.Minute)
	if ok, _ := d.Claim(ctx, "sent#e9#slack"); ok {
		t.Error("a pending claim younger than StaleAfter was taken over")
	}
	c.add(2 * time.Minute)
	if ok, err := d.Claim(ctx, "sent#e9#slack"); !ok || err != nil {
		t.Errorf("a stale pending claim was not taken over: %v, %v", ok, err)
	}
	if err := d.Done(ctx, "sent#e9#slack"); err != nil {
		t.Fatal(err)
	}
	c.add(10 * time.Minute)
	if ok, _ := d.Claim(ctx, "sent#e9#slack"); ok {
		t.Error("a sent claim was taken over")
	}
	c.add(25 * time.Hour)
	if ok, _ := d.Claim(ctx, "sent#e9#slack"); !ok {
		t.Error("an expired claim (TTL not yet applied by DynamoDB) blocks a new one")
	}
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

// TestConcurrentDeliveries: the same event delivered to several
// invocations at once is claimed by exactly one.
func TestConcurrentDeliveries(t *testing.T) {
	stores(t, func(t *testing.T, s store, _ *clock) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wg.Go(func() {
				ok, err := s.Claim(context.Background(), "sent#dup#slack")
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("%d of 8 concurrent claims won, want 1", won)
		}
	})
}
