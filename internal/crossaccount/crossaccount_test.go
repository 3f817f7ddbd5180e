package crossaccount_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/crossaccount"
)

// assumeRole is the recorded AssumeRole answer for account, with access
// key id and an expiration that far from now.
func assumeRole(t *testing.T, account, keyID string, expiresIn time.Duration) awstest.Response {
	t.Helper()
	body := awstest.File(t, "sts-assume-role.xml")
	// RFC 3339 without fractions: rounded up to the second, so the
	// credentials are valid at least expiresIn from now (rounded down, a
	// case one second from the SDK's expiry window flaked on a busy
	// machine: the first call already found them inside the window).
	expires := time.Now().Add(expiresIn).Truncate(time.Second).Add(time.Second)
	body = strings.NewReplacer("ACCOUNT", account, "ACCESSKEY", keyID, "EXPIRATION", expires.UTC().Format(time.RFC3339)).Replace(body)
	return awstest.Response{Body: body, Header: map[string]string{"Content-Type": "text/xml"}}
}

func TestFor(t *testing.T) {
	const member, other, third = "444455556666", "777788889999", "123456789012"
	type call struct {
		account string
		advance time.Duration
		sleep   time.Duration // real time, for the SDK's credentials cache
		wantKey string        // access key ID of the account's credentials
		wantErr string        // substring of the error; "" for none
	}
	for _, tc := range []struct {
		name        string
		responses   func(t *testing.T) []awstest.Response
		maxAccounts int
		calls       []call
		// wantAssumes counts AssumeRole requests after all calls.
		wantAssumes int
		wantRoles   []string // RoleArn of each AssumeRole request
	}{
		{
			name: "granted, then served from the cache",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{assumeRole(t, member, "ASIAMEMBER1", time.Hour)}
			},
			calls:       []call{{account: member, wantKey: "ASIAMEMBER1"}, {account: member, advance: 30 * time.Minute, wantKey: "ASIAMEMBER1"}},
			wantAssumes: 1,
			wantRoles:   []string{"arn:aws:iam::444455556666:role/TrailwatchLookup"},
		},
		{
			name: "access denied, remembered, asked again after RetryAfter",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{
					{Status: 403, Body: awstest.XMLError("AccessDenied", "User: arn:aws:sts::111122223333:assumed-role/trailwatch-cloudtrail/fn is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role/TrailwatchLookup")},
					assumeRole(t, member, "ASIAMEMBER2", time.Hour),
				}
			},
			calls: []call{
				{account: member, wantErr: "assume TrailwatchLookup in 444455556666: access denied (the role is missing or its trust policy does not name this function's role)"},
				{account: member, advance: 30 * time.Second, wantErr: "assume TrailwatchLookup in 444455556666: access denied"},
				{account: member, advance: time.Minute, wantKey: "ASIAMEMBER2"},
			},
			wantAssumes: 2,
		},
		{
			name: "credentials inside the expiry window are refreshed",
			responses: func(t *testing.T) []awstest.Response {
				// Valid 5 min 1 s (up to 2 s, rounded up to the second): fresh
				// for at least one second under the 5 min window, inside it
				// 2.1 s later.
				return []awstest.Response{assumeRole(t, member, "ASIAFIRST", crossaccount.DefaultExpiryWindow+time.Second), assumeRole(t, member, "ASIASECOND", time.Hour)}
			},
			calls:       []call{{account: member, wantKey: "ASIAFIRST"}, {account: member, sleep: 2100 * time.Millisecond, wantKey: "ASIASECOND"}, {account: member, wantKey: "ASIASECOND"}},
			wantAssumes: 2,
		},
		{
			name: "throttled call retried by the SDK",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{
					{Status: 400, Body: awstest.XMLError("Throttling", "Rate exceeded")},
					assumeRole(t, member, "ASIAAFTERTHROTTLE", time.Hour),
				}
			},
			calls:       []call{{account: member, wantKey: "ASIAAFTERTHROTTLE"}},
			wantAssumes: 2,
		},
		{
			name: "throttled beyond the retries",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{{Status: 400, Body: awstest.XMLError("Throttling", "Rate exceeded")}}
			},
			calls:       []call{{account: member, wantErr: "assume TrailwatchLookup in 444455556666: throttled by STS (retries exhausted)"}},
			wantAssumes: 3, // the standard retryer's three attempts
		},
		{
			name: "one role per account, least recently used dropped",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{assumeRole(t, member, "ASIAM", time.Hour), assumeRole(t, other, "ASIAO", time.Hour), assumeRole(t, third, "ASIAT", time.Hour), assumeRole(t, member, "ASIAM2", time.Hour)}
			},
			maxAccounts: 2,
			calls: []call{
				{account: member, wantKey: "ASIAM"}, {account: other, advance: time.Second, wantKey: "ASIAO"},
				{account: third, advance: time.Second, wantKey: "ASIAT"}, {account: member, advance: time.Second, wantKey: "ASIAM2"},
			},
			wantAssumes: 4,
			wantRoles: []string{"arn:aws:iam::444455556666:role/TrailwatchLookup", "arn:aws:iam::777788889999:role/TrailwatchLookup",
				"arn:aws:iam::123456789012:role/TrailwatchLookup", "arn:aws:iam::444455556666:role/TrailwatchLookup"},
		},
		{
			name: "not an account ID: no call",
			responses: func(t *testing.T) []awstest.Response {
				return []awstest.Response{assumeRole(t, member, "ASIAX", time.Hour)}
			},
			calls: []call{{account: "4444:role/x", wantErr: `assume TrailwatchLookup in "4444:role/x": not an AWS account ID`}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := awstest.NewServer(t)
			srv.Handle(awstest.Action("AssumeRole"), tc.responses(t)...)
			home := srv.Config("eu-west-1")
			now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			accounts := &crossaccount.Accounts[aws.Config]{
				Home:        home,
				STS:         sts.NewFromConfig(home),
				Role:        "TrailwatchLookup",
				Partition:   "aws",
				Build:       func(cfg aws.Config) aws.Config { return cfg },
				MaxAccounts: tc.maxAccounts,
				Now:         func() time.Time { return now },
			}
			for i, c := range tc.calls {
				now = now.Add(c.advance)
				time.Sleep(c.sleep)
				cfg, err := accounts.For(context.Background(), c.account)
				if c.wantErr != "" {
					var ae *crossaccount.Error
					if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.As(err, &ae) {
						t.Fatalf("call %d: error %v, want a *crossaccount.Error containing %q", i, err, c.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				creds, err := cfg.Credentials.Retrieve(context.Background())
				if err != nil {
					t.Fatalf("call %d: credentials: %v", i, err)
				}
				if creds.AccessKeyID != c.wantKey || !creds.CanExpire {
					t.Errorf("call %d: access key %s (expiring %v), want %s, expiring", i, creds.AccessKeyID, creds.CanExpire, c.wantKey)
				}
			}
			var roles []string
			for _, r := range srv.Requests() {
				form, _ := url.ParseQuery(string(r.Body))
				roles = append(roles, form.Get("RoleArn"))
				if got := form.Get("RoleSessionName"); got != crossaccount.DefaultSessionName {
					t.Errorf("RoleSessionName = %q, want %q", got, crossaccount.DefaultSessionName)
				}
				if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDAWSTEST/") {
					t.Errorf("AssumeRole signed with %q, want the home credentials", r.Header.Get("Authorization"))
				}
			}
			if len(roles) != tc.wantAssumes {
				t.Errorf("got %d AssumeRole requests, want %d", len(roles), tc.wantAssumes)
			}
			if tc.wantRoles != nil && strings.Join(roles, " ") != strings.Join(tc.wantRoles, " ") {
				t.Errorf("roles assumed %v, want %v", roles, tc.wantRoles)
			}
		})
	}
}

