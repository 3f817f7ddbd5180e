// Package crossaccount gives the look-ups of an event's own account: for an
// account other than the function's, an AWS configuration whose credentials
// come from STS AssumeRole of that account's look-up role
// (config.LookupRoleName), refreshed shortly before they expire, and the
// look-up clients built once from it. Entries are kept per account in the
// execution environment (bounded), so warm invocations reuse both the
// clients and the credentials; a failed AssumeRole is remembered briefly so
// a missing or denying role costs one STS call per account, not one per
// look-up or per alert.
package crossaccount

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/smithy-go"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/budget"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// Defaults for the zero values of Accounts' settings.
const (
	// DefaultExpiryWindow refreshes assumed credentials this long before
	// they expire, so no look-up starts with credentials about to lapse
	// (the alert's look-ups take seconds).
	DefaultExpiryWindow = 5 * time.Minute
	// DefaultRetryAfter is how long a failed AssumeRole is answered from
	// memory before STS is asked again.
	DefaultRetryAfter = time.Minute
	// DefaultMaxAccounts bounds the accounts kept; the least recently
	// used is dropped first.
	DefaultMaxAccounts = 256
	// DefaultSessionName names the assumed-role sessions in the member
	// accounts' CloudTrail.
	DefaultSessionName = "trailwatch-lookup"
)

// Accounts builds and caches the look-ups L of other accounts. It is safe
// for concurrent use; use it by pointer.
type Accounts[L any] struct {
	// Home is the function's own configuration: region, HTTP client,
	// endpoints and retryer are kept; credentials are replaced per account.
	Home aws.Config
	// STS is the client (with the home credentials) that assumes the roles.
	STS stscreds.AssumeRoleAPIClient
	// Role is the name of the role in every account (TrailwatchLookup).
	Role string
	// Partition of the role ARNs ("aws", "aws-cn", "aws-us-gov").
	Partition string
	// Build makes the look-ups of one account from its configuration.
	Build func(cfg aws.Config) L

	SessionName  string
	ExpiryWindow time.Duration
	RetryAfter   time.Duration
	MaxAccounts  int
	// Timeout bounds each AssumeRole attempt; zero means
	// awslookup.DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for the negative cache and eviction; nil means
	// time.Now. (Credential expiry is the SDK's CredentialsCache's, on the
	// real clock.)
	Now func() time.Time

	mu      sync.Mutex
	entries *lru.Cache[string, *entry[L]]
}

type entry[L any] struct {
	lookups  L
	creds    *aws.CredentialsCache
	failed   error
	failedAt time.Time
}

// Error says why the look-up role of an account could not be assumed.
type Error struct {
	Role    string
	Account string
	// Reason is the cause in words: "access denied", "timed out after 3s".
	Reason string
	// Remembered is set when the answer came from the negative cache.
	Remembered bool
	Err        error
}

func (e *Error) Error() string {
	return fmt.Sprintf("assume %s in %s: %s", e.Role, e.Account, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

var accountRe = lazyre.New(`^[0-9]{12}$`)

// RoleARN is the look-up role's ARN in account.
func (a *Accounts[L]) RoleARN(account string) string {
	p := a.Partition
	if p == "" {
		p = "aws"
	}
	return "arn:" + p + ":iam::" + account + ":role/" + a.Role
}

// For returns the look-ups of account, after making sure its credentials
// can be had: it makes at most one AssumeRole attempt (none when
// credentials are cached and fresh, or a failure is remembered), so the
// look-ups that follow within the alert's budget need no other.
func (a *Accounts[L]) For(ctx context.Context, account string) (L, error) {
	var zero L
	if !accountRe.MatchString(account) {
		return zero, &Error{Role: a.Role, Account: fmt.Sprintf("%q", account), Reason: "not an AWS account ID"}
	}
	if a.STS == nil || a.Build == nil || a.Role == "" {
		return zero, &Error{Role: a.Role, Account: account, Reason: "no STS client configured"}
	}
	e, remembered := a.entry(account)
	if remembered != nil {
		return zero, remembered
	}
	timeout := awslookup.OrDefault(a.Timeout, awslookup.DefaultTimeout)
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := e.creds.Retrieve(callCtx)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		ae := &Error{Role: a.Role, Account: account, Reason: reason(ctx, callCtx, timeout, err), Err: err}
		if ctx.Err() == nil {
			// Only STS's own answers and its timeouts are remembered; an
			// alert whose budget ran out says nothing about the role.
			e.failed, e.failedAt = ae, a.now()
		}
		return zero, ae
	}
	e.failed = nil
	return e.lookups, nil
}

// entry returns account's entry, creating it (the least recently used
// beyond MaxAccounts is dropped), or the remembered failure.
func (a *Accounts[L]) entry(account string) (*entry[L], error) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.entries == nil {
		limit := a.MaxAccounts
		if limit <= 0 {
			limit = DefaultMaxAccounts
		}
		a.entries, _ = lru.New[string, *entry[L]](limit) // errors only for a size <= 0
	}
	if e, ok := a.entries.Get(account); ok {
		if e.failed != nil && now.Sub(e.failedAt) < awslookup.OrDefault(a.RetryAfter, DefaultRetryAfter) {
			var prev *Error
			if errors.As(e.failed, &prev) {
				c := *prev
				c.Remembered = true
				return nil, &c
			}
			return nil, e.failed
		}
		return e, nil
	}
	session := a.SessionName
	if session == "" {
		session = DefaultSessionName
	}
	provider := stscreds.NewAssumeRoleProvider(a.STS, a.RoleARN(account), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = session
	})
	creds := aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = awslookup.OrDefault(a.ExpiryWindow, DefaultExpiryWindow)
	})
	cfg := a.Home.Copy()
	cfg.Credentials = creds
	e := &entry[L]{lookups: a.Build(cfg), creds: creds}
	a.entries.Add(account, e)
	return e, nil
}

// Len is the number of accounts kept.
func (a *Accounts[L]) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.entries == nil {
		return 0
	}
	return a.entries.Len()
}
func (a *Accounts[L]) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// reason turns an AssumeRole error into words a responder can act on.
func reason(parent, call context.Context, timeout time.Duration, err error) string {
	if text, ok := budget.TimedOut(parent, call, timeout); ok {
		return text
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "AccessDenied":
			return "access denied (the role is missing or its trust policy does not name this function's role)"
		case "ExpiredToken", "ExpiredTokenException":
			return "the function's own credentials have expired"
		case "RegionDisabledException":
			return "STS is not activated in this region for the account"
		case "Throttling", "ThrottlingException":
			return "throttled by STS (retries exhausted)"
		}
		return apiErr.ErrorCode() + ": " + firstLine(apiErr.ErrorMessage())
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return "STS unreachable: " + firstLine(lastPart(err.Error()))
}

// lastPart drops the SDK's "operation error STS: AssumeRole, ..." prefix.
func lastPart(s string) string {
	if i := strings.LastIndex(s, ", "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
