package orglookup_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/orglookup"
)

const (
	account    = "444455556666"
	production = "ou-ab12-11111111"
	payments   = "ou-ab12-22222222"
	target     = "AWSOrganizationsV20161128."
)

// org answers like an organization where the account sits in
// Root / Production / Payments.
type org struct {
	describe []awstest.Response // DescribeAccount answers
	parents  map[string][]awstest.Response
	ous      map[string][]awstest.Response
}

func json200(body string) awstest.Response {
	return awstest.Response{Body: body, Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}}
}

func parentOU(t *testing.T, id string) awstest.Response {
	return json200(strings.ReplaceAll(awstest.File(t, "organizations-list-parents-ou.json"), "PARENT", id))
}

func ou(t *testing.T, id, name string) awstest.Response {
	return json200(strings.NewReplacer("OUID", id, "OUNAME", name).Replace(awstest.File(t, "organizations-describe-ou.json")))
}

func jsonErr(status int, code, msg string) awstest.Response {
	return awstest.Response{Status: status, Body: awstest.JSONError(code, msg), Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}}
}

func standard(t *testing.T) org {
	return org{
		describe: []awstest.Response{json200(awstest.File(t, "organizations-describe-account.json"))},
		parents: map[string][]awstest.Response{
			account:    {parentOU(t, payments)},
			payments:   {parentOU(t, production)},
			production: {json200(awstest.File(t, "organizations-list-parents-root.json"))},
		},
		ous: map[string][]awstest.Response{
			production: {ou(t, production, "Production")},
			payments:   {ou(t, payments, "Payments")},
		},
	}
}

// field matches a JSON request of operation op whose key is value.
func field(op, key, value string) awstest.Matcher {
	return func(r awstest.Request) bool {
		if r.Header.Get("X-Amz-Target") != target+op {
			return false
		}
		var body map[string]string
		return json.Unmarshal(r.Body, &body) == nil && body[key] == value
	}
}

func (o org) serve(t *testing.T) *awstest.Server {
	srv := awstest.NewServer(t)
	if o.describe != nil {
		srv.Handle(field("DescribeAccount", "AccountId", account), o.describe...)
	}
	for child, rs := range o.parents {
		srv.Handle(field("ListParents", "ChildId", child), rs...)
	}
	for id, rs := range o.ous {
		srv.Handle(field("DescribeOrganizationalUnit", "OrganizationalUnitId", id), rs...)
	}
	return srv
}

