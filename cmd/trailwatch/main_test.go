package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/replay"
)

// noAWS is a loader for a machine without AWS configuration.
func noAWS(context.Context, string) (aws.Config, error) {
	return aws.Config{}, errors.New("no credentials here")
}

func runCLI(t *testing.T, load awsLoader, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, load)
	return code, out.String(), errOut.String()
}

// copyFixtures puts named fixtures in a temporary folder.
func copyFixtures(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(n)), fixture.Read(t, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReplayJSONOfEveryFixture(t *testing.T) {
	code, out, errOut := runCLI(t, noAWS, "replay", "--format", "json", fixture.Dir(t))
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(fixture.All(t)) {
		t.Errorf("%d lines for %d fixtures", len(lines), len(fixture.All(t)))
	}
	ids := map[string]bool{}
	for _, l := range lines {
		var line replay.Line
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if line.ID == "" || line.Detections == nil || ids[line.ID] {
			t.Errorf("line %q: want a unique id and a detections list", l)
		}
		ids[line.ID] = true
		for _, d := range line.Detections {
			if d.ID == "" || d.Title == "" || !d.Severity.Valid() || d.CIS == nil || d.MITRE == nil {
				t.Errorf("incomplete detection in %q", l)
			}
		}
	}
}

// TestReplayOutputs checks each format on a public and a private event.
func TestReplayOutputs(t *testing.T) {
	dir := copyFixtures(t, "s3/put-bucket-policy-public-read.json", "s3/get-bucket-policy.json")
	for _, tc := range []struct {
		format string
		want   []string
		lines  int // non-empty output lines that must parse as JSON; 0: do not check
	}{
		{replay.FormatText, []string{"[trailwatch] HIGH: Policy of bucket acme-prod-invoices lets everyone read objects", "get-bucket-policy.json#1: GetBucketPolicy by", "no alert"}, 0},
		{replay.FormatSlack, []string{`"blocks":`, "acme-prod-invoices"}, 1},
		{replay.FormatEmail, []string{"Subject: [trailwatch] HIGH:", "WHO", "Account:          111122223333", "Source IP:        203.0.113.18"}, 0},
	} {
		t.Run(tc.format, func(t *testing.T) {
			code, out, errOut := runCLI(t, noAWS, "replay", dir, "--format", tc.format)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.lines > 0 {
				n := 0
				sc := bufio.NewScanner(strings.NewReader(out))
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					if !json.Valid(sc.Bytes()) {
						t.Errorf("not JSON: %s", sc.Text())
					}
					n++
				}
				if n != tc.lines {
					t.Errorf("%d payloads, want %d", n, tc.lines)
				}
			}
			if !strings.Contains(out, "not checked (no AWS configuration") && tc.format != replay.FormatSlack {
				t.Errorf("offline replay must say what it could not check:\n%s", out)
			}
		})
	}
}

func TestUnreadableInputIsNamedAndTheRestRuns(t *testing.T) {
	dir := copyFixtures(t, "s3/put-bucket-acl-canned-public-read-write.json")
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"detail-type": "AWS API`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, noAWS, "replay", "--format", "json", dir, filepath.Join(dir, "nope.json"))
	if code != exitUnreadable {
		t.Errorf("exit %d, want %d", code, exitUnreadable)
	}
	if !strings.Contains(errOut, "broken.json: invalid JSON") || !strings.Contains(errOut, "nope.json: no such file or directory") {
		t.Errorf("stderr must name each file and why:\n%s", errOut)
	}
	if !strings.Contains(out, `"s3-bucket-acl-public"`) {
		t.Errorf("the readable event did not run:\n%s", out)
	}
}

