package deliver_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/budget"
	"github.com/trailwatch/trailwatch/internal/deliver"
)

// clockSleeper waits by advancing a fake clock: the sender sees the time
// pass and measures what is left before its context's deadline with it.
type clockSleeper struct {
	clock *fakeClock
	sleeper
}

func (c *clockSleeper) Sleep(ctx context.Context, d time.Duration) error {
	c.clock.Advance(d)
	return c.sleeper.Sleep(ctx, d)
}

// TestSlackWaitsWithinTheDeadline: the sequence with production
// constants: Lambda's 60 s, of which the sends get until 2 s before the
// end, and Slack asking to wait 30 s, then 25 s. A wait is made only if an
// attempt still fits after it; otherwise Post fails at once, before the
// deadline, so the claim can be released and the event retried.
func TestSlackWaitsWithinTheDeadline(t *testing.T) {
	rateLimited := func(after string) reply {
		return reply{status: 429, header: map[string]string{"Retry-After": after}, body: "rate_limited"}
	}
	for _, tc := range []struct {
		name    string
		replies []reply
		waits   []time.Duration
		posts   int
		wantErr string
	}{
		{
			name:    "30 s, 25 s, then rate limited again: the last attempt ends 3 s before the deadline",
			replies: []reply{rateLimited("30"), rateLimited("25"), rateLimited("25")},
			waits:   []time.Duration{30 * time.Second, 25 * time.Second},
			posts:   3,
			wantErr: "gave up after 3 attempts: 429 rate_limited",
		},
		{
			name:    "30 s, then 28 s: no time for an attempt after it",
			replies: []reply{rateLimited("30"), rateLimited("28")},
			waits:   []time.Duration{30 * time.Second},
			posts:   2,
			wantErr: "rate limited: retry in 28s would pass the context deadline: 28s left, and an attempt needs 1s",
		},
		{
			name:    "30 s, 25 s, then accepted",
			replies: []reply{rateLimited("30"), rateLimited("25"), {status: 200, body: "ok"}},
			waits:   []time.Duration{30 * time.Second, 25 * time.Second},
			posts:   3,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSlack(t, tc.replies...)
			clock := &fakeClock{now: time.Now()}
			sl := &clockSleeper{clock: clock}
			s := &deliver.Slack{Webhook: deliver.StaticWebhook(f.URL()), Sleep: sl.Sleep, Now: clock.Now}
			// The send context as the pipeline makes it for a 60 s invocation.
			ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(58*time.Second))
			defer cancel()
			err := s.Post(ctx, payload)
			checkErr(t, err, tc.wantErr)
			if got := sl.Waits(); !slices.Equal(got, tc.waits) {
				t.Errorf("waits %v, want %v", got, tc.waits)
			}
			if got := len(f.Requests()); got != tc.posts {
				t.Errorf("%d posts, want %d", got, tc.posts)
			}
			if d, _ := ctx.Deadline(); clock.Now().After(d) {
				t.Errorf("Post waited past the deadline")
			}
		})
	}
}

// TestSlackNeverAnswers: a Slack that accepts the post and never answers
// is given up on when the invocation's time for sending ends, not at the
// HTTP client's 10 s and not at Lambda's deadline, and the error says so in
// words.
func TestSlackNeverAnswers(t *testing.T) {
	f := newFakeSlack(t, reply{hang: true})
	inv, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	b := budget.New(inv, nil)
	send, cancelSend := b.Send(inv)
	defer cancelSend()
	s := &deliver.Slack{Webhook: deliver.StaticWebhook(f.URL())}
	err := s.Post(send, payload)
	if inv.Err() != nil {
		t.Errorf("Post returned after the invocation's deadline")
	}
	if time.Until(b.SendBy()) > 100*time.Millisecond {
		t.Errorf("Post returned %s before the time for sending ended", time.Until(b.SendBy()))
	}
	checkErr(t, err, "no answer: timed out after 1.2 seconds (the invocation's time for sending)")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", err)
	}
	if got := len(f.Requests()); got != 1 {
		t.Errorf("%d posts, want 1", got)
	}
}

