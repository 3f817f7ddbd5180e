// Package orglookup places the accounts of an AWS Organization: an
// account's name (DescribeAccount) and its OU path from the root
// (ListParents up the tree, each OU named by
// DescribeOrganizationalUnit). Alerts print them beside the account ID and
// alias; organization mode's routes decide by the path.
//
// Organizations answers these calls only in the management account or in
// an account that is a delegated administrator of an AWS service (the
// security account that deploys the StackSet is one), and its API has low
// rate limits, so answers are cached per account for an hour in the
// execution environment, OU names for as long, and a failure is
// remembered for a minute so a denied or throttled Organizations costs one
// round of calls per account and minute, not one per alert.
package orglookup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// Defaults for the zero values of Directory's settings.
const (
	// DefaultTTL is how long an account's placement is reused.
	DefaultTTL = time.Hour
	// DefaultRetryAfter is how long a failed look-up is answered from
	// memory before Organizations is asked again.
	DefaultRetryAfter = time.Minute
	// DefaultMaxAccounts bounds the accounts kept; the least recently
	// used is dropped first.
	DefaultMaxAccounts = 1024
	// maxDepth bounds the walk up the tree: Organizations allows five
	// levels of OUs under the root, so a longer walk means a cycle in
	// what the API answered.
	maxDepth = 8
)

// API is the part of the Organizations client Directory uses.
type API interface {
	DescribeAccount(ctx context.Context, params *organizations.DescribeAccountInput, optFns ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error)
	ListParents(ctx context.Context, params *organizations.ListParentsInput, optFns ...func(*organizations.Options)) (*organizations.ListParentsOutput, error)
	DescribeOrganizationalUnit(ctx context.Context, params *organizations.DescribeOrganizationalUnitInput, optFns ...func(*organizations.Options)) (*organizations.DescribeOrganizationalUnitOutput, error)
}

var _ API = (*organizations.Client)(nil)

// Unit is the root or an OU on an account's path. Name is the OU's name;
// "Root" for the root; "" when DescribeOrganizationalUnit did not answer.
type Unit = alert.OU

// Placement is where an account sits in the organization.
type Placement struct {
	// Name is the account's name ("" when DescribeAccount failed).
	Name string
	// Path runs from the root down to the account's own OU (nil when the
	// walk failed).
	Path []Unit
}

// IDs are the path's IDs, root first.
func (p Placement) IDs() []string {
	if p.Path == nil {
		return nil
	}
	out := make([]string, len(p.Path))
	for i, u := range p.Path {
		out[i] = u.ID
	}
	return out
}

// Directory looks accounts up in Organizations, with caches. It is safe for
// concurrent use; use it by pointer.
type Directory struct {
	Client API
	// TTL, RetryAfter and MaxAccounts: zero means the defaults above.
	TTL         time.Duration
	RetryAfter  time.Duration
	MaxAccounts int
	// Timeout bounds each Organizations call; zero means
	// awslookup.DefaultTimeout.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	accounts *lru.Cache[string, entry]
	units    map[string]string // OU ID -> name
}

type entry struct {
	placement Placement
	err       error
	at        time.Time
}