// TestDeliveryToLocalSlack: 429 with Retry-After then 200 is delivered once;
// a webhook that always fails makes the command exit non-zero and say which
// delivery failed.
func TestDeliveryToLocalSlack(t *testing.T) {
	dir := copyFixtures(t, "s3/put-bucket-policy-public-read.json", "s3/get-bucket-policy.json")
	t.Run("rate limited then accepted", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			_, _ = io.WriteString(w, "ok")
		}))
		defer srv.Close()
		code, _, errOut := runCLI(t, noAWS, "replay", "--slack-webhook", srv.URL+"/services/T/B/x", dir)
		if code != exitOK || calls.Load() != 2 {
			t.Errorf("exit %d after %d calls, want 0 after 2 (one alert, one retry); stderr %s", code, calls.Load(), errOut)
		}
	})
	t.Run("always failing", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "no_service")
		}))
		defer srv.Close()
		code, _, errOut := runCLI(t, noAWS, "replay", "--slack-webhook", srv.URL+"/services/T/B/secretpart", dir)
		if code != exitDelivery {
			t.Errorf("exit %d, want %d", code, exitDelivery)
		}
		if !strings.Contains(errOut, "slack") || !strings.Contains(errOut, "no_service") || !strings.Contains(errOut, "1 failed delivery") {
			t.Errorf("stderr must name the failed delivery:\n%s", errOut)
		}
		if strings.Contains(errOut, "secretpart") {
			t.Errorf("the webhook path reached stderr:\n%s", errOut)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		// net/http's error quotes the whole URL: stderr must not.
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		code, _, errOut := runCLI(t, noAWS, "replay", "--verbose", "--slack-webhook", srv.URL+"/services/T/B/secretpart", dir)
		if code != exitDelivery || !strings.Contains(errOut, "connection refused") {
			t.Errorf("exit %d, want %d with the connection error; stderr:\n%s", code, exitDelivery, errOut)
		}
		if strings.Contains(errOut, "secretpart") {
			t.Errorf("the webhook path reached stderr:\n%s", errOut)
		}
	})
}

