package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trailwatch/trailwatch/internal/awstest"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/render/rendertest"
	"github.com/trailwatch/trailwatch/internal/scan"
)

// The deployment the recorded Step Functions responses describe.
const (
	scanSM         = "arn:aws:states:eu-west-1:111122223333:stateMachine:ScanStateMachine2F6F7B7A-Qm3vXk9Lp2Rt"
	scanExecution  = "arn:aws:states:eu-west-1:111122223333:execution:ScanStateMachine2F6F7B7A-Qm3vXk9Lp2Rt:trailwatch-scan-20261204T051500Z-9f3c2a1b"
	scanMapRun     = "arn:aws:states:eu-west-1:111122223333:mapRun:ScanStateMachine2F6F7B7A-Qm3vXk9Lp2Rt/Scanarchive:6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
	scanArchive    = "s3://acme-org-cloudtrail-archive/AWSLogs/o-a1b2c3d4e5/"
	scanResults    = "trailwatch-scanresults-111122223333-eu-west-1"
	scanSummaryKey = "scans/trailwatch-scan-20261204T051500Z-9f3c2a1b/summary.json"
)

func sfnJSON(t *testing.T, name string) awstest.Response {
	t.Helper()
	return awstest.Response{Header: map[string]string{"Content-Type": "application/x-amz-json-1.0"}, Body: awstest.File(t, name)}
}

// scanDeployment is a local Step Functions (recorded answers, given in
// the order the polls get them) and a local S3 (gofakes3, reached through
// the same endpoint) holding the results bucket.
type scanDeployment struct {
	describe, executions, listRuns, mapRuns []awstest.Response
}

func (d scanDeployment) start(t *testing.T) (*awstest.Server, awsLoader, *s3.Client) {
	t.Helper()
	srv := awstest.NewServer(t)
	if d.describe == nil {
		d.describe = []awstest.Response{sfnJSON(t, "sfn-describe-state-machine.json")}
	}
	srv.Handle(awstest.Target("AWSStepFunctions.DescribeStateMachine"), d.describe...)
	srv.Handle(awstest.Target("AWSStepFunctions.StartExecution"), sfnJSON(t, "sfn-start-execution.json"))
	srv.Handle(awstest.Target("AWSStepFunctions.DescribeExecution"), d.executions...)
	if d.listRuns != nil {
		srv.Handle(awstest.Target("AWSStepFunctions.ListMapRuns"), d.listRuns...)
	}
	if d.mapRuns != nil {
		srv.Handle(awstest.Target("AWSStepFunctions.DescribeMapRun"), d.mapRuns...)
	}
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	srv.Proxy(func(r awstest.Request) bool { return r.Header.Get("X-Amz-Target") == "" }, fake.URL)
	client := s3.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDSCAN", "scan-secret", ""),
		BaseEndpoint: aws.String(fake.URL)}, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(scanResults)}); err != nil {
		t.Fatal(err)
	}
	load := func(_ context.Context, region string) (aws.Config, error) {
		if region != "eu-west-1" {
			t.Errorf("AWS configuration asked for region %q, want the state machine's (eu-west-1)", region)
		}
		return srv.Config(region), nil
	}
	return srv, load, client
}

// requestsFor returns the bodies of the requests for a Step Functions
// operation.
func requestsFor(srv *awstest.Server, op string) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Header.Get("X-Amz-Target") == "AWSStepFunctions."+op {
			out = append(out, string(r.Body))
		}
	}
	return out
}

// fixtureReport is the report of a local scan of every fixture, as the
// summary step would write it for the archive.
func fixtureReport(t *testing.T) (scan.Report, []byte, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "local.json")
	code, table, errOut := runCLI(t, noAWS, "scan", "--format", "table", "--report", file, fixture.Dir(t))
	if code != exitOK {
		t.Fatalf("local scan: exit %d: %s", code, errOut)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := scan.ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Stats.Detections) < 10 {
		t.Fatalf("the fixtures' report has %d detections", len(rep.Stats.Detections))
	}
	rep.Inputs = []string{scanArchive}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return rep, buf.Bytes(), table
}

