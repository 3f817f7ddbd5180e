package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/deliver"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture/hostile"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/render/rendertest"
)

// hostileWebhookPath is the secret part of the local webhook's URL.
const hostileWebhookPath = "/services/T0HOSTILE/B0HOSTILE/hostileSecretToken"

// TestHostileInput feeds every broken and attacker-crafted input of
// internal/fixture/hostile to the handler through aws-lambda-go's own
// invocation path, wrapped in the input of the rule that would deliver it,
// with real Slack and SNS delivery code posting to a local Slack and a
// local SNS. Bad input is logged as such and skipped without a call;
// alerts reach both channels once, and the bytes that arrive keep every
// invariant of internal/render/rendertest.
func TestHostileInput(t *testing.T) {
	catalog, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range hostile.Cases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			var (
				mu    sync.Mutex
				posts [][]byte
			)
			slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				posts = append(posts, b)
				mu.Unlock()
				_, _ = io.WriteString(w, "ok")
			}))
			defer slack.Close()
			aws := awstest.NewServer(t)
			aws.Handle(awstest.Action("Publish"), awstest.Response{Body: awstest.Recorded(t, "deliver", "sns-publish.xml")})

			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			p := &pipeline.Pipeline{
				Catalog:  catalog,
				Enricher: &enrich.Enricher{Offline: "hostile-input test"},
				Channels: []pipeline.Channel{
					pipeline.Slack{Poster: &deliver.Slack{Webhook: deliver.StaticWebhook(slack.URL + hostileWebhookPath)}},
					pipeline.Email{Publisher: &deliver.SNS{Client: sns.NewFromConfig(aws.Config("eu-west-1")), TopicARN: "arn:aws:sns:eu-west-1:111122223333:trailwatch-alerts"}},
				},
				Log: log,
			}
			payload, err := event.ApplyRuleInputTemplate(event.RuleInputTemplate(tc.Detection), tc.Event)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lambda.NewHandler(&pipeline.Handler{Pipeline: p, Log: log}).Invoke(context.Background(), payload); err != nil {
				t.Fatalf("Invoke: %v; only a failed delivery may fail an invocation", err)
			}

			var publishes []url.Values
			for _, r := range aws.Requests() {
				form, err := url.ParseQuery(string(r.Body))
				if err != nil {
					t.Fatalf("SNS request body: %v", err)
				}
				publishes = append(publishes, form)
			}
			entries := logEntries(t, logs.Bytes())
			want := map[hostile.Outcome]string{
				hostile.BadInput:    "skipped undecodable input",
				hostile.Unsupported: "skipped event of an unsupported type",
				hostile.NoAlert:     "no detection fired",
				hostile.Alert:       "alert",
			}[tc.Want]
			if !hasMessage(entries, want) {
				t.Errorf("no %q log line for %s; logs:\n%s", want, tc.Want, short(logs.String()))
			}
			if tc.Want == hostile.BadInput {
				reason := reasonOf(entries, want)
				if !strings.HasPrefix(reason, "malformed event") && !strings.HasPrefix(reason, "event too large") {
					t.Errorf("skip reason %q is not classified as malformed or too large", reason)
				}
			}
			wantSends := 0
			if tc.Want == hostile.Alert {
				wantSends = 1
			}
			if len(posts) != wantSends || len(publishes) != wantSends {
				t.Fatalf("%d Slack posts and %d SNS publishes, want %d each (%s)", len(posts), len(publishes), wantSends, tc.Want)
			}
			for _, b := range posts {
				for _, p := range rendertest.SlackProblems(b) {
					t.Error("Slack: " + p)
				}
				if tc.Shown != "" && !bytes.Contains(b, []byte(tc.Shown)) {
					t.Errorf("the Slack message does not show the hostile field (%s):\n%s", tc.Shown, short(string(b)))
				}
			}
			for _, form := range publishes {
				subject, body := form.Get("Subject"), form.Get("Message")
				for _, p := range rendertest.EmailProblems(subject, body) {
					t.Error("email: " + p)
				}
				if tc.Shown != "" && !strings.Contains(body, tc.Shown) {
					t.Errorf("the email does not show the hostile field (%s):\n%s", tc.Shown, short(body))
				}
			}
			if strings.Contains(logs.String(), hostileWebhookPath) {
				t.Error("the webhook URL reached the logs")
			}
		})
	}
}

// logEntries parses JSON log lines and checks each stays small: bad input
// is logged by what identifies it, never dumped.
func logEntries(t *testing.T, logs []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 4096 {
			t.Errorf("log line of %d bytes: %s", len(sc.Bytes()), short(sc.Text()))
		}
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Errorf("log line is not JSON: %v: %s", err, short(sc.Text()))
			continue
		}
		out = append(out, e)
	}
	return out
}

func hasMessage(entries []map[string]any, msg string) bool {
	for _, e := range entries {
		if e["msg"] == msg {
			return true
		}
	}
	return false
}

func reasonOf(entries []map[string]any, msg string) string {
	for _, e := range entries {
		if e["msg"] == msg {
			s, _ := e["reason"].(string)
			return s
		}
	}
	return ""
}

func short(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}