var (
	accountRe = lazyre.New(`^[0-9]{12}$`)
	// Organizations' own patterns for parent IDs.
	rootRe = lazyre.New(`^r-[0-9a-z]{4,32}$`)
	ouRe   = lazyre.New(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
)

// Error says which part of an account's placement could not be read.
type Error struct {
	Account string
	// Remembered is set when the answer came from the negative cache.
	Remembered bool
	Err        error
}

func (e *Error) Error() string {
	return fmt.Sprintf("organization look-up of %s: %v", e.Account, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Place returns the account's name and OU path (enrich.Directory).
func (d *Directory) Place(ctx context.Context, account string) (string, []alert.OU, error) {
	p, err := d.Lookup(ctx, account)
	return p.Name, p.Path, err
}

// Lookup returns the account's name and OU path. With an error, the
// placement holds what could be read: a path without a name, or neither.
func (d *Directory) Lookup(ctx context.Context, account string) (Placement, error) {
	if !accountRe.MatchString(account) {
		return Placement{}, &Error{Account: fmt.Sprintf("%q", account), Err: errors.New("not an AWS account ID")}
	}
	if d.Client == nil {
		return Placement{}, &Error{Account: account, Err: errors.New("no Organizations client configured")}
	}
	if p, err, ok := d.cached(account); ok {
		return p, err
	}
	var p Placement
	var nameErr, pathErr error
	var wg sync.WaitGroup
	wg.Go(func() { p.Name, nameErr = d.name(ctx, account) })
	p.Path, pathErr = d.path(ctx, account)
	wg.Wait()
	err := errors.Join(nameErr, pathErr)
	if err != nil {
		err = &Error{Account: account, Err: err}
	}
	if ctx.Err() == nil {
		// An alert whose budget ran out says nothing about Organizations.
		d.store(account, p, err)
	}
	return p, err
}

// OUPath returns the IDs from the root down to the account's OU: what
// organization mode's routes decide by (pipeline.Directory). A placement
// whose path was read serves even when the account's name was not.
func (d *Directory) OUPath(ctx context.Context, account string) ([]string, error) {
	p, err := d.Lookup(ctx, account)
	if p.Path != nil {
		return p.IDs(), nil
	}
	return nil, err
}

func (d *Directory) name(ctx context.Context, account string) (string, error) {
	callCtx, cancel, timeout := d.call(ctx)
	defer cancel()
	out, err := d.Client.DescribeAccount(callCtx, &organizations.DescribeAccountInput{AccountId: &account})
	if err != nil {
		return "", fmt.Errorf("account name: %s", awslookup.Describe(awslookup.TimeoutError(ctx, callCtx, timeout, err)))
	}
	if out.Account == nil || out.Account.Name == nil {
		return "", errors.New("account name: DescribeAccount answered without one")
	}
	return *out.Account.Name, nil
}

// path walks from the account up to the root.
func (d *Directory) path(ctx context.Context, account string) ([]Unit, error) {
	var up []Unit
	child := account
	for range maxDepth {
		parent, err := d.parent(ctx, child)
		if err != nil {
			return nil, fmt.Errorf("OU path: %w", err)
		}
		if parent.Type == types.ParentTypeRoot {
			up = append(up, Unit{ID: *parent.Id, Name: "Root"})
			out := make([]Unit, len(up))
			for i, u := range up {
				out[len(up)-1-i] = u
			}
			return out, nil
		}
		name, err := d.unitName(ctx, *parent.Id)
		if err != nil {
			// The ID still routes; the name stays unknown.
			name = ""
		}
		up = append(up, Unit{ID: *parent.Id, Name: name})
		child = *parent.Id
	}
	return nil, fmt.Errorf("OU path: deeper than %d levels", maxDepth)
}

func (d *Directory) parent(ctx context.Context, child string) (types.Parent, error) {
	callCtx, cancel, timeout := d.call(ctx)
	defer cancel()
	out, err := d.Client.ListParents(callCtx, &organizations.ListParentsInput{ChildId: &child})
	if err != nil {
		return types.Parent{}, errors.New(awslookup.Describe(awslookup.TimeoutError(ctx, callCtx, timeout, err)))
	}
	// Every account and OU has exactly one parent.
	if len(out.Parents) != 1 || out.Parents[0].Id == nil {
		return types.Parent{}, fmt.Errorf("ListParents of %s answered %d parents", child, len(out.Parents))
	}
	p := out.Parents[0]
	switch {
	case p.Type == types.ParentTypeRoot && rootRe.MatchString(*p.Id):
	case p.Type == types.ParentTypeOrganizationalUnit && ouRe.MatchString(*p.Id):
	default:
		return types.Parent{}, fmt.Errorf("ListParents of %s answered a parent that is neither a root nor an OU", child)
	}
	return p, nil
}

func (d *Directory) unitName(ctx context.Context, id string) (string, error) {
	d.mu.Lock()
	name, ok := d.units[id]
	d.mu.Unlock()
	if ok {
		return name, nil
	}
	callCtx, cancel, _ := d.call(ctx)
	defer cancel()
	out, err := d.Client.DescribeOrganizationalUnit(callCtx, &organizations.DescribeOrganizationalUnitInput{OrganizationalUnitId: &id})
	if err != nil {
		return "", err
	}
	if out.OrganizationalUnit == nil || out.OrganizationalUnit.Name == nil {
		return "", errors.New("DescribeOrganizationalUnit answered without a name")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.units == nil {
		d.units = make(map[string]string)
	}
	// OUs are few (hundreds at most) and their names rarely change; the
	// map is dropped with the execution environment.
	d.units[id] = *out.OrganizationalUnit.Name
	return *out.OrganizationalUnit.Name, nil
}

func (d *Directory) call(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	timeout := awslookup.OrDefault(d.Timeout, awslookup.DefaultTimeout)
	c, cancel := context.WithTimeout(ctx, timeout)
	return c, cancel, timeout
}

func (d *Directory) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// cache is the accounts' cache, made on first use.
func (d *Directory) cache() *lru.Cache[string, entry] {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.accounts == nil {
		limit := d.MaxAccounts
		if limit <= 0 {
			limit = DefaultMaxAccounts
		}
		d.accounts, _ = lru.New[string, entry](limit) // errors only for a size <= 0
	}
	return d.accounts
}

// cached returns a fresh answer: a placement for TTL, a failure for
// RetryAfter.
func (d *Directory) cached(account string) (Placement, error, bool) {
	e, ok := d.cache().Get(account)
	if !ok {
		return Placement{}, nil, false
	}
	age := d.now().Sub(e.at)
	switch {
	case e.err == nil && age < awslookup.OrDefault(d.TTL, DefaultTTL):
		return e.placement, nil, true
	case e.err != nil && age < awslookup.OrDefault(d.RetryAfter, DefaultRetryAfter):
		var oe *Error
		if errors.As(e.err, &oe) {
			c := *oe
			c.Remembered = true
			return e.placement, &c, true
		}
		return e.placement, e.err, true
	}
	return Placement{}, nil, false
}

func (d *Directory) store(account string, p Placement, err error) {
	d.cache().Add(account, entry{placement: p, err: err, at: d.now()})
}

// Len is the number of accounts kept.
func (d *Directory) Len() int { return d.cache().Len() }
