package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/awstest"
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
			srv := awstest.NewServer(t)
			srv.Handle(awstest.Action("Publish"), awstest.Response{Body: awstest.Recorded(t, "deliver", "sns-publish.xml")})
			load := func(_ context.Context, region string) (aws.Config, error) { return srv.Config(region), nil }

			file := filepath.Join(t.TempDir(), "hostile.json")
			if err := os.WriteFile(file, tc.Event, 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, load, "replay", "--offline", "--slack-webhook", slack.URL+"/services/T/B/hostile",
				"--sns-topic-arn", "arn:aws:sns:eu-west-1:111122223333:alerts", file)

			wantCode, wantSends := exitOK, 0
			switch tc.Want {
			case hostile.BadInput:
				wantCode = exitUnreadable
			case hostile.Alert:
				wantSends = 1
			}
			if code != wantCode {
				t.Fatalf("exit %d, want %d (%s); stderr:\n%s", code, wantCode, tc.Want, short(errOut))
			}
			if tc.Want == hostile.BadInput && !strings.Contains(errOut, "hostile.json") {
				t.Errorf("stderr does not name the unreadable file:\n%s", short(errOut))
			}
			var publishes []url.Values
			for _, r := range srv.Requests() {
				form, err := url.ParseQuery(string(r.Body))
				if err != nil {
					t.Fatal(err)
				}
				publishes = append(publishes, form)
			}
			if len(posts) != wantSends || len(publishes) != wantSends {
				t.Fatalf("%d Slack posts and %d SNS publishes, want %d each (%s)", len(posts), len(publishes), wantSends, tc.Want)
			}
			for _, b := range posts {
				for _, p := range rendertest.SlackProblems(b) {
					t.Error("Slack: " + p)
				}
				if tc.Shown != "" && !strings.Contains(string(b), tc.Shown) {
					t.Errorf("the Slack message does not show the hostile field:\n%s", short(string(b)))
				}
			}
			for _, form := range publishes {
				for _, p := range rendertest.EmailProblems(form.Get("Subject"), form.Get("Message")) {
					t.Error("email: " + p)
				}
			}
			if tc.Want == hostile.Alert && !strings.Contains(out, "[trailwatch] ") {
				t.Errorf("stdout does not show the alert:\n%s", short(out))
			}
		})
	}
}

func short(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}
