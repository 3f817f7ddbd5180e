package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/dynalite"
)

// TestStateTableSlowOrFailing: with the state table failing (500 after
// the SDK's retries) or not answering, the alert still reaches both
// channels once and the invocation succeeds (fail open: a possible
// duplicate beats a lost alert), within the invocation's budget.
func TestStateTableSlowOrFailing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dynamo awstest.Response
	}{
		{"failing", awstest.Response{Status: http.StatusInternalServerError, Body: awstest.JSONError("InternalServerError", "Internal server error")}},
		{"not answering", awstest.Response{Delay: time.Minute, Body: "{}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setUpEnv(t, faults{dynamo: []awstest.Response{tc.dynamo}})
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
			defer cancel()
			start := time.Now()
			if _, err := e.h.Invoke(ctx, ruleInput(t, "s3-bucket-policy-public", "s3/put-bucket-policy-public-read.json")); err != nil {
				t.Fatalf("Invoke: %v; want the alert sent anyway", err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s: the state table held the alert longer than its share of the budget", took)
			}
			if got := e.slack.posts(); got != 1 {
				t.Errorf("Slack got %d posts, want 1", got)
			}
			if got := len(e.publishes()); got != 1 {
				t.Errorf("SNS got %d publishes, want 1", got)
			}
			for _, want := range []string{"delivery ledger unavailable; sending", "storm window unavailable; alerting"} {
				if !strings.Contains(e.logs.String(), want) {
					t.Errorf("logs lack %q", want)
				}
			}
		})
	}
}

// TestRateLimitPastTheDeadline: Slack asks to retry after more time than
// the invocation has left for sending: the channel fails at once, well
// before the deadline, its claim is released (on a context of its own),
// and Lambda's retry sends Slack alone.
func TestRateLimitPastTheDeadline(t *testing.T) {
	e := setUpEnv(t, faults{
		slack: []slackReply{{status: 429, body: "rate_limited", retryAfter: "4"}, {status: 200, body: "ok"}},
		table: dynalite.Table(t, dynalite.Client(t)),
	})
	payload := ruleInput(t, "s3-bucket-policy-public", "s3/put-bucket-policy-public-read.json")
	// 5 s: 1 s kept at the end, so 4 s and an attempt do not fit.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := e.h.Invoke(ctx, payload)
	if err == nil || !strings.Contains(err.Error(), "rate limited: retry in 4s would pass the context deadline") {
		t.Fatalf("Invoke error = %v, want the rate limit reported at once", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s: it waited for a retry that could not fit", took)
	}
	retry, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if _, err := e.h.Invoke(retry, payload); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := e.slack.posts(); got != 2 {
		t.Errorf("Slack got %d posts, want 2 (the rate-limited one and the retry's)", got)
	}
	if got := len(e.publishes()); got != 1 {
		t.Errorf("SNS got %d publishes, want 1: the retry must not send the email again", got)
	}
}
