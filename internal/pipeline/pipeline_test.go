package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/deliver"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/dynalite"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/internal/suppress"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynalite.Stop()
	os.Exit(code)
}

// recorder is a channel that records what it was asked to send; failures
// makes its first sends fail.
type recorder struct {
	name     string
	err      error
	failures int
	mu       sync.Mutex
	sent     []alert.Alert
	attempts int
	digests  []alert.Digest
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Render(a alert.Alert) (pipeline.Message, error) {
	return sendFunc(func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts++
		if r.failures > 0 {
			r.failures--
			return errors.New("temporarily down")
		}
		r.sent = append(r.sent, a)
		return r.err
	}), nil
}
func (r *recorder) RenderDigest(d alert.Digest) (pipeline.Message, error) {
	return sendFunc(func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.digests = append(r.digests, d)
		return r.err
	}), nil
}

// sendFunc is a message whose sending is a function.
type sendFunc func() error

func (f sendFunc) Send(context.Context) error { return f() }

func newPipeline(t *testing.T, channels ...pipeline.Channel) *pipeline.Pipeline {
	t.Helper()
	c, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline.Pipeline{Catalog: c, Enricher: &enrich.Enricher{Offline: "test"}, Channels: channels}
}

func decode(t *testing.T, name string) *event.Event {
	t.Helper()
	ev, err := event.Decode(fixture.Read(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestOneMessagePerEventAcrossRules: a public bucket policy matches the
// rules of s3-bucket-policy-public (high) and of the CIS 4.8 monitor
// s3-bucket-config-changed (low); only the first sends.
func TestOneMessagePerEventAcrossRules(t *testing.T) {
	rec := &recorder{name: "slack"}
	p := newPipeline(t, rec)
	ev := decode(t, "s3/put-bucket-policy-public-read.json")
	for _, tc := range []struct {
		rule     string
		sends    bool
		deferred string
	}{
		{rule: "s3-bucket-config-changed", sends: false, deferred: "s3-bucket-policy-public"},
		{rule: "s3-bucket-policy-public", sends: true},
		{rule: "", sends: true},
		{rule: "unknown-rule-from-another-version", sends: true},
	} {
		t.Run("rule="+tc.rule, func(t *testing.T) {
			before := len(rec.sent)
			res, err := p.Process(context.Background(), ev, tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			if sent := len(rec.sent) > before; sent != tc.sends {
				t.Errorf("sent = %v, want %v", sent, tc.sends)
			}
			if res.Deferred != tc.deferred {
				t.Errorf("Deferred = %q, want %q", res.Deferred, tc.deferred)
			}
			if len(res.Findings) != 2 {
				t.Errorf("findings = %d, want both detections", len(res.Findings))
			}
		})
	}
	last := rec.sent[len(rec.sent)-1]
	if last.Primary.Detection.ID != "s3-bucket-policy-public" || len(last.Others) != 1 {
		t.Errorf("the alert must lead with the most severe finding and carry the other; got %s + %d", last.Primary.Detection.ID, len(last.Others))
	}
}

func TestFailingChannelDoesNotStopTheOthers(t *testing.T) {
	slack := &recorder{name: "slack", err: errors.New("HTTP 500")}
	email := &recorder{name: "email"}
	p := newPipeline(t, slack, email)
	res, err := p.Process(context.Background(), decode(t, "s3/put-bucket-acl-canned-public-read-write.json"), "")
	if !errors.Is(err, pipeline.ErrDelivery) || !strings.Contains(err.Error(), "slack: HTTP 500") {
		t.Fatalf("error = %v, want a delivery error naming slack", err)
	}
	if len(email.sent) != 1 || !slices.Equal(res.Delivered, []string{"email"}) {
		t.Errorf("email sent %d, delivered %v; want the email out despite Slack", len(email.sent), res.Delivered)
	}
}

func TestAllowListSilencesAndSaysSo(t *testing.T) {
	rec := &recorder{name: "slack"}
	var logs strings.Builder
	p := newPipeline(t, rec)
	p.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	p.Suppressions = []suppress.Rule{{Detections: []string{"s3-bucket-policy-public", "s3-bucket-config-changed"}, Principals: []string{"kevin.obrien"}, Reason: "public docs bucket"}}
	ev := decode(t, "s3/put-bucket-policy-public-read.json")
	res, err := p.Process(context.Background(), ev, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Suppressed) != 2 || res.Suppressed[0].Rule != 1 || len(rec.sent) != 0 {
		t.Fatalf("suppressed %+v, sent %d; want both findings silenced by rule 1 and nothing sent", res.Suppressed, len(rec.sent))
	}
	for _, want := range []string{`"msg":"finding suppressed by allow-list"`, `"event_id":"` + ev.ID() + `"`, `"reason":"public docs bucket"`, `"rule":1`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

func TestNoAlertWithoutFinding(t *testing.T) {
	rec := &recorder{name: "slack"}
	p := newPipeline(t, rec)
	res, err := p.Process(context.Background(), decode(t, "s3/put-bucket-policy-org-only.json"), "s3-bucket-policy-public")
	if err != nil || res.Alert != nil || len(rec.sent) != 0 {
		t.Errorf("org-only policy: alert %v, sent %d, err %v; want nothing", res.Alert, len(rec.sent), err)
	}
}

// TestHandlerInput runs the handler through aws-lambda-go's own invocation
// path with good input and broken rule inputs: bad input is skipped (nil
// error, nothing sent), a failed delivery returns an error so Lambda
// retries. TestHostileInput covers broken and hostile events.
func TestHandlerInput(t *testing.T) {
	good := fixture.Read(t, "s3/put-bucket-policy-public-read.json")
	wrapped, err := event.ApplyRuleInputTemplate(event.RuleInputTemplate("s3-bucket-policy-public"), good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		payload string
		fail    bool
		sent    int
		wantErr bool
	}{
		{name: "rule input", payload: string(wrapped), sent: 1},
		{name: "bare event", payload: string(good), sent: 1},
		// Broken events inside the rule's input are TestHostileInput's;
		// these are broken rule inputs.
		{name: "wrong types", payload: `{"detection":5,"event":[]}`},
		{name: "rule input without event", payload: `{"detection":"s3-bucket-policy-public"}`},
		{name: "oversized", payload: `{"detection":"x","event":{"pad":"` + strings.Repeat("a", event.MaxSize+2048) + `"}}`},
		{name: "delivery fails", payload: string(good), fail: true, sent: 1, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{name: "slack"}
			if tc.fail {
				rec.err = errors.New("boom")
			}
			h := &pipeline.Handler{Pipeline: newPipeline(t, rec)}
			_, err := lambda.NewHandler(h).Invoke(context.Background(), []byte(tc.payload))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Invoke error = %v, want error: %v", err, tc.wantErr)
			}
			if len(rec.sent) != tc.sent {
				t.Errorf("sent %d alerts, want %d", len(rec.sent), tc.sent)
			}
		})
	}
}

// benchEvents are the events BenchmarkProcess measures: one alerting event
// per events/ folder, an event a rule delivers but the decision rejects,
// and an event no pattern matches (most of a trail's events).
var benchEvents = []struct {
	name, file string
	// rule is the detection whose rule delivers the event ("" for a bare
	// event); alert says whether the event must produce one.
	rule  string
	alert bool
}{
	{"cloudtrail", "cloudtrail/cloudtrail-config-changed-stop-logging.json", "cloudtrail-config-changed", true},
	{"config", "config/config-recording-changed-stop-recorder.json", "config-recording-changed", true},
	{"ec2", "ec2/security-group-changed-ssh-open-world.json", "security-group-changed", true},
	{"guardduty", "guardduty/guardduty-disabled-delete-detector.json", "guardduty-disabled", true},
	{"iam", "iam/iam-policy-changed-attach-admin-user.json", "iam-policy-changed", true},
	{"kms", "kms/kms-key-disabled-or-deleted-schedule-deletion-7-days.json", "kms-key-disabled-or-deleted", true},
	{"lambda", "lambda/lambda-function-public-add-permission-anyone.json", "lambda-function-public", true},
	{"organizations", "organizations/organization-left-leave-organization.json", "organization-left", true},
	{"rds", "rds/rds-snapshot-public-db-snapshot-all.json", "rds-snapshot-public", true},
	{"s3", "s3/put-bucket-policy-public-read.json", "s3-bucket-policy-public", true},
	{"securityhub", "securityhub/securityhub-disabled-disable-security-hub.json", "securityhub-disabled", true},
	{"signin", "signin/console-login-without-mfa-iam-user.json", "console-login-without-mfa", true},
	{"sts", "sts/root-account-used-get-session-token.json", "root-account-used", true},
	{"alarm/cloudwatch", "cloudwatch/ec2-cpu-spike-insights-query-alarm.json", "ec2-cpu-spike", true},
	{"finding/guardduty", "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json", "guardduty-crypto-mining", true},
	{"self-defense/lambda", "lambda/trailwatch-function-tampered-update-code.json", "trailwatch-function-tampered", true},
	{"no-alert/decision", "ec2/security-group-changed-dry-run.json", "security-group-changed", false},
	{"no-alert/pattern", "s3/get-bucket-policy.json", "", false},
}

// discard is the end of the Slack and email channels in benchmarks: the
// payloads are rendered in full, then dropped.
type discard struct{}

func (discard) Post(context.Context, []byte) error           { return nil }
func (discard) Publish(context.Context, deliver.Email) error { return nil }

// BenchmarkProcess measures what the CloudTrail function does with one
// invocation, network excepted: Handler.Handle on the payload the event's
// EventBridge rule sends ({"detection": ..., "event": ...}), which decodes
// the envelope and CloudTrail record, runs the catalog's patterns and
// decisions, builds the alert offline (no AWS look-ups), and renders it for
// both channels (render.SlackJSON and render.RenderEmail, through
// pipeline.Slack and pipeline.Email), whose poster and publisher discard
// it. No ledger, storm store or logging. One sub-benchmark per events/
// folder raises an alert; "no-alert/decision" is delivered by a rule whose
// decision rejects it, "no-alert/pattern" matches no pattern at all. The
// README runs it with the functions' runtime settings
// (GOMAXPROCS=1 GOGC=400 GOMEMLIMIT=96MiB, infra/function.go) and with
// Go's defaults.
func BenchmarkProcess(b *testing.B) {
	c, err := detect.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	static := render.NewStatic(c.All()) // as the functions render (internal/wire)
	p := &pipeline.Pipeline{
		Catalog:  c,
		Enricher: &enrich.Enricher{Offline: "benchmark"},
		Channels: []pipeline.Channel{pipeline.Slack{Poster: discard{}, Static: static}, pipeline.Email{Publisher: discard{}, Static: static}},
	}
	h := &pipeline.Handler{Pipeline: p}
	for _, bc := range benchEvents {
		// EventBridge delivers events without the fixtures' indentation.
		var compact bytes.Buffer
		if err := json.Compact(&compact, fixture.Read(b, bc.file)); err != nil {
			b.Fatal(err)
		}
		raw := compact.Bytes()
		payload := raw
		if bc.rule != "" {
			if payload, err = event.ApplyRuleInputTemplate(event.RuleInputTemplate(bc.rule), raw); err != nil {
				b.Fatal(err)
			}
		}
		// The case must do what its name says.
		ev, err := event.Decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		res, err := p.Process(context.Background(), ev, bc.rule)
		if err != nil || (res.Alert != nil) != bc.alert || res.Deferred != "" {
			b.Fatalf("%s: alert %v, deferred %q, error %v; want alert %v", bc.file, res.Alert != nil, res.Deferred, err, bc.alert)
		}
		if m, _ := c.Match(ev); (bc.rule == "") != (len(m) == 0) {
			b.Fatalf("%s: %d patterns match", bc.file, len(m))
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			start, measured := processCPU()
			for b.Loop() {
				if err := h.Handle(context.Background(), payload); err != nil {
					b.Fatal(err)
				}
			}
			if end, ok := processCPU(); measured && ok {
				b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

func TestDuplicateEventDeliveredOnce(t *testing.T) {
	slackCh, emailCh := &recorder{name: "slack"}, &recorder{name: "email"}
	p := newPipeline(t, slackCh, emailCh)
	p.Ledger = state.NewMemory()
	ev := decode(t, "s3/put-bucket-acl-canned-public-read-write.json")
	first, err := p.Process(context.Background(), ev, "")
	if err != nil || !slices.Equal(first.Delivered, []string{"email", "slack"}) {
		t.Fatalf("first delivery: %v, %v", first.Delivered, err)
	}
	again, err := p.Process(context.Background(), decode(t, "s3/put-bucket-acl-canned-public-read-write.json"), "")
	if err != nil || len(again.Delivered) != 0 || !slices.Equal(again.AlreadyDelivered, []string{"email", "slack"}) {
		t.Fatalf("second delivery: delivered %v, already %v, %v", again.Delivered, again.AlreadyDelivered, err)
	}
	if len(slackCh.sent) != 1 || len(emailCh.sent) != 1 {
		t.Errorf("sent slack %d, email %d; want 1 each", len(slackCh.sent), len(emailCh.sent))
	}
}

// TestRetryResendsOnlyWhatFailed: email fails once; the retry Lambda makes
// sends the email and does not repeat the Slack message.
func TestRetryResendsOnlyWhatFailed(t *testing.T) {
	slackCh, emailCh := &recorder{name: "slack"}, &recorder{name: "email", failures: 1}
	p := newPipeline(t, slackCh, emailCh)
	p.Ledger = state.NewMemory()
	ev := decode(t, "s3/put-bucket-acl-canned-public-read-write.json")
	if _, err := p.Process(context.Background(), ev, ""); !errors.Is(err, pipeline.ErrDelivery) {
		t.Fatalf("first attempt: error %v, want a delivery error", err)
	}
	res, err := p.Process(context.Background(), ev, "")
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !slices.Equal(res.Delivered, []string{"email"}) || !slices.Equal(res.AlreadyDelivered, []string{"slack"}) {
		t.Errorf("retry delivered %v, already %v", res.Delivered, res.AlreadyDelivered)
	}
	if slackCh.attempts != 1 || emailCh.attempts != 2 || len(emailCh.sent) != 1 {
		t.Errorf("slack attempts %d, email attempts %d sent %d", slackCh.attempts, emailCh.attempts, len(emailCh.sent))
	}
}

// TestStormHoldsRepeatsForADigest: five public ACLs by one principal in one
// window make one alert and one digest of four.
func TestStormHoldsRepeatsForADigest(t *testing.T) {
	rec := &recorder{name: "slack"}
	p := newPipeline(t, rec)
	store := state.NewMemory()
	p.Storms, p.Ledger = store, store
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }
	for i := range 5 {
		ev := decode(t, "s3/put-bucket-acl-canned-public-read-write.json")
		ev.CloudTrail.EventID = fmt.Sprintf("storm-%d", i)
		res, err := p.Process(context.Background(), ev, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Repeat != (i > 0) {
			t.Errorf("event %d: Repeat = %v", i, res.Repeat)
		}
	}
	if len(rec.sent) != 1 || len(rec.sent[0].Notes) != 1 || !strings.Contains(rec.sent[0].Notes[0], "summarized in one digest") {
		t.Fatalf("sent %d alerts (notes %v), want 1 announcing the digest", len(rec.sent), rec.sent)
	}
	due, err := store.Due(context.Background())
	if err != nil || len(due) != 1 || due[0].Repeats != 4 {
		t.Fatalf("due = %+v, %v; want one digest of 4 repeats", due, err)
	}
	d, _ := p.Catalog.Get(due[0].Window.Detection)
	if _, err := p.SendDigest(context.Background(), alert.Digest{Detection: d, Repeats: due[0].Repeats}, due[0].Window.Key()); err != nil {
		t.Fatal(err)
	}
	if len(rec.digests) != 1 || rec.digests[0].Repeats != 4 {
		t.Errorf("digests %+v", rec.digests)
	}
}

// at returns the fixture's event with another event ID and time.
func at(t *testing.T, name, id string, when time.Time) *event.Event {
	t.Helper()
	ev := decode(t, name)
	ev.CloudTrail.EventID = id
	ev.CloudTrail.EventTime = when
	return ev
}

// TestStormWindowsFollowEventTime: windows are the events' own, whatever
// the clock of the run, so a replay of last month's logs groups repeats as
// production did: two calls a minute apart are one window, an hour apart
// two, though all are processed in the same instant.
func TestStormWindowsFollowEventTime(t *testing.T) {
	rec := &recorder{name: "slack"}
	p := newPipeline(t, rec)
	store := state.NewMemory()
	p.Storms, p.Ledger = store, store
	p.Now = func() time.Time { return time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC) }
	base := time.Date(2026, 11, 3, 14, 1, 0, 0, time.UTC)
	const acl = "s3/put-bucket-acl-canned-public-read-write.json"
	for i, step := range []struct {
		at     time.Duration
		repeat bool
	}{{0, false}, {time.Minute, true}, {time.Hour, false}, {time.Hour + 2*time.Minute, true}, {24 * time.Hour, false}} {
		res, err := p.Process(context.Background(), at(t, acl, fmt.Sprintf("e%d", i), base.Add(step.at)), "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Repeat != step.repeat {
			t.Errorf("event %d at +%v: Repeat = %v, want %v", i, step.at, res.Repeat, step.repeat)
		}
	}
	if len(rec.sent) != 3 {
		t.Fatalf("%d alerts, want 3 (one per window)", len(rec.sent))
	}
	if note := rec.sent[0].Notes[0]; !strings.Contains(note, "until 2026-11-03T14:05:00Z are summarized in one digest") {
		t.Errorf("note = %q, want the window's end by the event's time, in RFC 3339", note)
	}
	due, _ := store.Due(context.Background())
	if len(due) != 2 || !due[0].Window.Start.Equal(time.Date(2026, 11, 3, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("due = %+v, want the two windows with a repeat, by event time", due)
	}
}

// TestLateRepeatIsAlerted: a repeat CloudTrail delivers after its window's
// digest went out is alerted on its own, saying why, never dropped.
func TestLateRepeatIsAlerted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) (pipeline.Storms, pipeline.DigestStore, pipeline.Ledger)
	}{
		{"memory", func(*testing.T) (pipeline.Storms, pipeline.DigestStore, pipeline.Ledger) {
			m := state.NewMemory()
			return m, m, m
		}},
		{"dynamodb", func(t *testing.T) (pipeline.Storms, pipeline.DigestStore, pipeline.Ledger) {
			client := dynalite.Client(t)
			// The digest runs at the clock: far past the events' window.
			d := &state.Dynamo{Client: client, Table: dynalite.Table(t, client), Now: func() time.Time { return time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) }}
			return d, d, d
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{name: "slack"}
			p := newPipeline(t, rec)
			storms, digests, ledger := tc.store(t)
			p.Storms, p.Ledger = storms, ledger
			base := time.Date(2026, 11, 20, 9, 0, 30, 0, time.UTC)
			const acl = "s3/put-bucket-acl-canned-public-read-write.json"
			for i := range 2 {
				if _, err := p.Process(context.Background(), at(t, acl, fmt.Sprintf("e%d", i), base.Add(time.Duration(i)*time.Minute)), ""); err != nil {
					t.Fatal(err)
				}
			}
			sent, err := (&pipeline.Digests{Pipeline: p, Store: digests}).Run(context.Background())
			if err != nil || sent != 1 || len(rec.digests) != 1 || rec.digests[0].Repeats != 1 {
				t.Fatalf("digests sent %d (%+v), %v; want one of 1 repeat", sent, rec.digests, err)
			}
			res, err := p.Process(context.Background(), at(t, acl, "late", base.Add(3*time.Minute)), "")
			if err != nil {
				t.Fatal(err)
			}
			if res.Repeat || res.Alert == nil || len(rec.sent) != 2 {
				t.Fatalf("late repeat: Repeat %v, alert %v, %d alerts; want it alerted", res.Repeat, res.Alert != nil, len(rec.sent))
			}
			if notes := strings.Join(res.Alert.Notes, " "); !strings.Contains(notes, "arrived after the digest of its storm window (2026-11-20T09:00:00Z to 2026-11-20T09:05:00Z) was sent") {
				t.Errorf("notes = %q", notes)
			}
		})
	}
}

// TestTamperingIsNeverHeldBack: findings of tampering with trailwatch's
// delivery alert every time: a digest would be sent by the function being
// deleted. They do not open or fill storm windows either.
func TestTamperingIsNeverHeldBack(t *testing.T) {
	rec := &recorder{name: "slack"}
	p := newPipeline(t, rec)
	store := state.NewMemory()
	p.Storms, p.Ledger = store, store
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for i, name := range []string{
		"lambda/trailwatch-function-tampered-delete-function.json",
		"lambda/trailwatch-function-tampered-delete-function.json",
		"lambda/trailwatch-function-tampered-update-code.json",
		"events/trailwatch-rule-tampered-disable-rule.json",
		"events/trailwatch-rule-tampered-disable-rule.json",
		"sqs/trailwatch-delivery-tampered-purge-queue.json",
		"sqs/trailwatch-delivery-tampered-purge-queue.json",
	} {
		res, err := p.Process(context.Background(), at(t, name, fmt.Sprintf("t%d", i), base.Add(time.Duration(i)*time.Second)), "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Repeat || res.Alert == nil || !res.Alert.Primary.Detection.Immediate {
			t.Errorf("%s #%d: Repeat %v, alert %v; want an immediate alert", name, i, res.Repeat, res.Alert != nil)
		}
		if res.Alert != nil && len(res.Alert.Notes) != 0 {
			t.Errorf("%s: notes %q promise a digest", name, res.Alert.Notes)
		}
	}
	if len(rec.sent) != 7 {
		t.Errorf("%d alerts, want 7", len(rec.sent))
	}
	if due, _ := store.Due(context.Background()); len(due) != 0 {
		t.Errorf("%d digests due, want none", len(due))
	}
}

// brokenStore fails every call, as DynamoDB would when unreachable.
type brokenStore struct{}

func (brokenStore) Claim(context.Context, string, string, time.Time) (state.Claim, error) {
	return state.Claim{}, errors.New("unreachable")
}
func (brokenStore) Done(context.Context, string, string) error    { return errors.New("unreachable") }
func (brokenStore) Release(context.Context, string, string) error { return errors.New("unreachable") }
func (brokenStore) Record(context.Context, state.Window, state.Occurrence, string, string) (state.Tally, error) {
	return state.Tally{}, errors.New("unreachable")
}

// TestBrokenStoreStillAlerts: when the state table is unreachable the
// alert goes out (a possible duplicate beats a lost alert).
func TestBrokenStoreStillAlerts(t *testing.T) {
	rec := &recorder{name: "slack"}
	p := newPipeline(t, rec)
	p.Ledger, p.Storms = brokenStore{}, brokenStore{}
	res, err := p.Process(context.Background(), decode(t, "s3/put-bucket-acl-canned-public-read-write.json"), "")
	if err != nil || len(rec.sent) != 1 || res.Repeat {
		t.Errorf("err %v, sent %d, repeat %v; want the alert sent", err, len(rec.sent), res.Repeat)
	}
}

// TestGuardDutyUpdatesAlertOnce: GuardDuty sends a finding again as a new
// event (new envelope ID, higher count) when it sees the activity again.
// The updates are one alert; a more severe update is a new one.
func TestGuardDutyUpdatesAlertOnce(t *testing.T) {
	slackCh := &recorder{name: "slack"}
	p := newPipeline(t, slackCh)
	p.Ledger = state.NewMemory()
	raw := string(fixture.Read(t, "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json"))
	variant := func(id, count, severity string) *event.Event {
		s := strings.Replace(raw, `"id": "3a5c7e9b-1d3f-4a6c-8e0a-2c4e6a8c0e1f"`, `"id": "`+id+`"`, 1)
		s = strings.Replace(s, `"count": 14`, `"count": `+count, 1)
		s = strings.Replace(s, `"severity": 8,`, `"severity": `+severity+`,`, 1)
		if !strings.Contains(s, id) || !strings.Contains(s, `"count": `+count) || !strings.Contains(s, `"severity": `+severity+`,`) {
			t.Fatal("fixture changed: the variant was not made")
		}
		ev, err := event.Decode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	for i, step := range []struct {
		ev   *event.Event
		sent int
	}{
		{variant("3a5c7e9b-1d3f-4a6c-8e0a-2c4e6a8c0e1f", "14", "8"), 1},
		{variant("6d8f0b2d-4f6a-4c8e-a0c2-e4a6c8e0a2c4", "31", "8"), 1},
		{variant("8f0b2d4f-6a8c-4e0a-c2e4-a6c8e0a2c4e6", "57", "9.5"), 2},
	} {
		if _, err := p.Process(context.Background(), step.ev, ""); err != nil {
			t.Fatal(err)
		}
		if len(slackCh.sent) != step.sent {
			t.Errorf("after update %d: %d messages, want %d", i, len(slackCh.sent), step.sent)
		}
	}
}

// failing is a channel whose sender already names itself in its errors.
type failing struct{ name, msg string }

func (f failing) Name() string { return f.name }
func (f failing) Render(alert.Alert) (pipeline.Message, error) {
	return sendFunc(func() error { return errors.New(f.msg) }), nil
}
func (f failing) RenderDigest(alert.Digest) (pipeline.Message, error) {
	return sendFunc(func() error { return errors.New(f.msg) }), nil
}

// unrenderable is a channel that cannot render anything.
type unrenderable struct{}

func (unrenderable) Name() string { return "slack" }
func (unrenderable) Render(alert.Alert) (pipeline.Message, error) {
	return nil, errors.New("payload too large")
}
func (unrenderable) RenderDigest(alert.Digest) (pipeline.Message, error) {
	return nil, errors.New("payload too large")
}

// TestRenderFailureKeepsTheEvent: a channel that cannot render fails the
// delivery and its claim is released, so Lambda's retry tries it again,
// and the other channels still send.
func TestRenderFailureKeepsTheEvent(t *testing.T) {
	emailCh := &recorder{name: "email"}
	p := newPipeline(t, unrenderable{}, emailCh)
	ledger := state.NewMemory()
	p.Ledger = ledger
	ev := decode(t, "s3/put-bucket-acl-canned-public-read-write.json")
	res, err := p.Process(context.Background(), ev, "")
	if !errors.Is(err, pipeline.ErrDelivery) || !strings.Contains(err.Error(), "slack: render: payload too large") {
		t.Fatalf("error %v, want a delivery error naming the channel", err)
	}
	if !slices.Equal(res.Delivered, []string{"email"}) || len(emailCh.sent) != 1 {
		t.Errorf("delivered %v, email sent %d; want the email sent", res.Delivered, len(emailCh.sent))
	}
	if c, err := ledger.Claim(context.Background(), "sent#"+ev.CloudTrail.EventID+"#slack", "retry", time.Time{}); c != (state.Claim{Status: state.Claimed}) || err != nil {
		t.Errorf("the failed channel's claim was left in the ledger (claim %+v, %v)", c, err)
	}
}

// TestDeliveryErrorNamesChannelOnce: the error names each failed channel
// once, whether or not its sender already did.
func TestDeliveryErrorNamesChannelOnce(t *testing.T) {
	p := newPipeline(t, failing{"slack", "slack: post to https://hooks.slack.com/…: 500"}, failing{"email", "throttled"})
	_, err := p.Process(context.Background(), decode(t, "s3/put-bucket-acl-canned-public-read-write.json"), "")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Count(msg, "slack: ") != 1 || !strings.Contains(msg, "email: throttled") {
		t.Errorf("error = %q, want each channel named once", msg)
	}
}
