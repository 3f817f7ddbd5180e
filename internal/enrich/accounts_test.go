package enrich_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/enrich"
)

// accounts answers For with each account's look-ups or error and counts
// the calls. (The real one, internal/crossaccount, is tested against STS
// in its package and end to end in functions/cloudtrail.)
type accounts struct {
	lookups map[string]enrich.Lookups
	err     error
	mu      sync.Mutex
	asked   []string
}

func (a *accounts) For(_ context.Context, account string) (enrich.Lookups, error) {
	a.mu.Lock()
	a.asked = append(a.asked, account)
	a.mu.Unlock()
	if a.err != nil {
		return enrich.Lookups{}, a.err
	}
	return a.lookups[account], nil
}

type directory struct {
	name string
	path []alert.OU
	err  error
}

func (d directory) Place(context.Context, string) (string, []alert.OU, error) {
	return d.name, d.path, d.err
}

func TestOtherAccounts(t *testing.T) {
	const home, member = "999988887777", "111122223333" // the fixtures' events are member's
	path := []alert.OU{{ID: "r-ab12", Name: "Root"}, {ID: "ou-ab12-11111111", Name: "Production"}}
	signIn := "Sign in to account 111122223333 first"
	for _, tc := range []struct {
		name      string
		fixture   string
		enricher  enrich.Enricher
		accounts  *accounts
		wantAsked string // accounts For was asked for
		alias     string
		acctName  string
		path      []alert.OU
		unchecked []string
		firstLink string
	}{
		{
			name: "the member's look-ups answer, the directory names it", fixture: "s3/put-bucket-policy-public-read.json",
			enricher:  enrich.Enricher{HomeAccount: home, Lookups: enrich.Lookups{Aliases: &aliases{alias: "home-alias"}}, Directory: directory{name: "Payments Prod", path: path}},
			accounts:  &accounts{lookups: map[string]enrich.Lookups{member: {Aliases: &aliases{alias: "acme-prod"}, Buckets: buckets{}, History: history{}}}},
			wantAsked: member, alias: "acme-prod", acctName: "Payments Prod", path: path, firstLink: signIn,
		},
		{
			name: "the role cannot be assumed: every look-up says why, the directory still answers", fixture: "s3/put-bucket-policy-public-read.json",
			enricher:  enrich.Enricher{HomeAccount: home, Directory: directory{name: "Payments Prod", path: path}},
			accounts:  &accounts{err: errors.New("assume TrailwatchLookup in 111122223333: access denied (the role is missing or its trust policy does not name this function's role)")},
			wantAsked: member, acctName: "Payments Prod", path: path, firstLink: signIn,
			unchecked: []string{
				"account alias: not checked (assume TrailwatchLookup in 111122223333: access denied (the role is missing or its trust policy does not name this function's role))",
				"whether the bucket is public now: not checked (assume TrailwatchLookup in 111122223333: access denied (the role is missing or its trust policy does not name this function's role))",
			},
		},
		{
			name: "the directory fails: said, with what it could read", fixture: "s3/put-bucket-policy-public-read.json",
			enricher:  enrich.Enricher{HomeAccount: home, Directory: directory{path: path, err: errors.New("organization look-up of 111122223333: account name: AccessDeniedException: denied")}},
			accounts:  &accounts{lookups: map[string]enrich.Lookups{member: {Aliases: &aliases{alias: "acme-prod"}, Buckets: buckets{}}}},
			wantAsked: member, alias: "acme-prod", path: path, firstLink: signIn,
			unchecked: []string{"account name and OU path: organization look-up of 111122223333: account name: AccessDeniedException: denied"},
		},
		{
			name: "the home account's event uses the function's own look-ups", fixture: "s3/put-bucket-policy-public-read.json",
			enricher: enrich.Enricher{HomeAccount: member, Lookups: enrich.Lookups{Aliases: &aliases{alias: "security"}, Buckets: buckets{}}, Directory: directory{name: "Security", path: path[:1]}},
			accounts: &accounts{},
			alias:    "security", acctName: "Security", path: path[:1], firstLink: "CloudTrail event",
		},
		{
			name: "offline: neither the role nor the directory is asked", fixture: "s3/put-bucket-policy-public-read.json",
			enricher: enrich.Enricher{HomeAccount: home, Offline: "offline replay (--offline)", Directory: directory{name: "x"}},
			accounts: &accounts{}, firstLink: signIn,
			unchecked: []string{"account alias: not checked (offline replay (--offline))", "whether the bucket is public now: not checked (offline replay (--offline))"},
		},
		{
			name: "a member's CPU alarm is looked up with the member's EC2 clients", fixture: "cloudwatch/ec2-cpu-spike-single-metric-alarm.json",
			enricher:  enrich.Enricher{HomeAccount: home, Lookups: enrich.Lookups{Instances: &inspector{descErr: errors.New("home clients used")}}},
			accounts:  &accounts{lookups: map[string]enrich.Lookups{member: {Aliases: &aliases{alias: "acme-prod"}, Instances: &inspector{}}}},
			wantAsked: member, alias: "acme-prod", firstLink: signIn,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, fs := findings(t, tc.fixture)
			e := tc.enricher
			e.Accounts = tc.accounts
			a, err := e.Alert(context.Background(), ev, fs)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tc.accounts.asked, " "); got != tc.wantAsked {
				t.Errorf("For asked for %q, want %q", got, tc.wantAsked)
			}
			if a.Where.AccountAlias != tc.alias || a.Where.AccountName != tc.acctName {
				t.Errorf("alias %q, name %q; want %q, %q", a.Where.AccountAlias, a.Where.AccountName, tc.alias, tc.acctName)
			}
			if len(a.Where.OUPath) != len(tc.path) || len(tc.path) > 0 && a.Where.OUPath[len(tc.path)-1] != tc.path[len(tc.path)-1] {
				t.Errorf("OU path %v, want %v", a.Where.OUPath, tc.path)
			}
			if strings.Join(a.Unchecked, "|") != strings.Join(tc.unchecked, "|") {
				t.Errorf("unchecked =\n%q\nwant\n%q", a.Unchecked, tc.unchecked)
			}
			if len(a.Links) == 0 || a.Links[0].Label != tc.firstLink {
				t.Fatalf("links %+v, want %q first", a.Links, tc.firstLink)
			}
			if tc.firstLink == signIn && a.Links[0].URL != "https://111122223333.signin.aws.amazon.com/console" {
				t.Errorf("sign-in link %s", a.Links[0].URL)
			}
			for _, u := range a.Unchecked {
				if strings.Contains(u, "home clients used") {
					t.Errorf("the home account's clients looked up a member's instances: %s", u)
				}
			}
		})
	}
}