func TestPlace(t *testing.T) {
	full := orglookup.Placement{Name: "Payments Prod", Path: []orglookup.Unit{{ID: "r-ab12", Name: "Root"}, {ID: production, Name: "Production"}, {ID: payments, Name: "Payments"}}}
	type call struct {
		account string        // default: account
		advance time.Duration // move the clock first
		want    orglookup.Placement
		wantErr string // substring; "" for none
		// wantRequests counts requests to the server after this call.
		wantRequests int
	}
	for _, tc := range []struct {
		name    string
		org     func(t *testing.T) org
		timeout time.Duration
		calls   []call
	}{
		{
			name: "name and path, then from the cache until the TTL; OU names outlive it",
			org:  standard,
			calls: []call{
				{want: full, wantRequests: 6}, // DescribeAccount, 3 ListParents, 2 DescribeOrganizationalUnit
				{advance: 59 * time.Minute, want: full, wantRequests: 6},
				{advance: 2 * time.Minute, want: full, wantRequests: 10},
			},
		},
		{
			name: "an account under the root",
			org: func(t *testing.T) org {
				o := standard(t)
				o.parents[account] = []awstest.Response{json200(awstest.File(t, "organizations-list-parents-root.json"))}
				return o
			},
			calls: []call{{want: orglookup.Placement{Name: "Payments Prod", Path: []orglookup.Unit{{ID: "r-ab12", Name: "Root"}}}, wantRequests: 2}},
		},
		{
			name: "DescribeAccount denied: the path still serves, the failure is remembered a minute",
			org: func(t *testing.T) org {
				o := standard(t)
				o.describe = []awstest.Response{
					jsonErr(400, "AccessDeniedException", "You don't have permissions to access this resource."),
					json200(awstest.File(t, "organizations-describe-account.json")),
				}
				return o
			},
			calls: []call{
				{want: orglookup.Placement{Path: full.Path}, wantErr: "organization look-up of 444455556666: account name: AccessDeniedException: You don't have permissions", wantRequests: 6},
				{advance: 30 * time.Second, want: orglookup.Placement{Path: full.Path}, wantErr: "account name: AccessDeniedException", wantRequests: 6},
				{advance: time.Minute, want: full, wantRequests: 10}, // OU names come from their cache
			},
		},
		{
			name: "not in the organization (AccountNotFoundException)",
			org: func(t *testing.T) org {
				return org{
					describe: []awstest.Response{jsonErr(400, "AccountNotFoundException", "We can't find an account with the AccountId that you specified.")},
					parents:  map[string][]awstest.Response{account: {jsonErr(400, "ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")}},
				}
			},
			calls: []call{{wantErr: "account name: AccountNotFoundException: We can't find an account with the AccountId that you specified.\nOU path: ChildNotFoundException", wantRequests: 2}},
		},
		{
			name: "throttled calls are retried by the SDK",
			org: func(t *testing.T) org {
				o := standard(t)
				o.describe = append([]awstest.Response{jsonErr(400, "TooManyRequestsException", "AWS Organizations can't complete your request because another request is already in progress.")}, o.describe...)
				o.parents[account] = append([]awstest.Response{jsonErr(400, "TooManyRequestsException", "slow down")}, o.parents[account]...)
				return o
			},
			calls: []call{{want: full, wantRequests: 8}},
		},
		{
			name: "an OU name that cannot be read leaves it unnamed",
			org: func(t *testing.T) org {
				o := standard(t)
				o.ous[payments] = []awstest.Response{jsonErr(400, "AccessDeniedException", "denied")}
				return o
			},
			calls: []call{{want: orglookup.Placement{Name: "Payments Prod", Path: []orglookup.Unit{{ID: "r-ab12", Name: "Root"}, {ID: production, Name: "Production"}, {ID: payments}}}, wantRequests: 6}},
		},
		{
			name: "a parent that is not an Organizations ID is refused",
			org: func(t *testing.T) org {
				o := standard(t)
				o.parents[account] = []awstest.Response{parentOU(t, "ou-ab12-<!here>")}
				return o
			},
			calls: []call{{want: orglookup.Placement{Name: "Payments Prod"}, wantErr: "OU path: ListParents of 444455556666 answered a parent that is neither a root nor an OU", wantRequests: 2}},
		},
		{
			name: "a cycle in the answers stops",
			org: func(t *testing.T) org {
				o := standard(t)
				o.parents[payments] = []awstest.Response{parentOU(t, payments)}
				return o
			},
			calls: []call{{want: orglookup.Placement{Name: "Payments Prod"}, wantErr: "OU path: deeper than 8 levels", wantRequests: 10}},
		},
		{
			name: "not an account ID: nothing asked",
			org:  standard,
			calls: []call{
				{account: "4444-5555-6666", wantErr: `organization look-up of "4444-5555-6666": not an AWS account ID`},
				{account: "", wantErr: "not an AWS account ID"},
			},
		},
		{
			name:    "timeout",
			timeout: 200 * time.Millisecond,
			org: func(t *testing.T) org {
				o := standard(t)
				slow := o.describe[0]
				slow.Delay = 5 * time.Second
				o.describe = []awstest.Response{slow}
				return o
			},
			calls: []call{{want: orglookup.Placement{Path: full.Path}, wantErr: "account name: timed out after 0.2 seconds"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.org(t).serve(t)
			now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			d := &orglookup.Directory{
				Client:  organizations.NewFromConfig(srv.Config("eu-west-1")),
				Timeout: tc.timeout,
				Now:     func() time.Time { return now },
			}
			for i, c := range tc.calls {
				now = now.Add(c.advance)
				acct := account
				if c.account != "" || strings.HasPrefix(tc.name, "not an account") {
					acct = c.account
				}
				got, err := d.Lookup(context.Background(), acct)
				gotErr := ""
				if err != nil {
					gotErr = err.Error()
				}
				if c.wantErr == "" && err != nil || c.wantErr != "" && !strings.Contains(gotErr, c.wantErr) {
					t.Errorf("call %d: error %q, want %q", i+1, gotErr, c.wantErr)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("call %d: placement %+v, want %+v", i+1, got, c.want)
				}
				if c.wantRequests != 0 || c.wantErr == "" {
					if n := len(srv.Requests()); n != c.wantRequests && !strings.HasPrefix(tc.name, "timeout") {
						t.Errorf("call %d: %d requests so far, want %d", i+1, n, c.wantRequests)
					}
				}
			}
		})
	}
}

func TestOUPath(t *testing.T) {
	o := standard(t)
	o.describe = []awstest.Response{jsonErr(400, "AccessDeniedException", "denied")}
	srv := o.serve(t)
	d := &orglookup.Directory{Client: organizations.NewFromConfig(srv.Config("us-east-1"))}
	path, err := d.OUPath(context.Background(), account)
	if err != nil {
		t.Fatalf("OUPath: %v (a path without the account's name still routes)", err)
	}
	if want := []string{"r-ab12", production, payments}; !reflect.DeepEqual(path, want) {
		t.Errorf("path %v, want %v", path, want)
	}

	srv = org{parents: map[string][]awstest.Response{account: {jsonErr(400, "AccessDeniedException", "denied")}}, describe: []awstest.Response{jsonErr(400, "AccessDeniedException", "denied")}}.serve(t)
	d = &orglookup.Directory{Client: organizations.NewFromConfig(srv.Config("us-east-1"))}
	if path, err := d.OUPath(context.Background(), account); err == nil || path != nil {
		t.Errorf("OUPath = %v, %v; want an error", path, err)
	}
}

func TestGlobalEndpoint(t *testing.T) {
	// Organizations has one endpoint, in us-east-1 (aws-cn and aws-us-gov
	// have theirs): a function in eu-west-1 needs no region override.
	for region, want := range map[string]string{
		"eu-west-1":      "https://organizations.us-east-1.amazonaws.com",
		"ap-southeast-2": "https://organizations.us-east-1.amazonaws.com",
		"cn-north-1":     "https://organizations.cn-northwest-1.amazonaws.com.cn",
	} {
		ep, err := organizations.NewDefaultEndpointResolverV2().ResolveEndpoint(context.Background(), organizations.EndpointParameters{Region: &region})
		if err != nil {
			t.Fatalf("%s: %v", region, err)
		}
		if got := ep.URI.String(); got != want {
			t.Errorf("%s: endpoint %s, want %s", region, got, want)
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	o := standard(t)
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Target(target+"DescribeAccount"), o.describe...)
	srv.Handle(awstest.Target(target+"ListParents"), json200(awstest.File(t, "organizations-list-parents-root.json")))
	d := &orglookup.Directory{Client: organizations.NewFromConfig(srv.Config("us-east-1")), MaxAccounts: 3}
	for _, a := range []string{"000000000001", "000000000002", "000000000003", "000000000004", "000000000005"} {
		if _, err := d.Lookup(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	if d.Len() != 3 {
		t.Errorf("%d accounts kept, want 3", d.Len())
	}
}
