package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/replay"
)

// flaggedLines are the JSON lines with detections, sorted.
func flaggedLines(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var line replay.Line
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if len(line.Detections) > 0 {
			b, _ := json.Marshal(line)
			lines = append(lines, string(b))
		}
	}
	slices.Sort(lines)
	return lines
}

// TestScanFlagsWhatReplayFlags: over every fixture, scan and an offline
// replay flag the same records with the same detections and severities.
func TestScanFlagsWhatReplayFlags(t *testing.T) {
	code, rout, errOut := runCLI(t, noAWS, "replay", "--offline", "--format", "json", fixture.Dir(t))
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	code, sout, errOut := runCLI(t, noAWS, "scan", "--format", "json", fixture.Dir(t))
	if code != exitOK {
		t.Fatalf("scan: exit %d: %s", code, errOut)
	}
	r, s := flaggedLines(t, rout), flaggedLines(t, sout)
	if len(r) < 50 || !slices.Equal(r, s) {
		t.Errorf("replay flagged %d records, scan %d; first difference:\n%s", len(r), len(s), firstDiff(r, s))
	}
	if !strings.Contains(errOut, "flagged") {
		t.Errorf("no summary on stderr: %q", errOut)
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return "replay: " + a[i] + "\nscan:   " + b[i]
		}
	}
	return "(one is a prefix of the other)"
}

// TestScanS3WithTheStandardEnvironment: an archive on a local S3 server,
// laid out as CloudTrail writes it, scanned as s3://bucket/AWSLogs/ with
// AWS_ENDPOINT_URL_S3 pointing at the server and the CLI's own AWS
// configuration loading: the same findings as the scan of the same files
// on disk; a report in each format.
func TestScanS3WithTheStandardEnvironment(t *testing.T) {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSCAN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "scan-secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	client := s3.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDSCAN", "scan-secret", ""),
		BaseEndpoint: aws.String(srv.URL)}, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("archive")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, name := range fixture.All(t) {
		if !strings.HasPrefix(name, "s3/") && !strings.HasPrefix(name, "iam/") {
			continue
		}
		var env struct {
			Detail json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(fixture.Read(t, name), &env); err != nil || env.Detail == nil {
			continue
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(`{"Records":[` + string(env.Detail) + `]}`))
		_ = zw.Close()
		base := strings.NewReplacer("/", "_", ".json", "").Replace(name) + ".json.gz"
		key := "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/" + []string{"20", "21", "22"}[i%3] + "/" + base
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("archive"), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(key)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, key), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, local, errOut := runCLI(t, noAWS, "scan", "--format", "json", dir)
	if code != exitOK {
		t.Fatalf("local scan: exit %d: %s", code, errOut)
	}
	report := filepath.Join(t.TempDir(), "report.html")
	code, remote, errOut := runCLI(t, defaultAWS, "scan", "--format", "json", "--report", report, "s3://archive/AWSLogs/")
	if code != exitOK {
		t.Fatalf("S3 scan: exit %d: %s", code, errOut)
	}
	l, r := flaggedLines(t, local), flaggedLines(t, remote)
	if len(l) < 10 || !slices.Equal(l, r) {
		t.Errorf("local scan flagged %d records, S3 scan %d: %s", len(l), len(r), firstDiff(l, r))
	}
	html, err := os.ReadFile(report)
	if err != nil || !bytes.Contains(html, []byte("<svg")) || !bytes.Contains(html, []byte("s3-bucket-policy-public")) {
		t.Errorf("report: %v\n%.500s", err, html)
	}
	// Pruned to a day outside the archive: nothing is read.
	code, _, errOut = runCLI(t, defaultAWS, "scan", "--format", "json", "--since", "2026-12-01", "s3://archive/AWSLogs/")
	if code != exitOK || !strings.Contains(errOut, "0 objects") {
		t.Errorf("pruned scan: exit %d: %s", code, errOut)
	}
}

func TestScanUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "name at least one"},
		{[]string{"scan", "--since", "yesterday", "x"}, "--since"},
		{[]string{"scan", "--since", "2026-11-02", "--until", "2026-11-01", "x"}, "before --until"},
		{[]string{"scan", "--min-severity", "urgent", "x"}, "--min-severity"},
		{[]string{"scan", "--detections", "no-such", "x"}, "not a detection"},
		{[]string{"scan", "--accounts", "1234", "x"}, "not an AWS account ID"},
		{[]string{"scan", "--report", "out.pdf", "x"}, ".md, .html or .json"},
		{[]string{"scan", "--format", "xml", "x"}, "xml"},
	} {
		code, _, errOut := runCLI(t, noAWS, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want usage error with %q", tc.args, code, errOut, tc.want)
		}
	}
	// Unreadable input is named, the rest runs, exit 3.
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "bad.json.gz"), []byte{0x1f, 0x8b, 0, 1}, 0o644)
	_ = os.WriteFile(filepath.Join(dir, "good.json"), fixture.Read(t, "s3/put-bucket-policy-public-read.json"), 0o644)
	code, out, errOut := runCLI(t, noAWS, "scan", "--format", "json", dir)
	if code != exitUnreadable || !strings.Contains(errOut, "bad.json.gz") || !strings.Contains(out, "s3-bucket-policy-public") {
		t.Errorf("exit %d, stderr %q, out %q", code, errOut, out)
	}
}
