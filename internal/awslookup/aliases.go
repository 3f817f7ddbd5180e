package awslookup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// DefaultAliasTTL is how long an account alias is remembered when no TTL is
// configured.
const DefaultAliasTTL = time.Hour

// IAMAPI is the part of the IAM client Aliases uses.
type IAMAPI interface {
	ListAccountAliases(ctx context.Context, params *iam.ListAccountAliasesInput, optFns ...func(*iam.Options)) (*iam.ListAccountAliasesOutput, error)
}

var _ IAMAPI = (*iam.Client)(nil)

// Aliases returns an account's alias from IAM ListAccountAliases, cached
// across calls (Lambda keeps the value alive between warm invocations). It
// is safe for concurrent use; use it by pointer, never copy it after first
// use.
type Aliases struct {
	IAM IAMAPI
	// TTL is how long an answer is reused; zero means DefaultAliasTTL.
	TTL time.Duration
	// Timeout bounds each IAM call; zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]aliasEntry
}

type aliasEntry struct {
	alias   string
	expires time.Time
}

// AccountAlias returns the alias of account, "" and nil when it has none.
// ListAccountAliases answers for the account of the IAM client's
// credentials, so callers must only ask for that account; answers are
// cached by account ID, "no alias" included. Errors are returned, not
// cached, so the next call tries again.
func (a *Aliases) AccountAlias(ctx context.Context, account string) (string, error) {
	if alias, ok := a.cached(account); ok {
		return alias, nil
	}
	if a.IAM == nil {
		return "", errors.New("list account aliases: no IAM client")
	}
	timeout := OrDefault(a.Timeout, DefaultTimeout)
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := a.IAM.ListAccountAliases(callCtx, &iam.ListAccountAliasesInput{})
	if err != nil {
		return "", fmt.Errorf("list account aliases: %w", TimeoutError(ctx, callCtx, timeout, err))
	}
	// An account has at most one alias.
	var alias string
	if len(out.AccountAliases) > 0 {
		alias = out.AccountAliases[0]
	}
	a.store(account, alias)
	return alias, nil
}

func (a *Aliases) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Aliases) cached(account string) (string, bool) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.cache[account]
	if !ok || !now.Before(e.expires) {
		return "", false
	}
	return e.alias, true
}

func (a *Aliases) store(account, alias string) {
	expires := a.now().Add(OrDefault(a.TTL, DefaultAliasTTL))
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cache == nil {
		a.cache = make(map[string]aliasEntry)
	}
	a.cache[account] = aliasEntry{alias: alias, expires: expires}
}
