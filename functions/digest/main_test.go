package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/dynalite"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/internal/wire"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynalite.Stop()
	os.Exit(code)
}

// scheduled is what an EventBridge schedule sends the function.
const scheduled = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Scheduled Event","source":"aws.events",
"account":"111122223333","time":"2026-11-20T09:10:00Z","region":"eu-west-1","resources":["arn:aws:events:eu-west-1:111122223333:rule/Trailwatch-DigestSchedule"],"detail":{}}`

// TestDigestFunction: a storm window with repeats, recorded in a real
// DynamoDB-compatible table, becomes one Slack message and one email when
// the schedule fires after the window closed, and only once.
func TestDigestFunction(t *testing.T) {
	ctx := context.Background()
	ddb := dynalite.Client(t)
	table := dynalite.Table(t, ddb)
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	store := &state.Dynamo{Client: ddb, Table: table, Now: func() time.Time { return start }}
	w := state.WindowOf("security-group-changed", "low", "arn:aws:sts::111122223333:assumed-role/terraform-apply/ci", start, 5*time.Minute)
	for _, id := range []string{"e1", "e2", "e3", "e4"} {
		if _, err := store.Record(ctx, w, state.Occurrence{EventID: id, Time: "2026-11-20T09:01:0" + id[1:] + "Z", Resource: "sg-0" + id, Headline: "Rule added to security group sg-0" + id}, "111122223333", "eu-west-1"); err != nil {
			t.Fatal(err)
		}
	}

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

	env, err := config.Runtime{SlackSecretName: "trailwatch/slack-webhook", TopicARN: "arn:aws:sns:eu-west-1:111122223333:alerts", StateTable: table}.Env()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	d, err := setUp(ctx, func(k string) string { return env[k] },
		func(context.Context) (aws.Config, error) {
			return srv.Config("eu-west-1"), nil
		},
		slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := lambda.NewHandler(d)
	for run := 1; run <= 2; run++ {
		if _, err := h.Invoke(ctx, []byte(scheduled)); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	publishes := 0
	for _, r := range srv.Requests() {
		if bytes.Contains(r.Body, []byte("Action=Publish")) {
			publishes++
			if !bytes.Contains(r.Body, []byte("digest")) {
				t.Errorf("publish is not a digest: %s", r.Body)
			}
		}
	}
	if len(posts) != 1 || publishes != 1 {
		t.Fatalf("Slack posts %d, publishes %d over two runs; want one digest each", len(posts), publishes)
	}
	for _, want := range []string{"Security group changed, 3 more times", "terraform-apply", "sg-0e2"} {
		if !strings.Contains(posts[0], want) {
			t.Errorf("digest lacks %q:\n%s", want, posts[0])
		}
	}
}

func TestSetUpNeedsTheStateTable(t *testing.T) {
	_, err := setUp(context.Background(), func(k string) string {
		if k == config.EnvTopicARN {
			return "arn:aws:sns:eu-west-1:111122223333:alerts"
		}
		return ""
	}, wire.Lambda, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), config.EnvStateTable) {
		t.Fatalf("setUp without a table: %v", err)
	}
}