// TestScanRemote: the execution is started with every filter, followed
// (no Map Run yet, then a running one) until it succeeds, and the summary
// it wrote is printed as the local scan prints its own, in both formats,
// with a report.
func TestScanRemote(t *testing.T) {
	rep, summaryJSON, localTable := fixtureReport(t)
	var wantMD bytes.Buffer
	if err := rep.WriteMarkdown(&wantMD); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			srv, load, client := scanDeployment{
				executions: []awstest.Response{sfnJSON(t, "sfn-describe-execution-running.json"), sfnJSON(t, "sfn-describe-execution-running.json"), sfnJSON(t, "sfn-describe-execution-succeeded.json")},
				listRuns:   []awstest.Response{sfnJSON(t, "sfn-list-map-runs-empty.json"), sfnJSON(t, "sfn-list-map-runs.json")},
				mapRuns:    []awstest.Response{sfnJSON(t, "sfn-describe-map-run-running.json"), sfnJSON(t, "sfn-describe-map-run-succeeded.json")},
			}.start(t)
			if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(scanResults), Key: aws.String(scanSummaryKey), Body: bytes.NewReader(summaryJSON)}); err != nil {
				t.Fatal(err)
			}
			report := filepath.Join(t.TempDir(), "remote.md")
			args := []string{"scan", "--remote", "--format", format, "--report", report, "--progress", "--poll-interval", "1ms",
				"--since", "2026-11-01", "--until", "2026-11-30T12:00:00+01:00", "--principal", "arn:aws:iam::*:user/*",
				"--detections", "s3-bucket-policy-public, sigma-5f0c3b2a", "--min-severity", "medium",
				"--accounts", "111122223333", "--regions", "eu-west-1", scanArchive}
			if format == "table" {
				args = append(args, "--state-machine", scanSM)
				t.Setenv(envScanStateMachine, "")
			} else {
				t.Setenv(envScanStateMachine, scanSM) // the ARN from the environment
			}
			code, out, errOut := runCLI(t, load, args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}

			starts := requestsFor(srv, "StartExecution")
			if len(starts) != 1 {
				t.Fatalf("%d StartExecution requests", len(starts))
			}
			var start struct {
				StateMachineArn, Name, Input string
			}
			if err := json.Unmarshal([]byte(starts[0]), &start); err != nil {
				t.Fatal(err)
			}
			if start.StateMachineArn != scanSM || !regexp.MustCompile(`^trailwatch-scan-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$`).MatchString(start.Name) {
				t.Errorf("StartExecution of %q named %q", start.StateMachineArn, start.Name)
			}
			var input map[string]any
			if err := json.Unmarshal([]byte(start.Input), &input); err != nil {
				t.Fatalf("input %q: %v", start.Input, err)
			}
			want := map[string]any{
				// One account and one region below the organization's
				// folder: the listing starts at that region's folder.
				"prefix": "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/",
				"filters": map[string]any{
					"since": "2026-11-01T00:00:00Z", "until": "2026-11-30T11:00:00Z", "principal": "arn:aws:iam::*:user/*", "minSeverity": "medium",
					"detections": []any{"s3-bucket-policy-public", "sigma-5f0c3b2a"}, "accounts": []any{"111122223333"}, "regions": []any{"eu-west-1"},
				},
			}
			if !reflect.DeepEqual(input, want) {
				t.Errorf("execution input:\n%s\nwant:\n%v", start.Input, want)
			}
			if n := len(requestsFor(srv, "DescribeExecution")); n != 3 {
				t.Errorf("%d DescribeExecution polls, want 3 (until SUCCEEDED)", n)
			}
			for _, body := range requestsFor(srv, "DescribeMapRun") {
				if !strings.Contains(body, scanMapRun) {
					t.Errorf("DescribeMapRun of another run: %s", body)
				}
			}
			if n := len(requestsFor(srv, "ListMapRuns")); n != 2 {
				t.Errorf("%d ListMapRuns requests, want 2 (none yet, then the run, whose ARN is kept)", n)
			}
			for _, w := range []string{"started " + scanExecution, "RUNNING: listing the archive", "RUNNING: 200 succeeded, 0 failed, 100 running",
				"SUCCEEDED: 300 succeeded", rep.Summary.String(), "findings (JSON Lines): s3://" + scanResults + "/scans/trailwatch-scan-20261204T051500Z-9f3c2a1b/findings/"} {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}

			if format == "table" && out != localTable {
				t.Errorf("table:\n%s\nwant the local scan's:\n%s", out, localTable)
			}
			if format == "json" {
				got, err := scan.ReadReport(strings.NewReader(out))
				if err != nil || !reflect.DeepEqual(got, rep) {
					t.Errorf("report JSON %v:\n%.800s", err, out)
				}
			}
			md, err := os.ReadFile(report)
			if err != nil || string(md) != wantMD.String() {
				t.Errorf("--report: %v\n%.800s", err, md)
			}
		})
	}
}

