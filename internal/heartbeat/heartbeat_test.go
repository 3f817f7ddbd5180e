package heartbeat_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/smithy-go"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
	"github.com/trailwatch/trailwatch/internal/state"
)

func TestParse(t *testing.T) {
	good := event.Envelope{
		Source: "aws.events", DetailType: "Scheduled Event", Account: "444455556666", Region: "eu-west-1",
		Resources: []string{"arn:aws:events:eu-west-1:444455556666:rule/TrailwatchMember-heartbeat"},
	}
	with := func(f func(e *event.Envelope)) event.Envelope {
		e := good
		e.Resources = slices.Clone(good.Resources)
		f(&e)
		return e
	}
	tests := []struct {
		name string
		env  event.Envelope
		ok   bool
	}{
		{"member heartbeat", good, true},
		{"GovCloud partition", with(func(e *event.Envelope) {
			e.Region = "us-gov-west-1"
			e.Resources = []string{"arn:aws-us-gov:events:us-gov-west-1:444455556666:rule/TrailwatchMember-heartbeat"}
		}), true},
		{"the digest function's own schedule", with(func(e *event.Envelope) {
			e.Resources = []string{"arn:aws:events:eu-west-1:444455556666:rule/Trailwatch-DigestSchedule"}
		}), false},
		{"rule of another account", with(func(e *event.Envelope) {
			e.Resources = []string{"arn:aws:events:eu-west-1:777788889999:rule/TrailwatchMember-heartbeat"}
		}), false},
		{"rule of another region", with(func(e *event.Envelope) {
			e.Resources = []string{"arn:aws:events:us-east-1:444455556666:rule/TrailwatchMember-heartbeat"}
		}), false},
		{"rule on a custom bus", with(func(e *event.Envelope) {
			e.Resources = []string{"arn:aws:events:eu-west-1:444455556666:rule/bus/TrailwatchMember-heartbeat"}
		}), false},
		{"longer rule name", with(func(e *event.Envelope) {
			e.Resources = []string{"arn:aws:events:eu-west-1:444455556666:rule/TrailwatchMember-heartbeat-x"}
		}), false},
		{"two resources", with(func(e *event.Envelope) { e.Resources = append(e.Resources, e.Resources[0]) }), false},
		{"no resources", with(func(e *event.Envelope) { e.Resources = nil }), false},
		{"custom source", with(func(e *event.Envelope) { e.Source = "trailwatch.heartbeat" }), false},
		{"other detail type", with(func(e *event.Envelope) { e.DetailType = "AWS API Call via CloudTrail" }), false},
		{"account not 12 digits", with(func(e *event.Envelope) {
			e.Account = "4444555566"
			e.Resources = []string{"arn:aws:events:eu-west-1:4444555566:rule/TrailwatchMember-heartbeat"}
		}), false},
		{"region not a region", with(func(e *event.Envelope) {
			e.Region = "eu-west-1\n"
			e.Resources = []string{"arn:aws:events:eu-west-1\n:444455556666:rule/TrailwatchMember-heartbeat"}
		}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			account, region, ok := heartbeat.Parse(tt.env)
			if ok != tt.ok {
				t.Fatalf("Parse = %q %q %t, want ok %t", account, region, ok, tt.ok)
			}
			if ok && (account != tt.env.Account || region != tt.env.Region) {
				t.Errorf("Parse = %q %q, want the envelope's", account, region)
			}
		})
	}
}

