package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/fixture/hostile"
	"github.com/trailwatch/trailwatch/internal/render/rendertest"
)

// TestReplayHostileInput replays every broken and attacker-crafted input of
// internal/fixture/hostile, one file per run, delivering to a local Slack
// and a local SNS: bad input is named on stderr as unreadable (exit 3),
// nothing is sent for what raises no alert, and what arrives for an alert
// keeps every invariant of internal/render/rendertest.
func TestReplayHostileInput(t *testing.T) {
	for _, tc := range hostile.Cases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			sink := hostile.NewSink(t)
			load := func(_ context.Context, region string) (aws.Config, error) { return sink.AWS.Config(region), nil }
			file := filepath.Join(t.TempDir(), "hostile.json")
			if err := os.WriteFile(file, tc.Event, 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, load, "replay", "--offline", "--slack-webhook", sink.SlackURL("/services/T/B/hostile"),
				"--sns-topic-arn", "arn:aws:sns:eu-west-1:111122223333:alerts", file)

			wantCode := exitOK
			if tc.Want == hostile.BadInput {
				wantCode = exitUnreadable
			}
			if code != wantCode {
				t.Fatalf("exit %d, want %d (%s); stderr:\n%s", code, wantCode, tc.Want, rendertest.Short(errOut))
			}
			if tc.Want == hostile.BadInput && !strings.Contains(errOut, "hostile.json") {
				t.Errorf("stderr does not name the unreadable file:\n%s", rendertest.Short(errOut))
			}
			sink.Check(t, tc)
			if tc.Want == hostile.Alert && !strings.Contains(out, "[trailwatch] ") {
				t.Errorf("stdout does not show the alert:\n%s", rendertest.Short(out))
			}
		})
	}
}
