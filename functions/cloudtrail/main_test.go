package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/dynalite"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/route"
	"github.com/trailwatch/trailwatch/internal/wire"
)

// slackReply is one answer of the local Slack webhook.
type slackReply struct {
	status     int
	body       string
	retryAfter string
}

// slackServer is a local Slack incoming webhook answering with replies in
// order; the last repeats.
type slackServer struct {
	*httptest.Server
	mu       sync.Mutex
	payloads [][]byte
	replies  []slackReply
}

func newSlack(t *testing.T, replies ...slackReply) *slackServer {
	if len(replies) == 0 {
		replies = []slackReply{{status: http.StatusOK, body: "ok"}}
	}
	s := &slackServer{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.payloads = append(s.payloads, b)
		reply := s.replies[min(len(s.payloads), len(s.replies))-1]
		s.mu.Unlock()
		if reply.retryAfter != "" {
			w.Header().Set("Retry-After", reply.retryAfter)
		}
		w.WriteHeader(reply.status)
		_, _ = io.WriteString(w, reply.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *slackServer) posts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.payloads)
}

const (
	secretName = "trailwatch/slack-webhook"
	topicARN   = "arn:aws:sns:eu-west-1:111122223333:trailwatch-alerts"
	// webhookToken is the last part of the webhook's path, found however
	// the path is quoted or escaped.
	webhookToken = "s3cr3tTokenNeverLogged"
	// webhookPath is the secret part of the webhook URL.
	webhookPath = "/services/T0TEST/B0TEST/" + webhookToken
)

type env struct {
	aws   *awstest.Server
	slack *slackServer
	logs  *bytes.Buffer
	h     lambda.Handler
}

// faults are what the local services answer; zero values answer as AWS
// and Slack do when all is well.
type faults struct {
	slack  []slackReply
	secret awstest.Response
	sns    []awstest.Response
	// slackDown closes the local Slack before the invocation, so every
	// post fails to connect (net/http's error then quotes the URL).
	slackDown bool
	// webhook replaces the URL the secret holds; its path keeps the
	// secret token.
	webhook string
	// table, when set, is the state table (on dynalite); dynamo, when
	// set, answers every DynamoDB call of the table "trailwatch-state"
	// instead.
	table  string
	dynamo []awstest.Response
	// org, when set, runs in organization mode: STS answers AssumeRole
	// with these, Organizations places every account in Root / Production.
	org []awstest.Response
	// routes are organization mode's routes.
	routes route.Table
}

// setUpEnv starts local AWS and Slack and builds the handler with main's
// own wiring (setUp), pointed at them.
func setUpEnv(t *testing.T, f faults) *env {
	t.Helper()
	e := &env{aws: awstest.NewServer(t), slack: newSlack(t, f.slack...), logs: &bytes.Buffer{}}
	secret := f.secret
	if secret.Body == "" {
		webhook := e.slack.URL + webhookPath
		if f.webhook != "" {
			webhook = f.webhook
		}
		secret.Body = strings.Replace(awstest.Recorded(t, "deliver", "secretsmanager-get-secret-value-local.json"), "__WEBHOOK_URL__", webhook, 1)
	}
	publish := f.sns
	if len(publish) == 0 {
		publish = []awstest.Response{{Body: awstest.Recorded(t, "deliver", "sns-publish.xml")}}
	}
	a := e.aws
	a.Handle(awstest.Target("secretsmanager.GetSecretValue"), secret)
	a.Handle(awstest.Action("Publish"), publish...)
	a.Handle(awstest.Action("ListAccountAliases"), awstest.Response{Body: awstest.Recorded(t, "awslookup", "iam-list-account-aliases.xml")})
	a.Handle(awstest.REST("GET", "/", "policyStatus"), awstest.Response{Body: awstest.Recorded(t, "s3lookup", "s3-policy-status-public.xml")})
	a.Handle(awstest.REST("GET", "/", "acl"), awstest.Response{Body: awstest.Recorded(t, "s3lookup", "s3-acl-private.xml")})
	a.Handle(awstest.REST("GET", "/v20180820/configuration/publicAccessBlock", ""), awstest.Response{Body: awstest.Recorded(t, "s3lookup", "s3control-public-access-block-off.xml")})
	a.Handle(awstest.REST("GET", "/", "publicAccessBlock"), awstest.Response{Body: awstest.Recorded(t, "s3lookup", "s3-public-access-block-off.xml")})
	a.Handle(func(r awstest.Request) bool {
		return r.Header.Get("X-Amz-Target") == "CloudTrail_20131101.LookupEvents" && bytes.Contains(r.Body, []byte("PutBucketPublicAccessBlock"))
	}, awstest.Response{Body: awstest.Recorded(t, "awslookup", "cloudtrail-lookup-put-bucket.json")})
	a.Handle(awstest.Target("CloudTrail_20131101.LookupEvents"), awstest.Response{Body: awstest.Recorded(t, "awslookup", "cloudtrail-lookup-empty.json")})

	var orgID, lookupRole string
	if f.org != nil {
		orgID, lookupRole = "o-a1b2c3d4e5", config.LookupRoleName
		handleOrganization(t, a, f.org)
	}
	table := f.table
	switch {
	case len(f.dynamo) > 0:
		table = "trailwatch-state"
		a.Handle(awstest.TargetPrefix("DynamoDB_20120810."), f.dynamo...)
	case table != "":
		a.Proxy(awstest.TargetPrefix("DynamoDB_20120810."), dynalite.URL(t))
	}
	getenv := func(k string) string {
		env, err := config.Runtime{SlackSecretName: secretName, TopicARN: topicARN, StateTable: table, OrganizationID: orgID, LookupRole: lookupRole, Routes: f.routes}.Env()
		if err != nil {
			t.Fatal(err)
		}
		return env[k]
	}
	load := func(context.Context) (aws.Config, error) {
		return a.Config("eu-west-1"), nil
	}
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	h, err := setUp(context.Background(), getenv, load, log)
	if err != nil {
		t.Fatal(err)
	}
	e.h = lambda.NewHandler(h)
	if f.slackDown {
		e.slack.Close()
	}
	return e
}

