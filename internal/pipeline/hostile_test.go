package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"

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
// with the real Slack and SNS delivery code posting to a local Slack and a
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
			sink := hostile.NewSink(t)
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			p := &pipeline.Pipeline{
				Catalog:  catalog,
				Enricher: &enrich.Enricher{Offline: "hostile-input test"},
				Channels: []pipeline.Channel{
					pipeline.Slack{Poster: &deliver.Slack{Webhook: deliver.StaticWebhook(sink.SlackURL(hostileWebhookPath))}},
					pipeline.Email{Publisher: &deliver.SNS{Client: sns.NewFromConfig(sink.AWS.Config("eu-west-1")), TopicARN: "arn:aws:sns:eu-west-1:111122223333:trailwatch-alerts"}},
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

			entries := logEntries(t, logs.Bytes())
			want := map[hostile.Outcome]string{
				hostile.BadInput:    "skipped undecodable input",
				hostile.Unsupported: "skipped event of an unsupported type",
				hostile.NoAlert:     "no detection fired",
				hostile.Alert:       "alert",
			}[tc.Want]
			entry := find(entries, want)
			if entry == nil && tc.Want == hostile.NoAlert {
				// A write of an unknown name is still a step of
				// regions-burst: counted, and no alert either.
				entry = find(entries, "counted towards a threshold")
			}
			if entry == nil {
				t.Errorf("no %q log line for %s; logs:\n%s", want, tc.Want, rendertest.Short(logs.String()))
			}
			if reason, _ := entry["reason"].(string); tc.Want == hostile.BadInput &&
				!strings.HasPrefix(reason, "malformed event") && !strings.HasPrefix(reason, "event too large") {
				t.Errorf("skip reason %q is not classified as malformed or too large", reason)
			}
			sink.Check(t, tc)
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
			t.Errorf("log line of %d bytes: %s", len(sc.Bytes()), rendertest.Short(sc.Text()))
		}
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Errorf("log line is not JSON: %v: %s", err, rendertest.Short(sc.Text()))
			continue
		}
		out = append(out, e)
	}
	return out
}

// find returns the first entry with message msg, or nil.
func find(entries []map[string]any, msg string) map[string]any {
	for _, e := range entries {
		if e["msg"] == msg {
			return e
		}
	}
	return nil
}
