// Package awslookup holds the AWS look-ups behind alert enrichment that
// every alerting function shares: the account's alias (IAM) and the Block
// Public Access changes in the event history (CloudTrail). Every call runs
// under its own timeout, and a failed look-up becomes an explanation the
// alert can print rather than a reason to drop the alert.
//
// It also holds the helpers the other look-up packages (s3lookup,
// stslookup, ec2lookup) share: OrDefault, TimeoutError, ErrorCode and
// Describe. Look-ups for other services live in their own packages so a
// function links only the SDK clients it calls.
package awslookup

import (
	"context"
	"errors"
	"time"

	"github.com/aws/smithy-go"

	"github.com/trailwatch/trailwatch/internal/budget"
)

// DefaultTimeout bounds one AWS call when no timeout is configured.
const DefaultTimeout = 3 * time.Second

// OrDefault returns d, or def when d is zero or less: how a look-up reads
// its configured timeout or TTL.
func OrDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// timedOutError marks a call that ran out of time; it keeps the SDK error
// for errors.Is(err, context.DeadlineExceeded).
type timedOutError struct {
	text string // "timed out after 3 seconds"
	err  error
}

func (e *timedOutError) Error() string { return e.text }
func (e *timedOutError) Unwrap() error { return e.err }

// TimeoutError replaces err with budget.TimedOut's words when a deadline
// ended the call (call, derived from parent with timeout), so an alert
// lists a timeout as words, not as the SDK's error chain. A caller that
// cancelled gets err unchanged. The replacement still matches
// errors.Is(err, context.DeadlineExceeded).
func TimeoutError(parent, call context.Context, timeout time.Duration, err error) error {
	if text, ok := budget.TimedOut(parent, call, timeout); ok {
		return &timedOutError{text: text, err: err}
	}
	return err
}

// ErrorCode is the AWS error code of err ("AccessDenied"), or "".
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// Describe says why an AWS call failed in one short line, for alerts that
// list what could not be checked: "AccessDenied: Access Denied", "timed out
// after 3s" (see TimeoutError), or the error text when AWS sent no code.
func Describe(err error) string {
	var timedOut *timedOutError
	if errors.As(err, &timedOut) {
		return timedOut.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// A deadline TimeoutError did not name: still words, not the chain.
		return "timed out"
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, msg := apiErr.ErrorCode(), apiErr.ErrorMessage()
		if msg == "" || msg == code {
			return code
		}
		return code + ": " + msg
	}
	return err.Error()
}