// ruleInput is what the rule of detection id sends for a fixture.
func ruleInput(t testing.TB, id, name string) []byte {
	t.Helper()
	return ruleInputOf(t, id, fixture.Read(t, name))
}

// ruleInputOf is what the rule of detection id sends for the event raw.
func ruleInputOf(t testing.TB, id string, raw []byte) []byte {
	t.Helper()
	b, err := event.ApplyRuleInputTemplate(event.RuleInputTemplate(id), raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) publishes() []string {
	var out []string
	for _, r := range e.aws.Requests() {
		if strings.Contains(string(r.Body), "Action=Publish") {
			out = append(out, string(r.Body))
		}
	}
	return out
}

// TestCanonicalScenario: Block Public Access is turned off by an SSO user;
// Slack and email say who, from where, on which bucket, what changed
// (previous values from event history) and that the bucket is public now.
func TestCanonicalScenario(t *testing.T) {
	e := setUpEnv(t, faults{})
	if _, err := e.h.Invoke(context.Background(), ruleInput(t, "s3-bucket-public-access-block-disabled", "s3/put-bucket-public-access-block-sso-policy-off.json")); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if len(e.slack.payloads) != 1 {
		t.Fatalf("Slack got %d messages, want 1", len(e.slack.payloads))
	}
	slack := string(e.slack.payloads[0])
	for _, want := range []string{
		"acme-prod-customer-exports", "maria.garcia@example.com", "IAM Identity Center user", "permission set AdministratorAccess",
		"198.51.100.23", "eu-west-1", "PutBucketPublicAccessBlock", "acme-prod", // alias from IAM
		"BlockPublicPolicy: true -&gt; false", "Public right now? YES", "CRITICAL",
	} {
		if !strings.Contains(slack, want) {
			t.Errorf("Slack message lacks %q:\n%s", want, slack)
		}
	}
	pubs := e.publishes()
	if len(pubs) != 1 {
		t.Fatalf("SNS got %d publishes, want 1", len(pubs))
	}
	for _, want := range []string{"Subject=%5Btrailwatch%5D+CRITICAL", "TopicArn=" + strings.ReplaceAll(topicARN, ":", "%3A"), "acme-prod-customer-exports"} {
		if !strings.Contains(pubs[0], want) {
			t.Errorf("SNS publish lacks %q:\n%s", want, pubs[0])
		}
	}
	if strings.Contains(e.logs.String(), webhookPath) {
		t.Error("the webhook URL reached the logs")
	}
}

// TestFaults injects faults into every delivery dependency: each ends
// delivered after a retry, or in an error that makes Lambda retry and then
// keep the event in the dead-letter queue; never in a silent success. The
// other channel is delivered either way, and no error or log line carries
// the webhook URL.
func TestFaults(t *testing.T) {
	ok := slackReply{status: http.StatusOK, body: "ok"}
	for _, tc := range []struct {
		name       string
		faults     faults
		wantErr    string
		slackPosts int
		publishes  int
	}{
		{name: "slack 429 then accepted", faults: faults{slack: []slackReply{{status: 429, body: "rate_limited", retryAfter: "1"}, ok}}, slackPosts: 2, publishes: 1},
		{name: "slack 500 then accepted", faults: faults{slack: []slackReply{{status: 500, body: "internal_error"}, ok}}, slackPosts: 2, publishes: 1},
		{name: "slack 500 always", faults: faults{slack: []slackReply{{status: 500, body: "internal_error"}}}, wantErr: "slack", slackPosts: 3, publishes: 1},
		{name: "slack channel deleted (404)", faults: faults{slack: []slackReply{{status: 404, body: "channel_not_found"}}}, wantErr: "channel_not_found", slackPosts: 1, publishes: 1},
		{name: "slack archived channel (410)", faults: faults{slack: []slackReply{{status: 410, body: "channel_is_archived"}}}, wantErr: "channel_is_archived", slackPosts: 1, publishes: 1},
		{name: "slack unreachable", faults: faults{slackDown: true}, wantErr: "connection refused", publishes: 1},
		{name: "slack echoes the URL in its answer", faults: faults{slack: []slackReply{{status: 400, body: "invalid_payload posting to " + webhookPath}}}, wantErr: "invalid_payload", slackPosts: 1, publishes: 1},
		{name: "secret holds a plain-http URL", faults: faults{webhook: "http://hooks.slack.com" + webhookPath}, wantErr: "plain http", publishes: 1},
		{name: "secret holds a URL with credentials", faults: faults{webhook: "https://user:" + webhookToken + "@hooks.slack.com" + webhookPath}, wantErr: "user information", publishes: 1},
		{name: "slack 429 longer than we wait", faults: faults{slack: []slackReply{{status: 429, body: "rate_limited", retryAfter: "3600"}}}, wantErr: "rate limited", slackPosts: 1, publishes: 1},
		{name: "secret access denied", faults: faults{secret: awstest.Response{Status: 400, Body: awstest.Recorded(t, "deliver", "secretsmanager-access-denied.json")}}, wantErr: "AccessDenied", publishes: 1},
		{name: "secret not found", faults: faults{secret: awstest.Response{Status: 400, Body: awstest.Recorded(t, "deliver", "secretsmanager-resource-not-found.json")}}, wantErr: "ResourceNotFound", publishes: 1},
		{name: "sns authorization error", faults: faults{sns: []awstest.Response{{Status: 403, Body: awstest.Recorded(t, "deliver", "sns-authorization-error.xml")}}}, wantErr: "email", slackPosts: 1, publishes: 1},
		{name: "sns throttled then accepted", faults: faults{sns: []awstest.Response{{Status: 429, Body: awstest.Recorded(t, "deliver", "sns-throttled.xml")}, {Body: awstest.Recorded(t, "deliver", "sns-publish.xml")}}}, slackPosts: 1, publishes: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setUpEnv(t, tc.faults)
			_, err := e.h.Invoke(context.Background(), ruleInput(t, "s3-bucket-policy-public", "s3/put-bucket-policy-public-read.json"))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Invoke: %v; want delivered after retry", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Invoke error = %v, want one mentioning %q so Lambda retries and the DLQ keeps the event", err, tc.wantErr)
			}
			if got := e.slack.posts(); got != tc.slackPosts {
				t.Errorf("Slack got %d posts, want %d", got, tc.slackPosts)
			}
			if got := len(e.publishes()); got != tc.publishes {
				t.Errorf("SNS got %d publishes, want %d", got, tc.publishes)
			}
			if err != nil && strings.Contains(err.Error(), webhookToken) {
				t.Errorf("the webhook URL reached the error Lambda logs: %v", err)
			}
			if strings.Contains(e.logs.String(), webhookToken) {
				t.Errorf("the webhook URL reached the function's logs:\n%s", e.logs.String())
			}
			if tc.wantErr != "" && !strings.Contains(e.logs.String(), `"msg":"delivery failed"`) {
				t.Errorf("the failed delivery was not logged, so the redaction of its log line went untested:\n%s", e.logs.String())
			}
		})
	}
}

func TestBadInputIsSkippedWithoutCalls(t *testing.T) {
	e := setUpEnv(t, faults{})
	for _, in := range []string{`{"detail-type":`, `{"version":"0","id":"x","detail-type":"Unknown","source":"aws.x","detail":{}}`, `null`} {
		if _, err := e.h.Invoke(context.Background(), []byte(in)); err != nil {
			t.Errorf("Invoke(%s) = %v; bad input must be logged and skipped", in, err)
		}
	}
	if len(e.slack.payloads) != 0 || len(e.aws.Requests()) != 0 {
		t.Errorf("bad input caused %d Slack posts and %d AWS calls", len(e.slack.payloads), len(e.aws.Requests()))
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(e.logs.String(), "\n", 2)[0]), &entry); err != nil || entry["msg"] == nil {
		t.Errorf("skips must be logged as JSON lines; got %q", e.logs.String())
	}
}

func TestSetUpRefusesMissingConfiguration(t *testing.T) {
	_, err := setUp(context.Background(), func(string) string { return "" }, wire.Lambda, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "no channel configured") {
		t.Fatalf("setUp() error = %v, want a clear configuration error", err)
	}
}