// TestParseFixture: the recorded heartbeat under events/ is one.
func TestParseFixture(t *testing.T) {
	ev, err := event.Decode(fixture.Read(t, "heartbeat/trailwatch-member-silent-heartbeat.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a, r, ok := heartbeat.Parse(ev.Envelope); !ok || a != "444455556666" || r != "eu-west-1" {
		t.Fatalf("Parse = %q %q %t", a, r, ok)
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 5, 0, 0, time.UTC)
	acct := heartbeat.Account{ID: "444455556666", Joined: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)}
	newAcct := heartbeat.Account{ID: "777788889999", Joined: now.Add(-90 * time.Minute)}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name    string
		account heartbeat.Account
		hb      state.Heartbeat
		period  time.Duration
		silent  bool
		episode string
	}{
		{"heartbeat 5 minutes ago", acct, state.Heartbeat{LastSeen: ago(5 * time.Minute), ExpectedSince: ago(30 * 24 * time.Hour)}, time.Hour, false, ""},
		{"one period missed", acct, state.Heartbeat{LastSeen: ago(65 * time.Minute), ExpectedSince: ago(30 * 24 * time.Hour)}, time.Hour, false, ""},
		{"exactly two periods", acct, state.Heartbeat{LastSeen: ago(2 * time.Hour), ExpectedSince: ago(30 * 24 * time.Hour)}, time.Hour, false, ""},
		{"two periods and a minute", acct, state.Heartbeat{LastSeen: ago(2*time.Hour + time.Minute)}, time.Hour, true,
			"silent#444455556666#eu-west-1#" + itoa(ago(2*time.Hour+time.Minute).Unix())},
		{"silent for days", acct, state.Heartbeat{LastSeen: ago(72 * time.Hour), Alerted: "whatever"}, time.Hour, true,
			"silent#444455556666#eu-west-1#" + itoa(ago(72*time.Hour).Unix())},
		{"shorter period", acct, state.Heartbeat{LastSeen: ago(25 * time.Minute)}, 10 * time.Minute, true,
			"silent#444455556666#eu-west-1#" + itoa(ago(25*time.Minute).Unix())},
		{"zero period is the default", acct, state.Heartbeat{LastSeen: ago(90 * time.Minute)}, 0, false, ""},
		{"never seen, expected just now", acct, state.Heartbeat{ExpectedSince: now}, time.Hour, false, ""},
		{"never seen, not expected yet", acct, state.Heartbeat{}, time.Hour, false, ""},
		{"never seen, expected for three hours", acct, state.Heartbeat{ExpectedSince: ago(3 * time.Hour)}, time.Hour, true,
			"silent#444455556666#eu-west-1#never#" + itoa(ago(3*time.Hour).Unix())},
		{"never seen, joined 90 minutes ago", newAcct, state.Heartbeat{ExpectedSince: ago(3 * time.Hour)}, time.Hour, false, ""},
		{"never seen, joined long enough ago", heartbeat.Account{ID: "777788889999", Joined: ago(150 * time.Minute)}, state.Heartbeat{ExpectedSince: ago(3 * time.Hour)}, time.Hour, true,
			"silent#777788889999#eu-west-1#never#" + itoa(ago(3*time.Hour).Unix())},
		{"clock ahead: heartbeat from the future", acct, state.Heartbeat{LastSeen: now.Add(time.Hour)}, time.Hour, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, silent := heartbeat.Decide(now, tt.period, tt.account, "eu-west-1", tt.hb)
			if silent != tt.silent {
				t.Fatalf("silent = %t, want %t (%+v)", silent, tt.silent, s)
			}
			if s.Episode != tt.episode {
				t.Errorf("episode = %q, want %q", s.Episode, tt.episode)
			}
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// parent matches an Organizations call of one operation for one parent,
// and optionally one page (its NextToken).
func parent(op, id, token string) awstest.Matcher {
	return func(r awstest.Request) bool {
		if r.Header.Get("X-Amz-Target") != "AWSOrganizationsV20161128."+op || !bytes.Contains(r.Body, []byte(`"ParentId":"`+id+`"`)) {
			return false
		}
		if token == "" {
			return !bytes.Contains(r.Body, []byte(`"NextToken"`))
		}
		return bytes.Contains(r.Body, []byte(`"NextToken":"`+token+`"`))
	}
}

// organization answers like the organization of the recorded responses:
// the root with the management, security and a suspended account and the
// Production OU; Production with two pages of accounts (one pending
// closure) and the nested Payments OU, which lists an account of
// Production again.
func organization(t *testing.T) *awstest.Server {
	srv := awstest.NewServer(t)
	rec := func(name string) awstest.Response { return awstest.Response{Body: awstest.File(t, name)} }
	srv.HandleRead(awstest.Target("AWSOrganizationsV20161128.DescribeOrganization"), rec("organizations-describe-organization.json"))
	srv.HandleRead(parent("ListAccountsForParent", "r-ab12", ""), rec("organizations-list-accounts-root.json"))
	srv.HandleRead(parent("ListOrganizationalUnitsForParent", "r-ab12", ""), rec("organizations-list-ous-root.json"))
	srv.HandleRead(parent("ListAccountsForParent", "ou-ab12-11111111", ""), rec("organizations-list-accounts-prod-page1.json"))
	srv.HandleRead(parent("ListAccountsForParent", "ou-ab12-11111111", "AAEAAWZ8prod-page-2"), rec("organizations-list-accounts-prod-page2.json"))
	srv.HandleRead(parent("ListOrganizationalUnitsForParent", "ou-ab12-11111111", ""), rec("organizations-list-ous-prod.json"))
	srv.HandleRead(parent("ListAccountsForParent", "ou-ab12-22222222", ""), rec("organizations-list-accounts-payments.json"))
	srv.HandleRead(parent("ListOrganizationalUnitsForParent", "ou-ab12-22222222", ""), rec("organizations-list-ous-empty.json"))
	return srv
}

func ids(accounts []heartbeat.Account) []string {
	var out []string
	for _, a := range accounts {
		out = append(out, a.ID)
	}
	return out
}

// TestListAccounts walks the organization through the real Organizations
// client and its paginators: recursively, each account once, active ones
// only.
func TestListAccounts(t *testing.T) {
	srv := organization(t)
	client := organizations.NewFromConfig(srv.Config("eu-west-1"))
	got, err := heartbeat.ListAccounts(context.Background(), client, []string{"r-ab12"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"111122223333", "444455556666", "555566667777", "777788889999", "999988887777"}
	if !slices.Equal(ids(got), want) {
		t.Fatalf("accounts = %v, want %v", ids(got), want)
	}
	if got[1].Name != "payments-prod" || !got[1].Joined.Equal(time.Unix(1741940505, 123e6).UTC()) {
		t.Errorf("account = %+v", got[1])
	}
	mgmt, err := heartbeat.ManagementAccount(context.Background(), client)
	if err != nil || mgmt != "999988887777" {
		t.Errorf("management account = %q, %v", mgmt, err)
	}
	// An OU target lists that OU's subtree only.
	got, err = heartbeat.ListAccounts(context.Background(), client, []string{"ou-ab12-22222222"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"444455556666", "777788889999"}; !slices.Equal(ids(got), want) {
		t.Errorf("accounts of Payments = %v, want %v", ids(got), want)
	}
}

// TestListAccountsThrottled: a throttled call is retried by the SDK's
// retryer and the listing completes.
func TestListAccountsThrottled(t *testing.T) {
	srv := awstest.NewServer(t)
	throttled := awstest.Response{Status: 400, Body: awstest.JSONError("TooManyRequestsException", "AWS Organizations can't complete your request because another request is already in progress. Try again later.")}
	srv.Handle(parent("ListAccountsForParent", "ou-ab12-22222222", ""), throttled, throttled, awstest.Response{Body: awstest.File(t, "organizations-list-accounts-payments.json")})
	srv.Handle(parent("ListOrganizationalUnitsForParent", "ou-ab12-22222222", ""), awstest.Response{Body: awstest.File(t, "organizations-list-ous-empty.json")})
	got, err := heartbeat.ListAccounts(context.Background(), organizations.NewFromConfig(srv.Config("eu-west-1")), []string{"ou-ab12-22222222"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("accounts = %v", ids(got))
	}
	if n := len(srv.Requests()); n != 4 {
		t.Errorf("%d requests, want 4 (two throttled, then the accounts and the OUs)", n)
	}
}

// TestListAccountsDenied: AccessDenied stops the listing with an error
// that names the parent and keeps the service's code.
func TestListAccountsDenied(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(parent("ListAccountsForParent", "r-ab12", ""), awstest.Response{Status: 400, Body: awstest.JSONError("AccessDeniedException",
		"You don't have permissions to access this resource.")})
	_, err := heartbeat.ListAccounts(context.Background(), organizations.NewFromConfig(srv.Config("eu-west-1")), []string{"r-ab12"})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" || !strings.Contains(err.Error(), "r-ab12") {
		t.Fatalf("error = %v", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := heartbeat.Config{Targets: []string{"r-ab12"}, Regions: []string{"us-east-1", "eu-west-1"}, Period: 30 * time.Minute, HomeAccount: "111122223333"}.Env()
	c, ok, err := heartbeat.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || !ok {
		t.Fatalf("ConfigFromEnv: %v %t", err, ok)
	}
	if !slices.Equal(c.Targets, []string{"r-ab12"}) || !slices.Equal(c.Regions, []string{"us-east-1", "eu-west-1"}) || c.Period != 30*time.Minute || c.HomeAccount != "111122223333" {
		t.Errorf("config = %+v", c)
	}
	if _, ok, err := heartbeat.ConfigFromEnv(func(string) string { return "" }); ok || err != nil {
		t.Errorf("empty environment: ok %t, %v", ok, err)
	}
	for _, bad := range []map[string]string{
		{heartbeat.EnvTargets: "r-ab12"},
		{heartbeat.EnvTargets: "r-ab12", heartbeat.EnvRegions: "eu-west-1,mars"},
		{heartbeat.EnvTargets: "r-ab12", heartbeat.EnvRegions: "eu-west-1", heartbeat.EnvPeriodMinutes: "0"},
		{heartbeat.EnvTargets: "r-ab12", heartbeat.EnvRegions: "eu-west-1", heartbeat.EnvHomeAccount: "me"},
	} {
		if _, _, err := heartbeat.ConfigFromEnv(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