func TestDeliveryThroughSNS(t *testing.T) {
	srv := awstest.NewServer(t)
	srv.Handle(awstest.Action("GetCallerIdentity"), awstest.Response{Body: awstest.Recorded(t, "stslookup", "sts-get-caller-identity.xml")})
	srv.Handle(awstest.Action("Publish"), awstest.Response{Body: awstest.Recorded(t, "deliver", "sns-publish.xml")})
	load := func(_ context.Context, region string) (aws.Config, error) { return srv.Config(region), nil }
	dir := copyFixtures(t, "s3/put-bucket-acl-canned-public-read-write.json")
	code, _, errOut := runCLI(t, load, "replay", "--offline", "--sns-topic-arn", "arn:aws:sns:us-east-1:111122223333:alerts", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var publishes []awstest.Request
	for _, r := range srv.Requests() {
		if bytes.Contains(r.Body, []byte("Action=Publish")) {
			publishes = append(publishes, r)
		}
	}
	if len(publishes) != 1 || !bytes.Contains(publishes[0].Body, []byte("Subject=%5Btrailwatch%5D+CRITICAL")) {
		t.Errorf("publishes = %d, want one critical alert", len(publishes))
	}
	if got := publishes[0].Header.Get("Authorization"); !strings.Contains(got, "/us-east-1/sns/") {
		t.Errorf("publish signed for %q, want the topic's region", got)
	}
}

func TestReplayWithSettings(t *testing.T) {
	dir := copyFixtures(t, "s3/put-bucket-policy-public-read.json")
	settings := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(settings, []byte(`{"env":{},"suppressions":[{"detections":["s3-bucket-policy-public"],"principals":["kevin.obrien"],"reason":"docs bucket"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, noAWS, "replay", "--settings", settings, dir)
	if code != exitOK || !strings.Contains(out, "s3-bucket-policy-public suppressed by allow-list rule 1 (docs bucket)") || !strings.Contains(out, "[trailwatch] LOW") {
		t.Errorf("exit %d, stderr %s\n%s", code, errOut, out)
	}
	if strings.Contains(out, "[trailwatch] HIGH: Policy of bucket") {
		t.Errorf("a suppressed finding was still alerted:\n%s", out)
	}
	if err := os.WriteFile(settings, []byte(`{"env":{},"suppressions":[{"detections":["*"],"reason":"all"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, noAWS, "replay", "--settings", settings, dir); code != exitUsage || !strings.Contains(errOut, "must say whose events") {
		t.Errorf("an allow-list rule silencing everyone: exit %d, %s", code, errOut)
	}
}

func TestRules(t *testing.T) {
	code, out, _ := runCLI(t, noAWS, "rules", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var rules []ruleInfo
	if err := json.Unmarshal([]byte(out), &rules); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	for _, want := range []string{"s3-bucket-public-access-block-disabled", "s3-account-public-access-block-disabled", "s3-bucket-policy-public", "s3-bucket-acl-public"} {
		if !slices.Contains(ids, want) {
			t.Errorf("rules lack %s", want)
		}
	}
	code, out, _ = runCLI(t, noAWS, "rules")
	if code != exitOK || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "s3-bucket-policy-public") {
		t.Errorf("table output: exit %d\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"replay"},
		{"replay", "--format", "xml", "x"},
		{"replay", "--slack-webhook", "http://hooks.example.com/x", "x"},
		{"rules", "--format", "yaml"},
		{"rules", "extra"},
	} {
		if code, _, _ := runCLI(t, noAWS, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestDetectionsTableMatchesCatalog keeps docs/detections.md's table
// generated from the catalog: run `go run ./cmd/trailwatch rules --format
// markdown` and paste the output between the markers when it fails.
func TestDetectionsTableMatchesCatalog(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "docs", "detections.md"))
	if err != nil {
		t.Fatal(err)
	}
	const start, end = "<!-- detections:start -->\n", "<!-- detections:end -->"
	_, rest, ok := strings.Cut(string(readme), start)
	table, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("docs/detections.md lacks the %q and %q markers", start, end)
	}
	code, want, _ := runCLI(t, noAWS, "rules", "--format", "markdown")
	if code != exitOK {
		t.Fatalf("rules --format markdown: exit %d", code)
	}
	if table != want {
		t.Errorf("docs/detections.md's table is out of date (trailwatch rules --format markdown prints it); it has:\n%s\nwant:\n%s", table, want)
	}
}

// TestSameEventTwiceDeliveredOnce: the same event in two files of one run
// reaches Slack once.
func TestSameEventTwiceDeliveredOnce(t *testing.T) {
	dir := copyFixtures(t, "s3/put-bucket-acl-canned-public-read-write.json")
	raw := fixture.Read(t, "s3/put-bucket-acl-canned-public-read-write.json")
	if err := os.WriteFile(filepath.Join(dir, "copy.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	code, _, errOut := runCLI(t, noAWS, "replay", "--slack-webhook", srv.URL+"/services/T/B/x", dir)
	if code != exitOK || posts.Load() != 1 {
		t.Errorf("exit %d after %d Slack posts, want 0 after 1; stderr %s", code, posts.Load(), errOut)
	}
}

// TestStormBecomesOneAlertAndADigest: six public ACLs by one principal in
// one run make one alert, five held repeats and one digest.
func TestStormBecomesOneAlertAndADigest(t *testing.T) {
	var lines []string
	raw := string(fixture.Read(t, "s3/put-bucket-acl-canned-public-read-write.json"))
	for i := range 6 {
		ev := strings.Replace(raw, `"eventID": "`, fmt.Sprintf(`"eventID": "burst-%d-`, i), 1)
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(ev)); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, compact.String())
	}
	file := filepath.Join(t.TempDir(), "burst.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, noAWS, "replay", "--verbose", file)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "[trailwatch] CRITICAL: ACL of bucket"); n != 1 {
		t.Errorf("%d alerts for the burst, want 1", n)
	}
	if n := strings.Count(out, "held for the digest"); n != 5 {
		t.Errorf("%d held repeats, want 5", n)
	}
	if !strings.Contains(out, "[trailwatch] CRITICAL digest: s3-bucket-acl-public 5 more times by ") {
		t.Errorf("no digest in the output:\n%s", out)
	}
	if !strings.Contains(errOut, "6 events, 1 alert, 5 repeats in 1 digest") {
		t.Errorf("summary: %s", errOut)
	}
}

// TestReplayEventsOfSeveralAccounts: events of the caller's account and of
// two members, replayed with --lookup-role and --organization: each
// member's look-ups run with its role's credentials, a member whose role
// cannot be assumed still alerts and says why, and every alert names its
// account and OU path.
func TestReplayEventsOfSeveralAccounts(t *testing.T) {
	const granted, denied = "444455556666", "777788889999"
	srv := awstest.NewServer(t)
	xml := func(body string) awstest.Response {
		return awstest.Response{Body: body, Header: map[string]string{"Content-Type": "text/xml"}}
	}
	js := func(body string) awstest.Response {
		return awstest.Response{Body: body, Header: map[string]string{"Content-Type": "application/x-amz-json-1.1"}}
	}
	srv.Handle(awstest.Action("GetCallerIdentity"), xml(awstest.Recorded(t, "stslookup", "sts-get-caller-identity.xml")))
	srv.Handle(func(r awstest.Request) bool {
		return r.Operation() == "AssumeRole" && bytes.Contains(r.Body, []byte(granted))
	}, xml(strings.NewReplacer("ACCOUNT", granted, "ACCESSKEY", "ASIAREPLAYMEMBER01", "EXPIRATION", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)).
		Replace(awstest.Recorded(t, "crossaccount", "sts-assume-role.xml"))))
	srv.Handle(awstest.Action("AssumeRole"), awstest.Response{Status: 403, Body: awstest.XMLError("AccessDenied", "not authorized to perform: sts:AssumeRole")})
	srv.Handle(awstest.Action("ListAccountAliases"), xml(awstest.Recorded(t, "awslookup", "iam-list-account-aliases.xml")))
	srv.Handle(awstest.REST("GET", "/", "policyStatus"), xml(awstest.Recorded(t, "s3lookup", "s3-policy-status-public.xml")))
	srv.Handle(awstest.REST("GET", "/", "acl"), xml(awstest.Recorded(t, "s3lookup", "s3-acl-private.xml")))
	srv.Handle(awstest.REST("GET", "/v20180820/configuration/publicAccessBlock", ""), xml(awstest.Recorded(t, "s3lookup", "s3control-public-access-block-off.xml")))
	srv.Handle(awstest.REST("GET", "/", "publicAccessBlock"), xml(awstest.Recorded(t, "s3lookup", "s3-public-access-block-off.xml")))
	srv.Handle(awstest.Target("AWSOrganizationsV20161128.DescribeAccount"), js(awstest.Recorded(t, "orglookup", "organizations-describe-account.json")))
	srv.Handle(awstest.Target("AWSOrganizationsV20161128.ListParents"), js(awstest.Recorded(t, "orglookup", "organizations-list-parents-root.json")))

	dir := t.TempDir()
	raw := fixture.Read(t, "s3/put-bucket-policy-public-read.json")
	for i, account := range []string{"111122223333", granted, denied} {
		ev := bytes.ReplaceAll(raw, []byte("111122223333"), []byte(account))
		ev = bytes.Replace(ev, []byte(`"eventID": "`), []byte(`"eventID": "`+strconv.Itoa(i)), 1)
		if err := os.WriteFile(filepath.Join(dir, account+".json"), ev, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	load := func(_ context.Context, region string) (aws.Config, error) { return srv.Config(region), nil }
	code, out, errOut := runCLI(t, load, "replay", "--format", "email", "--lookup-role", "TrailwatchLookup", "--organization", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for want, n := range map[string]int{
		"Account:          111122223333 (acme-prod)\n":                                              1, // the caller's own
		"Account:          444455556666 (acme-prod)\n":                                              1, // through the member's role
		"Account:          777788889999\n":                                                          1, // the role denied
		"Account name:     Payments Prod\n":                                                         3,
		"OU:               Root\n":                                                                  3,
		"Sign in to account 444455556666 first: https://444455556666.signin.aws.amazon.com/console": 1,
		"account alias: not checked (assume TrailwatchLookup in 777788889999:":                      1,
	} {
		if got := strings.Count(out, want); got != n {
			t.Errorf("%d times %q, want %d:\n%s", got, want, n, out)
		}
	}
	for _, r := range srv.Requests() {
		if r.Operation() != "ListAccountAliases" {
			continue
		}
		auth := r.Header.Get("Authorization")
		if !strings.Contains(auth, "Credential=ASIAREPLAYMEMBER01/") && !strings.Contains(auth, "Credential=AKIDAWSTEST/") {
			t.Errorf("alias look-up signed %s", auth)
		}
	}
	if code, _, errOut := runCLI(t, load, "replay", "--offline", "--organization", dir); code != exitUsage || !strings.Contains(errOut, "--offline never does") {
		t.Errorf("--offline with --organization: exit %d, %s", code, errOut)
	}
}

// TestThresholdInReplay: one principal reading 40 different secrets within
// a few minutes raises one high alert naming them; another reading two
// raises nothing; a retried event counts once.
func TestThresholdInReplay(t *testing.T) {
	raw := fixture.Read(t, "secretsmanager/secrets-harvested-get-secret-value.json")
	dir := t.TempDir()
	var lines []string
	add := func(principal string, i int, secret string) {
		ev := bytes.ReplaceAll(raw, []byte("build-runner/i-0f1e2d3c4b5a69788"), []byte(principal))
		// From an address of AWS's (EC2, us-east-1): instance credentials
		// from outside AWS would raise instance-credentials-outside-aws on
		// every read, which is not what this test is about.
		ev = bytes.ReplaceAll(ev, []byte(`"203.0.113.57"`), []byte(`"18.208.44.17"`))
		ev = bytes.ReplaceAll(ev, []byte(`"prod/payments/stripe-api-key"`), []byte(strconv.Quote(secret)))
		ev = bytes.ReplaceAll(ev, []byte("6d1f0b2c-51a4-4c8e-9d2e-0b5c3f7a9e11"), []byte(fmt.Sprintf("6d1f0b2c-51a4-4c8e-9d2e-%012d", i)))
		ev = bytes.ReplaceAll(ev, []byte("2026-11-21T03:12:44Z"), []byte(time.Date(2026, 11, 21, 3, 12, 44, 0, time.UTC).Add(time.Duration(i)*4*time.Second).Format(time.RFC3339)))
		var compact bytes.Buffer
		if err := json.Compact(&compact, ev); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, compact.String())
	}
	for i := range 40 {
		add("harvester/i-0f1e2d3c4b5a69788", i, fmt.Sprintf("prod/app-%02d/api-key", i))
	}
	add("harvester/i-0f1e2d3c4b5a69788", 39, "prod/app-39/api-key") // the same event delivered twice
	add("reader/i-0aaaabbbbccccdddd", 100, "prod/app-01/api-key")
	add("reader/i-0aaaabbbbccccdddd", 101, "prod/app-02/api-key")
	if err := os.WriteFile(filepath.Join(dir, "reads.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, noAWS, "replay", "--format", "json", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var alerted []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var line replay.Line
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		for _, d := range line.Detections {
			if d.ID == "secrets-harvested" {
				if d.Severity < detect.SeverityMedium {
					t.Errorf("%s: severity %s", line.ID, d.Severity)
				}
				alerted = append(alerted, line.ID)
			}
		}
	}
	if len(alerted) != 1 {
		t.Fatalf("secrets-harvested alerted %d times (%v), want once:\n%s", len(alerted), alerted, out)
	}
	code, out, _ = runCLI(t, noAWS, "replay", "--format", "email", dir)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"read 20 distinct secrets within 10 minutes", "prod/app-00/api-key", "prod/app-19/api-key"} {
		if !strings.Contains(out, want) {
			t.Errorf("the alert lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "reader/i-0aaaabbbbccccdddd") {
		t.Errorf("a principal that read two secrets was alerted:\n%s", out)
	}
}

// TestRegionsBurstInReplay: one principal creating launch templates in six
// regions within minutes raises one regions-burst alert when the fifth
// region is reached, high for the ImportKeyPair that crosses it; another
// creating them in four regions (and one of them twice) raises nothing.
func TestRegionsBurstInReplay(t *testing.T) {
	raw := fixture.Read(t, "ec2/regions-burst-create-launch-template.json")
	dir := t.TempDir()
	var lines []string
	add := func(session string, i int, region, eventName string) {
		ev := bytes.ReplaceAll(raw, []byte("botocore-session-1732416011"), []byte(session))
		ev = bytes.ReplaceAll(ev, []byte(`"eu-central-1"`), []byte(strconv.Quote(region)))
		ev = bytes.ReplaceAll(ev, []byte(`"CreateLaunchTemplate"`), []byte(strconv.Quote(eventName)))
		ev = bytes.ReplaceAll(ev, []byte("a6d4e1f9-7c5b-4d3a-8e2f-2b4c6d8e0f13"), []byte(fmt.Sprintf("a6d4e1f9-7c5b-4d3a-8e2f-%012d", i)))
		ev = bytes.ReplaceAll(ev, []byte("9d2e5f3c-1a46-4b0e-9c83-4e5f6a7b8c92"), []byte(fmt.Sprintf("9d2e5f3c-1a46-4b0e-9c83-%012d", i)))
		ev = bytes.ReplaceAll(ev, []byte("2026-11-24T02:43:52Z"), []byte(time.Date(2026, 11, 24, 2, 43, 52, 0, time.UTC).Add(time.Duration(i)*40*time.Second).Format(time.RFC3339)))
		var compact bytes.Buffer
		if err := json.Compact(&compact, ev); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, compact.String())
	}
	regions := []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "sa-east-1"}
	for i, r := range regions {
		name := "CreateLaunchTemplate"
		if i == 4 {
			name = "ImportKeyPair" // the crossing call creates access in the region
		}
		add("miner", i, r, name)
	}
	for i, r := range []string{"us-east-1", "us-west-2", "eu-west-1", "eu-west-1", "eu-central-1"} {
		add("deployer", 100+i, r, "CreateLaunchTemplate")
	}
	if err := os.WriteFile(filepath.Join(dir, "writes.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, noAWS, "replay", "--format", "json", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	type alerted struct {
		id       string
		severity detect.Severity
	}
	var got []alerted
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var line replay.Line
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		for _, d := range line.Detections {
			if d.ID == "regions-burst" {
				got = append(got, alerted{line.ID, d.Severity})
			}
		}
	}
	if want := []alerted{{"9d2e5f3c-1a46-4b0e-9c83-000000000004", detect.SeverityHigh}}; !slices.Equal(got, want) {
		t.Fatalf("regions-burst alerts = %v, want %v:\n%s", got, want, out)
	}
	code, out, _ = runCLI(t, noAWS, "replay", "--format", "email", dir)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"launched compute or created access in 5 distinct regions within 15 minutes", "ap-southeast-1", "ec2:ImportKeyPair called in ap-southeast-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the alert lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "app-deploy/deployer") {
		t.Errorf("a principal that changed four regions was alerted:\n%s", out)
	}
}