// TestForConcurrent: the look-ups of one alert start together; the
// credentials cache makes them share one AssumeRole.
func TestForConcurrent(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Action("AssumeRole"), assumeRole(t, "444455556666", "ASIASHARED", time.Hour))
	home := srv.Config("eu-west-1")
	accounts := &crossaccount.Accounts[aws.Config]{Home: home, STS: sts.NewFromConfig(home), Role: "TrailwatchLookup", Build: func(c aws.Config) aws.Config { return c }}
	done := make(chan error)
	for range 8 {
		go func() {
			cfg, err := accounts.For(context.Background(), "444455556666")
			if err == nil {
				_, err = cfg.Credentials.Retrieve(context.Background())
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("got %d AssumeRole requests for 8 concurrent look-ups, want 1", n)
	}
}

// TestForTimeout: an STS that does not answer costs the alert the
// AssumeRole timeout, not its whole budget, and says so.
func TestForTimeout(t *testing.T) {
	srv := awstest.NewServer(t)
	r := assumeRole(t, "444455556666", "ASIASLOW", time.Hour)
	r.Delay = 500 * time.Millisecond
	srv.Handle(awstest.Action("AssumeRole"), r)
	home := srv.Config("eu-west-1")
	accounts := &crossaccount.Accounts[aws.Config]{Home: home, STS: sts.NewFromConfig(home), Role: "TrailwatchLookup", Build: func(c aws.Config) aws.Config { return c }, Timeout: 50 * time.Millisecond}
	_, err := accounts.For(context.Background(), "444455556666")
	if err == nil || err.Error() != "assume TrailwatchLookup in 444455556666: timed out after 0.05 seconds" {
		t.Errorf("error %v, want the timeout in words", err)
	}
}
