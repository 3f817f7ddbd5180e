package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/state"
)

// secretRead is a read of secret by session at when.
func secretRead(t *testing.T, session, secret string, i int, when time.Time) *event.Event {
	t.Helper()
	raw := fixture.Read(t, "secretsmanager/secrets-harvested-get-secret-value.json")
	raw = bytes.ReplaceAll(raw, []byte("i-0f1e2d3c4b5a69788"), []byte(session))
	raw = bytes.ReplaceAll(raw, []byte("prod/payments/stripe-api-key"), []byte(secret))
	ev, err := event.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	ev.CloudTrail.EventID = fmt.Sprintf("read-%s-%03d", session, i)
	ev.CloudTrail.EventTime = when
	return ev
}

// failingCounter is a state table that does not answer.
type failingCounter struct{}

func (failingCounter) CountTowards(context.Context, state.Count) (state.Crossing, error) {
	return state.Crossing{}, errors.New("dynamodb: connection refused")
}

func TestThresholdAlertsOnceAtTheCrossing(t *testing.T) {
	start := time.Date(2026, 11, 21, 3, 12, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		counter pipeline.Counter
		// reads are (session, secret index, seconds after start).
		reads     [][3]int
		wantAlert []int // indexes of reads that alert
	}{
		{name: "20 distinct secrets alert once, at the 20th", counter: state.NewMemory(),
			reads: seq(0, 30, 1, 5), wantAlert: []int{19}},
		{name: "the same secret read 30 times never alerts", counter: state.NewMemory(),
			reads: func() [][3]int {
				var r [][3]int
				for i := range 30 {
					r = append(r, [3]int{0, 0, i * 5})
				}
				return r
			}()},
		{name: "two principals count apart", counter: state.NewMemory(),
			reads: append(seq(0, 10, 1, 5), seq(1, 10, 1, 5)...)},
		{name: "a burst across a window boundary is still seen whole", counter: state.NewMemory(),
			// 20 reads from 03:17:00, 10 s apart: 03:17-03:20:10 straddles the
			// aligned 03:10-03:20 and 03:20-03:30 windows; the offset window
			// 03:15-03:25 holds them all.
			reads: seq(0, 20, 1, 10, 300), wantAlert: []int{19}},
		{name: "a failing table counts in memory: fail-open", counter: failingCounter{},
			reads: seq(0, 25, 1, 5), wantAlert: []int{19}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{name: "slack"}
			p := newPipeline(t, rec)
			p.Counter = tc.counter
			var alerted []int
			for i, r := range tc.reads {
				ev := secretRead(t, fmt.Sprintf("i-%017d", r[0]), fmt.Sprintf("prod/app-%02d/key", r[1]), i, start.Add(time.Duration(r[2])*time.Second))
				res, err := p.Process(context.Background(), ev, "secrets-harvested")
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				if res.Alert != nil {
					alerted = append(alerted, i)
					a := res.Alert
					if !strings.Contains(a.Title, "read 20 distinct secrets within 10 minutes") || a.Severity.String() != "high" {
						t.Errorf("alert %q, %s", a.Title, a.Severity)
					}
				} else if len(res.Counted) != 1 {
					t.Errorf("read %d: neither alerted nor counted: %+v", i, res)
				}
			}
			if fmt.Sprint(alerted) != fmt.Sprint(tc.wantAlert) && !(len(alerted) == 0 && len(tc.wantAlert) == 0) {
				t.Errorf("alerted at reads %v, want %v", alerted, tc.wantAlert)
			}
			if len(rec.sent) != len(tc.wantAlert) {
				t.Errorf("%d messages sent, want %d", len(rec.sent), len(tc.wantAlert))
			}
		})
	}
}

// seq is n reads by session, secret i*step, every `every` seconds from
// offset[0] seconds.
func seq(session, n, step, every int, offset ...int) [][3]int {
	base := 0
	if len(offset) > 0 {
		base = offset[0]
	}
	var out [][3]int
	for i := range n {
		out = append(out, [3]int{session, i * step, base + i*every})
	}
	return out
}

// TestCrossingAlertsBesideAnotherDetection: stolen instance credentials
// harvesting secrets from outside AWS raise two detections of equal
// severity on every read, each read reaching both rules (in either order).
// Each read yields one message; the read that crosses the threshold leads
// with the crossing, which names the burst, and carries the read's own
// finding.
func TestCrossingAlertsBesideAnotherDetection(t *testing.T) {
	start := time.Date(2026, 11, 21, 3, 12, 0, 0, time.UTC)
	for _, order := range [][2]string{
		{"secrets-harvested", "instance-credentials-outside-aws"},
		{"instance-credentials-outside-aws", "secrets-harvested"},
	} {
		t.Run(order[0]+" first", func(t *testing.T) {
			rec := &recorder{name: "slack"}
			p := newPipeline(t, rec)
			p.Counter = state.NewMemory()
			p.Ledger = state.NewMemory()
			for i, r := range seq(0, 25, 1, 5) {
				ev := secretRead(t, fmt.Sprintf("i-%017d", r[0]), fmt.Sprintf("prod/app-%02d/key", r[1]), i, start.Add(time.Duration(r[2])*time.Second))
				for _, rule := range order {
					if _, err := p.Process(context.Background(), ev, rule); err != nil {
						t.Fatalf("read %d, rule %s: %v", i, rule, err)
					}
				}
			}
			var crossings, reads int
			for _, a := range rec.sent {
				switch a.Primary.Detection.ID {
				case "secrets-harvested":
					crossings++
					if !strings.Contains(a.Title, "read 20 distinct secrets within 10 minutes") ||
						len(a.Others) != 1 || a.Others[0].Detection.ID != "instance-credentials-outside-aws" {
						t.Errorf("crossing alert %q, others %+v", a.Title, a.Others)
					}
				case "instance-credentials-outside-aws":
					reads++
				default:
					t.Errorf("unexpected alert %s: %q", a.Primary.Detection.ID, a.Title)
				}
			}
			if crossings != 1 || reads != 24 {
				t.Errorf("sent %d crossing alerts and %d other read alerts, want 1 and 24", crossings, reads)
			}
		})
	}
}
