package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/route"
)

const (
	member = "444455556666"
	// homeKey signs the function's own calls (awstest's static
	// credentials); a member's look-ups must be signed with the key its
	// look-up role's session got.
	homeKey = "AKIDAWSTEST"
)

// assumed is STS's recorded AssumeRole answer, for key, valid for d.
func assumed(t *testing.T, key string, d time.Duration) awstest.Response {
	body := strings.NewReplacer("ACCOUNT", member, "ACCESSKEY", key, "EXPIRATION", time.Now().Add(d).UTC().Format(time.RFC3339)).
		Replace(awstest.Recorded(t, "crossaccount", "sts-assume-role.xml"))
	return awstest.Response{Body: body, Header: map[string]string{"Content-Type": "text/xml"}}
}

// handleOrganization answers STS with assume and Organizations as an
// organization where every account sits in Root / Production.
func handleOrganization(t *testing.T, a *awstest.Server, assume []awstest.Response) {
	t.Helper()
	js := func(body string) awstest.Response {
		return awstest.Response{Body: body, Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}}
	}
	const prod = "ou-ab12-11111111"
	a.Handle(awstest.Action("AssumeRole"), assume...)
	a.Handle(awstest.Target("AWSOrganizationsV20161128.DescribeAccount"), js(awstest.Recorded(t, "orglookup", "organizations-describe-account.json")))
	a.Handle(func(r awstest.Request) bool {
		return r.Header.Get("X-Amz-Target") == "AWSOrganizationsV20161128.ListParents" && bytes.Contains(r.Body, []byte(`"`+prod+`"`))
	}, js(awstest.Recorded(t, "orglookup", "organizations-list-parents-root.json")))
	a.Handle(awstest.Target("AWSOrganizationsV20161128.ListParents"),
		js(strings.ReplaceAll(awstest.Recorded(t, "orglookup", "organizations-list-parents-ou.json"), "PARENT", prod)))
	a.Handle(awstest.Target("AWSOrganizationsV20161128.DescribeOrganizationalUnit"),
		js(strings.NewReplacer("OUID", prod, "OUNAME", "Production").Replace(awstest.Recorded(t, "orglookup", "organizations-describe-ou.json"))))
}

// memberInput is the rule's input for a fixture recorded in the member
// account (the fixture's account replaced), as the central bus delivers
// it: EventBridge keeps the member's account in the envelope.
func memberInput(t *testing.T, id, name string) []byte {
	t.Helper()
	return ruleInputOf(t, id, bytes.ReplaceAll(fixture.Read(t, name), []byte("111122223333"), []byte(member)))
}

// keyOf is the access key ID a request was signed with.
func keyOf(r awstest.Request) string {
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}

// lookUps are the requests of the alert's look-ups in the event's account.
func lookUps(reqs []awstest.Request) []awstest.Request {
	var out []awstest.Request
	for _, r := range reqs {
		op := r.Operation()
		switch {
		case op == "ListAccountAliases", strings.HasPrefix(op, "CloudTrail_"), strings.HasPrefix(op, "GET "):
			out = append(out, r)
		}
	}
	return out
}

func count(reqs []awstest.Request, op string) int {
	n := 0
	for _, r := range reqs {
		if r.Operation() == op {
			n++
		}
	}
	return n
}

