// Package deliver sends an already-rendered alert to its channels: a Slack
// incoming webhook and an SNS topic whose subscriptions are email addresses.
//
// Every method either delivers or returns an error: the caller (the Lambda
// handler, the replay CLI) turns an error into a failed invocation so that
// Lambda's retries and the dead-letter queue keep the alert. Nothing here
// reports a success that did not happen.
//
// The Slack webhook URL is a credential: whoever holds it can post to the
// channel. It never appears in an error or a log line; errors name the
// webhook as scheme://host/… only.
package deliver

import (
	"context"
	"errors"
	"time"
)

// ErrRejected marks a permanent refusal: Slack answered the post with a
// client error (invalid_payload, channel_not_found, ...) and retrying the
// same payload to the same webhook cannot succeed. Errors that do not wrap
// it (timeouts, connection failures, 5xx, rate limiting) mean Slack was not
// reached or was not ready, and a later retry may deliver.
var ErrRejected = errors.New("rejected")

// timedOut says, when a call made under call (derived from parent with
// timeout) ended at a deadline, which one: "timed out after 10s" for the
// call's own, or deadlineText of parent when parent's ended it.
func timedOut(parent, call context.Context, timeout time.Duration) (string, bool) {
	if !errors.Is(call.Err(), context.DeadlineExceeded) {
		return "", false
	}
	if parent.Err() == nil {
		return "timed out after " + timeout.String(), true
	}
	if !errors.Is(parent.Err(), context.DeadlineExceeded) {
		return "", false
	}
	return deadlineText(parent), true
}

// deadlineText says which deadline ended ctx: its cause when it has one
// (internal/budget's "timed out after 2.1s (the invocation's time for
// sending)"), else "timed out at the context's deadline".
func deadlineText(ctx context.Context) string {
	if cause := context.Cause(ctx); cause != nil && cause != context.DeadlineExceeded {
		return cause.Error()
	}
	return "timed out at the context's deadline"
}
