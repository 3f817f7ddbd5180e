package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/dynalite"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/state"
)

// beat is a member's heartbeat as the central rule delivers it.
func beat(account, region string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"hb-%s-%s-%d","detail-type":"Scheduled Event","source":"aws.events","account":%q,"time":%q,"region":%q,"resources":["arn:aws:events:%s:%s:rule/TrailwatchMember-heartbeat"],"detail":{}}`,
		account, region, at.Unix(), account, at.UTC().Format(time.RFC3339), region, region, account)
}

// TestHeartbeatCheck runs the digest function in organization mode through
// its real clients: Organizations answers with recorded responses,
// DynamoDB is dynalite, Slack a local server and SNS recorded answers.
// Heartbeats arrive, the hourly check alerts each silent account and
// region once per channel however often it runs, skips the home and
// management accounts and the suspended one, and alerts again a pair that
// recovered and went silent later.
func TestHeartbeatCheck(t *testing.T) {
	ctx := context.Background()
	ddb := dynalite.Client(t)
	table := dynalite.Table(t, ddb)

	var mu sync.Mutex
	var posts []string
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(b))
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	defer slack.Close()
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Target("secretsmanager.GetSecretValue"), awstest.Response{Body: strings.Replace(
		awstest.Recorded(t, "deliver", "secretsmanager-get-secret-value-local.json"), "__WEBHOOK_URL__", slack.URL+"/services/T/B/x", 1)})
	srv.Handle(awstest.Action("Publish"), awstest.Response{Body: awstest.Recorded(t, "deliver", "sns-publish.xml")})
	srv.Proxy(awstest.TargetPrefix("DynamoDB_20120810."), dynalite.URL(t))
	rec := func(name string) awstest.Response {
		return awstest.Response{Body: awstest.Recorded(t, "heartbeat", name)}
	}
	srv.HandleRead(awstest.Target("AWSOrganizationsV20161128.DescribeOrganization"), rec("organizations-describe-organization.json"))
	parent := func(op, id string) awstest.Matcher {
		return func(r awstest.Request) bool {
			return r.Header.Get("X-Amz-Target") == "AWSOrganizationsV20161128."+op && bytes.Contains(r.Body, []byte(`"ParentId":"`+id+`"`))
		}
	}
	// The root: management, security (home) and a suspended account, and
	// the Payments OU with a new sandbox account and payments-prod; a
	// second target OU lists web-prod.
	srv.HandleRead(parent("ListAccountsForParent", "r-ab12"), rec("organizations-list-accounts-root.json"))
	srv.HandleRead(parent("ListOrganizationalUnitsForParent", "r-ab12"), awstest.Response{Body: `{"OrganizationalUnits":[{"Id":"ou-ab12-22222222","Name":"Payments"}]}`})
	srv.HandleRead(parent("ListAccountsForParent", "ou-ab12-22222222"), rec("organizations-list-accounts-payments.json"))
	srv.HandleRead(parent("ListOrganizationalUnitsForParent", "ou-ab12-22222222"), rec("organizations-list-ous-empty.json"))
	srv.HandleRead(parent("ListAccountsForParent", "ou-ab12-33333333"), awstest.Response{Body: `{"Accounts":[{"Id":"555566667777","Name":"web-prod","JoinedTimestamp":1.7040672E9,"State":"ACTIVE"}]}`})
	srv.HandleRead(parent("ListOrganizationalUnitsForParent", "ou-ab12-33333333"), rec("organizations-list-ous-empty.json"))

	env, err := config.Runtime{SlackSecretName: "trailwatch/slack-webhook", TopicARN: "arn:aws:sns:eu-west-1:111122223333:alerts", StateTable: table,
		OrganizationID: "o-a1b2c3d4e5"}.Env()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range (heartbeat.Config{Targets: []string{"r-ab12", "ou-ab12-33333333"}, Regions: []string{"eu-west-1", "us-east-1"}, Period: time.Hour, HomeAccount: "111122223333"}).Env() {
		env[k] = v
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	load := func(context.Context) (aws.Config, error) { return srv.Config("eu-west-1"), nil }
	built, err := setUp(ctx, func(k string) string { return env[k] }, load, log)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := built.(*heartbeat.Handler)
	if !ok {
		t.Fatalf("organization mode: setUp built %T, want the heartbeat handler", built)
	}
	// The same handler, on a clock the test moves.
	var now time.Time
	clock := func() time.Time { return now }
	cfg, _ := load(ctx)
	hc, _, err := heartbeat.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	h = heartbeatHandler(h.Digests.(*pipeline.Digests), hc, state.Dynamo{Client: dynamodb.NewFromConfig(cfg), Table: table, Now: clock},
		organizations.NewFromConfig(cfg), log)
	h.Check.Now = clock
	fn := lambda.NewHandler(h)
	at := func(hhmm string) time.Time {
		t, err := time.Parse("2006-01-02 15:04", "2026-11-30 "+hhmm)
		if err != nil {
			panic(err)
		}
		return t
	}
	invoke := func(payload []byte) {
		t.Helper()
		if _, err := fn.Invoke(ctx, payload); err != nil {
			t.Fatalf("invoke %s: %v\n%s", payload, err, logs.String())
		}
	}
	check := func(hhmm string, wantNew int) {
		t.Helper()
		now = at(hhmm)
		mu.Lock()
		before := len(posts)
		mu.Unlock()
		invoke([]byte(heartbeat.CheckInput))
		mu.Lock()
		got := len(posts) - before
		mu.Unlock()
		if got != wantNew {
			t.Fatalf("check at %s: %d new Slack alerts, want %d\n%s", hhmm, got, wantNew, logs.String())
		}
	}
	beats := func(hhmm string, pairs ...string) {
		t.Helper()
		now = at(hhmm)
		for _, p := range pairs {
			account, region, _ := strings.Cut(p, "/")
			invoke(beat(account, region, now))
		}
	}

	check("09:05", 0) // first check: every pair expected from now on
	beats("10:00", "444455556666/eu-west-1", "444455556666/us-east-1", "555566667777/eu-west-1",
		"123456789012/eu-west-1") // an account outside the targets: recorded, never expected
	// A heartbeat whose rule is another account's is no heartbeat.
	invoke([]byte(`{"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","account":"777788889999","time":"2026-11-30T10:30:00Z","region":"eu-west-1","resources":["arn:aws:events:eu-west-1:444455556666:rule/TrailwatchMember-heartbeat"],"detail":{}}`))
	beats("11:00", "444455556666/eu-west-1", "444455556666/us-east-1", "555566667777/us-east-1")
	// 555566667777 in eu-west-1 last beat at 10:00; 777788889999 (joined
	// 08:50) never did in either region.
	check("12:05", 3)
	check("12:35", 0)
	beats("13:00", "444455556666/eu-west-1", "444455556666/us-east-1", "555566667777/eu-west-1", "555566667777/us-east-1", "777788889999/eu-west-1")
	check("13:05", 0)
	// Everything stopped after 13:00: five new silences; 777788889999 in
	// us-east-1 was alerted already.
	check("15:10", 5)

	publishes := 0
	for _, r := range srv.Requests() {
		if bytes.Contains(r.Body, []byte("Action=Publish")) {
			publishes++
		}
	}
	if publishes != 8 {
		t.Errorf("%d emails, want 8 (one per silence)", publishes)
	}
	joined := strings.Join(posts, "\n")
	for _, want := range []string{"555566667777", "777788889999", "never sent a heartbeat", "trailwatch-member-silent"} {
		if !strings.Contains(joined, want) {
			t.Errorf("alerts lack %q", want)
		}
	}
	for _, never := range []string{"111122223333", "999988887777", "222233334444", "123456789012"} {
		if strings.Contains(joined, "account "+never) {
			t.Errorf("an alert names %s, which has no member stack or is not a target", never)
		}
	}
	// The digest schedule still sends digests (none are due).
	invoke([]byte(scheduled))
}
