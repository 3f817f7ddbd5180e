// Package awslookup holds the AWS look-ups behind alert enrichment: what S3
// says about a bucket right now, the account's alias, and the account of
// the credentials in use. Every call runs under its own timeout, and a
// failed look-up becomes an explanation the alert can print rather than a
// reason to drop the alert.
package awslookup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// DefaultTimeout bounds one AWS call when no timeout is configured.
const DefaultTimeout = 3 * time.Second

// STSAPI is the part of the STS client CallerAccount uses.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, params *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var _ STSAPI = (*sts.Client)(nil)

// CallerAccount returns the account of the credentials in use (STS
// GetCallerIdentity). A timeout of zero or less means DefaultTimeout.
func CallerAccount(ctx context.Context, client STSAPI, timeout time.Duration) (string, error) {
	if client == nil {
		return "", errors.New("get caller identity: no STS client")
	}
	timeout = orDefault(timeout, DefaultTimeout)
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := client.GetCallerIdentity(callCtx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("get caller identity: %w", timeoutError(ctx, callCtx, timeout, err))
	}
	if aws.ToString(out.Account) == "" {
		return "", errors.New("get caller identity: response has no account")
	}
	return *out.Account, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// timedOutError marks a call that ran out of its own time budget; it keeps
// the SDK error for errors.Is(err, context.DeadlineExceeded).
type timedOutError struct {
	after time.Duration
	err   error
}

func (e *timedOutError) Error() string { return fmt.Sprintf("timed out after %s", e.after) }
func (e *timedOutError) Unwrap() error { return e.err }

// timeoutError replaces err with a short "timed out after 3s" when the
// per-call deadline (not the caller's context) ended the call.
func timeoutError(parent, call context.Context, timeout time.Duration, err error) error {
	if parent.Err() == nil && errors.Is(call.Err(), context.DeadlineExceeded) {
		return &timedOutError{after: timeout, err: err}
	}
	return err
}

// errorCode is the AWS error code of err ("AccessDenied"), or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// describe says why a call failed in one short line: "AccessDenied: Access
// Denied", "timed out after 3s", or the error text when AWS sent no code.
func describe(err error) string {
	var timedOut *timedOutError
	if errors.As(err, &timedOut) {
		return timedOut.Error()
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

// Describe says why an AWS call failed in one short line, for alerts that
// list what could not be checked.
func Describe(err error) string { return describe(err) }
