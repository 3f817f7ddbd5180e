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
	"errors"
)

// ErrRejected marks a permanent refusal: Slack answered the post with a
// client error (invalid_payload, channel_not_found, ...) and retrying the
// same payload to the same webhook cannot succeed. Errors that do not wrap
// it (timeouts, connection failures, 5xx, rate limiting) mean Slack was not
// reached or was not ready, and a later retry may deliver.
var ErrRejected = errors.New("rejected")