// TestScanRemoteFails: an execution that does not succeed is an error
// that names its status, error and cause; the cause is text the scan
// function quoted (object keys, event text) and reaches the terminal
// inert.
func TestScanRemoteFails(t *testing.T) {
	hostile := map[string]any{}
	if err := json.Unmarshal([]byte(awstest.File(t, "sfn-describe-execution-failed.json")), &hostile); err != nil {
		t.Fatal(err)
	}
	hostile["error"] = "wrapError"
	hostile["cause"] = `{"errorMessage":"AWSLogs/x/` + rendertest.Marker + "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202egnp.exe\ntrailwatch scan: 0 objects, 0 flagged" + rendertest.Marker + `: unexpected EOF","errorType":"wrapError"}`
	hostileBody, _ := json.Marshal(hostile)
	hostileFailed := awstest.Response{Header: map[string]string{"Content-Type": "application/x-amz-json-1.0"}, Body: string(hostileBody)}

	for _, tc := range []struct {
		name       string
		deployment scanDeployment
		want       []string
	}{
		{
			name: "a child failed",
			deployment: scanDeployment{
				executions: []awstest.Response{sfnJSON(t, "sfn-describe-execution-running.json"), sfnJSON(t, "sfn-describe-execution-failed.json")},
				listRuns:   []awstest.Response{sfnJSON(t, "sfn-list-map-runs.json")},
				mapRuns:    []awstest.Response{sfnJSON(t, "sfn-describe-map-run-running.json"), sfnJSON(t, "sfn-describe-map-run-failed.json")},
			},
			want: []string{"the scan FAILED: States.ExceedToleratedFailureThreshold: The specified tolerated failure threshold was exceeded",
				"execution: " + scanExecution, "200 of 300 objects done, 100 failed", "--map-run-arn " + scanMapRun},
		},
		{
			name:       "timed out",
			deployment: scanDeployment{executions: []awstest.Response{sfnJSON(t, "sfn-describe-execution-timed-out.json")}, listRuns: []awstest.Response{sfnJSON(t, "sfn-list-map-runs-empty.json")}},
			want:       []string{"the scan TIMED_OUT: no error or cause given", "execution: " + scanExecution},
		},
		{
			name:       "hostile cause",
			deployment: scanDeployment{executions: []awstest.Response{hostileFailed}, listRuns: []awstest.Response{sfnJSON(t, "sfn-list-map-runs-empty.json")}},
			want:       []string{"the scan FAILED: wrapError: ", `\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202egnp.exe\ntrailwatch scan: 0 objects`},
		},
		{
			// A definition that cannot be read is said, and the scan
			// goes on: the state machine is still the one named.
			name: "definition not readable",
			deployment: scanDeployment{
				describe:   []awstest.Response{{Header: map[string]string{"Content-Type": "application/x-amz-json-1.0"}, Body: `{"definition":"{\"StartAt\":","name":"ScanStateMachine2F6F7B7A-Qm3vXk9Lp2Rt","roleArn":"arn:aws:iam::111122223333:role/r","stateMachineArn":"` + scanSM + `","type":"STANDARD","creationDate":1764806400.512}`}},
				executions: []awstest.Response{sfnJSON(t, "sfn-describe-execution-timed-out.json")}, listRuns: []awstest.Response{sfnJSON(t, "sfn-list-map-runs-empty.json")},
			},
			want: []string{"cannot read the archive bucket from the state machine's definition (going on): not JSON", "started " + scanExecution, "the scan TIMED_OUT"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, load, _ := tc.deployment.start(t)
			code, out, errOut := runCLI(t, load, "scan", "--remote", "--state-machine", scanSM, "--poll-interval", "1ms", scanArchive)
			if code != exitDelivery {
				t.Errorf("exit %d, want %d", code, exitDelivery)
			}
			if out != "" {
				t.Errorf("stdout: %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			for _, c := range errOut {
				if c < 0x20 && c != '\n' || c == 0x7f || c == '\u202e' {
					t.Errorf("stderr holds %U:\n%q", c, errOut)
					break
				}
			}
			for _, line := range strings.Split(errOut, "\n") {
				if strings.HasPrefix(line, "trailwatch scan: 0 objects") {
					t.Errorf("the cause forged a line of its own: %q", line)
				}
			}
			if len(requestsFor(srv, "StartExecution")) != 1 {
				t.Errorf("not started once")
			}
		})
	}
}

// TestScanRemoteRefuses: what the deployed scan cannot do is refused
// before anything starts: a URL of another bucket than the state
// machine's, flags of the local scan, and incomplete arguments.
func TestScanRemoteRefuses(t *testing.T) {
	t.Setenv(envScanStateMachine, "")
	srv, load, _ := scanDeployment{executions: []awstest.Response{sfnJSON(t, "sfn-describe-execution-running.json")}}.start(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--state-machine", scanSM, "s3://acme-prod-logs/AWSLogs/"}, "the deployed scan reads bucket acme-org-cloudtrail-archive, not acme-prod-logs"},
		{[]string{"--state-machine", scanSM, "--all", scanArchive}, "--all does not apply with --remote"},
		{[]string{"--state-machine", scanSM, "--settings", "settings.json", scanArchive}, "--settings does not apply with --remote: the deployed settings apply"},
		{[]string{"--state-machine", scanSM, "--sigma", "rules", scanArchive}, "--sigma does not apply with --remote"},
		{[]string{"--state-machine", scanSM, "--workers", "4", scanArchive}, "--workers does not apply with --remote"},
		{[]string{"--state-machine", scanSM, "--cpuprofile", "cpu.out", scanArchive}, "--cpuprofile does not apply with --remote"},
		{[]string{"--state-machine", scanSM, scanArchive, "s3://acme-org-cloudtrail-archive/other/"}, "one s3:// URL"},
		{[]string{"--state-machine", scanSM, "events/"}, "one s3:// URL"},
		{[]string{scanArchive}, "needs --state-machine ARN or $TRAILWATCH_SCAN_STATE_MACHINE"},
		{[]string{"--state-machine", "ScanStateMachine", scanArchive}, "want the ARN of the scan's state machine"},
		{[]string{"--state-machine", scanSM, "--poll-interval", "0s", scanArchive}, "--poll-interval 0s"},
		{[]string{"--state-machine", scanSM, "--detections", "no-such", scanArchive}, `"no-such" is not a detection`},
		{[]string{"--state-machine", scanSM, "--since", "yesterday", scanArchive}, "--since"},
	} {
		code, _, errOut := runCLI(t, load, append([]string{"scan", "--remote"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want a usage error with %q", tc.args, code, errOut, tc.want)
		}
	}
	// --remote's own flags are refused without it.
	for _, flagArgs := range [][]string{{"--state-machine", scanSM}, {"--poll-interval", "1s"}} {
		code, _, errOut := runCLI(t, noAWS, append(append([]string{"scan"}, flagArgs...), fixture.Dir(t))...)
		if code != exitUsage || !strings.Contains(errOut, flagArgs[0]+" applies only with --remote") {
			t.Errorf("%v without --remote: exit %d, %q", flagArgs, code, errOut)
		}
	}
	if n := len(requestsFor(srv, "StartExecution")); n != 0 {
		t.Errorf("%d executions started by refused scans", n)
	}
	if n := len(requestsFor(srv, "DescribeStateMachine")); n != 1 {
		t.Errorf("%d DescribeStateMachine requests, want 1 (only the scan of another bucket got that far)", n)
	}
}

// TestScanRemoteInterrupted: Ctrl-C while the execution runs leaves it
// running and says how to stop it.
func TestScanRemoteInterrupted(t *testing.T) {
	srv, load, _ := scanDeployment{
		executions: []awstest.Response{sfnJSON(t, "sfn-describe-execution-running.json")},
		listRuns:   []awstest.Response{sfnJSON(t, "sfn-list-map-runs.json")},
		mapRuns:    []awstest.Response{sfnJSON(t, "sfn-describe-map-run-running.json")},
	}.start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"scan", "--remote", "--state-machine", scanSM, "--poll-interval", "1ms", scanArchive}, &out, &errOut, load)
	}()
	deadline := time.After(10 * time.Second)
	for len(requestsFor(srv, "DescribeExecution")) < 3 {
		select {
		case code := <-done:
			t.Fatalf("ended (exit %d) before the interrupt: %s", code, errOut.String())
		case <-deadline:
			t.Fatal("no polls")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	code := <-done
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	for _, w := range []string{"the scan keeps running in the account: " + scanExecution, "aws stepfunctions stop-execution --execution-arn " + scanExecution} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
		}
	}
	if n := len(requestsFor(srv, "StopExecution")); n != 0 {
		t.Errorf("the execution was stopped")
	}
}