// TestMemberAccountEvent: an event of a member account, forwarded to the
// central bus, is looked up in that account through its TrailwatchLookup
// role (the real STS client and credentials cache), and named from
// Organizations; a role that cannot be assumed never stops the alert.
func TestMemberAccountEvent(t *testing.T) {
	const fx, id = "s3/put-bucket-public-access-block-sso-policy-off.json", "s3-bucket-public-access-block-disabled"
	denied := awstest.Response{Status: 403, Body: awstest.XMLError("AccessDenied", "User: arn:aws:sts::111122223333:assumed-role/trailwatch-cloudtrail/fn is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role/TrailwatchLookup")}
	throttled := awstest.Response{Status: 400, Body: awstest.XMLError("Throttling", "Rate exceeded")}
	for _, tc := range []struct {
		name        string
		assume      func(t *testing.T) []awstest.Response
		invocations int
		sleep       time.Duration // between invocations, for the credentials' expiry window
		wantAssumes int
		// wantKeys are the keys of the member look-ups, per invocation;
		// none when the role could not be assumed.
		wantKeys  []string
		wantSlack []string
	}{
		{
			name: "granted: the member's look-ups are signed with the role's credentials",
			assume: func(t *testing.T) []awstest.Response {
				return []awstest.Response{assumed(t, "ASIAMEMBERGRANTED1", time.Hour)}
			},
			invocations: 2, wantAssumes: 1, wantKeys: []string{"ASIAMEMBERGRANTED1", "ASIAMEMBERGRANTED1"},
			wantSlack: []string{"444455556666 (acme-prod)", "Account name `Payments Prod`", "OU `Root / Production`", "Sign in to account 444455556666 first",
				"https://444455556666.signin.aws.amazon.com/console", "Public right now? YES"},
		},
		{
			name:        "access denied: the alert goes out and says which look-ups could not be done and why",
			assume:      func(t *testing.T) []awstest.Response { return []awstest.Response{denied} },
			invocations: 1, wantAssumes: 1,
			wantSlack: []string{"Account name `Payments Prod`", "account alias: not checked (assume TrailwatchLookup in 444455556666: access denied (the role is missing or its trust policy does not name this function",
				"whether the bucket is public now: not checked (assume TrailwatchLookup in 444455556666: access denied"},
		},
		{
			name: "credentials about to expire are refreshed before the next alert",
			assume: func(t *testing.T) []awstest.Response {
				// A margin of seconds: under the race detector setting up
				// the environment and the first invocation take over 1 s.
				return []awstest.Response{assumed(t, "ASIAMEMBERFIRST001", 5*time.Minute+4*time.Second), assumed(t, "ASIAMEMBERSECOND01", time.Hour)}
			},
			invocations: 2, sleep: 4200 * time.Millisecond, wantAssumes: 2, wantKeys: []string{"ASIAMEMBERFIRST001", "ASIAMEMBERSECOND01"},
			wantSlack: []string{"444455556666 (acme-prod)"},
		},
		{
			name: "a throttled AssumeRole is retried by the SDK",
			assume: func(t *testing.T) []awstest.Response {
				return []awstest.Response{throttled, assumed(t, "ASIAMEMBERTHROTTLE", time.Hour)}
			},
			invocations: 1, wantAssumes: 2, wantKeys: []string{"ASIAMEMBERTHROTTLE"},
			wantSlack: []string{"444455556666 (acme-prod)", "Public right now? YES"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setUpEnv(t, faults{org: tc.assume(t)})
			seen := 0
			for i := range tc.invocations {
				if i > 0 {
					time.Sleep(tc.sleep)
				}
				// Each invocation is a new event (its own claims).
				in := bytes.ReplaceAll(memberInput(t, id, fx), []byte(`"eventID": "`), []byte(`"eventID": "`+string(rune('a'+i))))
				if _, err := e.h.Invoke(context.Background(), in); err != nil {
					t.Fatalf("invocation %d: %v", i+1, err)
				}
				reqs := e.aws.Requests()
				mine := lookUps(reqs[seen:])
				seen = len(reqs)
				if len(tc.wantKeys) == 0 {
					if len(mine) > 0 {
						t.Errorf("invocation %d: %d look-ups without the member's credentials (first %s signed by %s)", i+1, len(mine), mine[0].Operation(), keyOf(mine[0]))
					}
					continue
				}
				if len(mine) == 0 {
					t.Fatalf("invocation %d: no look-ups", i+1)
				}
				for _, r := range mine {
					if k := keyOf(r); k != tc.wantKeys[i] {
						t.Errorf("invocation %d: %s signed by %q, want the role's %q", i+1, r.Operation(), k, tc.wantKeys[i])
					}
					if r.Header.Get("X-Amz-Security-Token") == "" {
						t.Errorf("invocation %d: %s carries no session token", i+1, r.Operation())
					}
				}
			}
			reqs := e.aws.Requests()
			if n := count(reqs, "AssumeRole"); n != tc.wantAssumes {
				t.Errorf("%d AssumeRole requests, want %d", n, tc.wantAssumes)
			}
			for _, r := range reqs {
				switch op := r.Operation(); {
				case op == "AssumeRole":
					form, _ := url.ParseQuery(string(r.Body))
					if arn := form.Get("RoleArn"); arn != "arn:aws:iam::444455556666:role/TrailwatchLookup" {
						t.Errorf("AssumeRole of %s", arn)
					}
					if keyOf(r) != homeKey {
						t.Errorf("AssumeRole signed by %s, want the function's own key", keyOf(r))
					}
				case strings.HasPrefix(op, "AWSOrganizations"), op == "Publish", strings.HasPrefix(op, "secretsmanager."):
					if keyOf(r) != homeKey {
						t.Errorf("%s signed by %s, want the function's own key", op, keyOf(r))
					}
				}
			}
			if got := count(reqs, "AWSOrganizationsV20161128.DescribeAccount"); got != 1 {
				t.Errorf("%d DescribeAccount requests, want 1 (cached across alerts)", got)
			}
			if len(e.slack.payloads) != tc.invocations {
				t.Fatalf("Slack got %d messages, want %d", len(e.slack.payloads), tc.invocations)
			}
			slack := string(e.slack.payloads[len(e.slack.payloads)-1])
			for _, want := range tc.wantSlack {
				if !strings.Contains(slack, want) {
					t.Errorf("Slack message lacks %q:\n%s", want, slack)
				}
			}
		})
	}
}

// TestRoutedByOU: a route for the Production OU takes the member's alert
// to its own topic, the OU path read from Organizations.
func TestRoutedByOU(t *testing.T) {
	const prodTopic = "arn:aws:sns:eu-west-1:111122223333:trailwatch-route-prod"
	e := setUpEnv(t, faults{
		org:    []awstest.Response{assumed(t, "ASIAMEMBERROUTED01", time.Hour)},
		routes: route.Table{{Name: "prod", OUs: []string{"ou-ab12-11111111"}, TopicARN: prodTopic}},
	})
	in := memberInput(t, "s3-bucket-public-access-block-disabled", "s3/put-bucket-public-access-block-sso-policy-off.json")
	if _, err := e.h.Invoke(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	pubs := e.publishes()
	if len(pubs) != 1 || !strings.Contains(pubs[0], "TopicArn="+url.QueryEscape(prodTopic)) {
		t.Errorf("publishes %q, want one to the prod route's topic", pubs)
	}
	if n := e.slack.posts(); n != 0 {
		t.Errorf("%d posts to the default Slack channel; the route has channels of its own", n)
	}
}