// TestSlackNotAttemptedWithoutTime: with less than an attempt's minimum
// left, nothing is sent (a post Slack may take but cannot answer in time
// would be counted as failed and sent again).
func TestSlackNotAttemptedWithoutTime(t *testing.T) {
	f := newFakeSlack(t, reply{status: 200, body: "ok"})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := (&deliver.Slack{Webhook: deliver.StaticWebhook(f.URL())}).Post(ctx, payload)
	checkErr(t, err, "not attempted: ")
	if !strings.Contains(err.Error(), "less than the 1s an attempt needs") {
		t.Errorf("error %v does not say why", err)
	}
	if got := len(f.Requests()); got != 0 {
		t.Errorf("%d posts, want none", got)
	}
}

// TestSecretFetchedOnce: the pipeline fetches the webhook URL (Prepare)
// while the alert is built; a post made while that fetch is under way
// waits for its answer instead of asking Secrets Manager again.
func TestSecretFetchedOnce(t *testing.T) {
	f := newFakeSlack(t, reply{status: 200, body: "ok"})
	srv := awstest.NewServer(t)
	secret := secretResponse(t, 200, "secretsmanager-get-secret-value-raw.json")
	secret.Body = strings.Replace(secret.Body, "https://hooks.slack.com/services/T0000RAW/B0000RAW/rawSecretToken000000000", f.URL(), 1)
	secret.Delay = 200 * time.Millisecond
	srv.Handle(awstest.Target("secretsmanager.GetSecretValue"), secret)
	s := &deliver.Slack{Webhook: deliver.NewSecretWebhook(secretsmanager.NewFromConfig(srv.Config(region)), secretName)}

	var wg sync.WaitGroup
	wg.Go(func() { s.Prepare(context.Background()) })
	for len(srv.Requests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Post(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := len(srv.Requests()); got != 1 {
		t.Errorf("%d GetSecretValue calls, want 1", got)
	}
	if got := len(f.Requests()); got != 1 {
		t.Errorf("%d posts, want 1", got)
	}
}

// TestSecretFetchFailsForItsCallerOnly: a fetch that fails because its own
// caller's context ended does not fail the caller waiting for it, which
// asks again.
func TestSecretFetchFailsForItsCallerOnly(t *testing.T) {
	const rawURL = "https://hooks.slack.com/services/T0000RAW/B0000RAW/rawSecretToken000000000"
	srv := awstest.NewServer(t)
	slow := secretResponse(t, 200, "secretsmanager-get-secret-value-raw.json")
	slow.Delay = 300 * time.Millisecond
	srv.Handle(awstest.Target("secretsmanager.GetSecretValue"), slow)
	w := deliver.NewSecretWebhook(secretsmanager.NewFromConfig(srv.Config(region)), secretName)

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var firstErr error
	wg.Go(func() { _, firstErr = w.WebhookURL(short) })
	for len(srv.Requests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	got, err := w.WebhookURL(context.Background())
	wg.Wait()
	if err != nil || got != rawURL {
		t.Errorf("waiting caller: %q, %v; want the URL", got, err)
	}
	if firstErr == nil {
		t.Error("the caller whose context ended got no error")
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d GetSecretValue calls, want 2", n)
	}
}

// TestSNSTimeoutReadsAsText: a Publish cut short by the invocation's time
// for sending says so.
func TestSNSTimeoutReadsAsText(t *testing.T) {
	srv := awstest.NewServer(t)
	slow := snsResponse(t, 200, "sns-publish.xml")
	slow.Delay = time.Minute
	srv.Handle(awstest.Action("Publish"), slow)
	inv, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	b := budget.New(inv, nil)
	send, cancelSend := b.Send(inv)
	defer cancelSend()
	err := (&deliver.SNS{Client: sns.NewFromConfig(srv.Config(region)), TopicARN: topicARN}).Publish(send, email)
	checkErr(t, err, "sns: publish to "+topicARN+": timed out after 1.2 seconds (the invocation's time for sending)")
}
