package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/replay"
	"github.com/trailwatch/trailwatch/internal/scan"
	"github.com/trailwatch/trailwatch/internal/scan/scantest"
	"github.com/trailwatch/trailwatch/internal/scanjob"
	"github.com/trailwatch/trailwatch/internal/state"
)

// recorder notes the requests that reach gofakes3: GETs per path and the
// encryption header of each PUT.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	gets map[string]int
	sse  map[string]string // SSE header and KMS key ID of each PUT, by path
}

// resultsKey is the results bucket's KMS key, as the stack sets it.
const resultsKey = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	switch req.Method {
	case http.MethodGet:
		r.gets[req.URL.Path]++
	case http.MethodPut:
		r.sse[req.URL.Path] = req.Header.Get("X-Amz-Server-Side-Encryption")
		if id := req.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); id != "" {
			r.sse[req.URL.Path] += " " + id
		}
	}
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

const (
	policy  = "s3/put-bucket-policy-public-read.json"
	quiet   = "ec2/security-group-changed-describe.json"
	account = "111122223333"
)

func key(acct, name string) string {
	return fmt.Sprintf("AWSLogs/o-a1b2c3d4e5/%s/CloudTrail/eu-west-1/2026/11/20/%s_CloudTrail_eu-west-1_%s.json.gz", acct, acct, name)
}

type env struct {
	client *s3.Client
	rec    *recorder
	invoke func(payload string) ([]byte, error)
}

// setUpEnv starts gofakes3 with the archive's objects and builds the
// function with setUp, as Lambda starts it, behind aws-lambda-go's handler.
func setUpEnv(t *testing.T, objects map[string][]byte, results bool, settings ...string) env {
	t.Helper()
	rec := &recorder{next: gofakes3.New(s3mem.New()).Server(), gets: map[string]int{}, sse: map[string]string{}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDSCAN", "secret", ""), BaseEndpoint: aws.String(srv.URL)}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	buckets := []string{"archive"}
	if results {
		buckets = append(buckets, "results")
	}
	for _, b := range buckets {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	for k, body := range objects {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("archive"), Key: aws.String(k), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{"TRAILWATCH_SCAN_ARCHIVE_BUCKET": "archive", "TRAILWATCH_SCAN_RESULTS_BUCKET": "results",
		"TRAILWATCH_SCAN_RESULTS_KEY": resultsKey}
	if len(settings) > 0 {
		vars["TRAILWATCH_SETTINGS"] = settings[0]
	}
	h, err := setUp(ctx, func(k string) string { return vars[k] }, func(context.Context) (aws.Config, error) { return cfg, nil }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	lh := lambda.NewHandler(h)
	return env{client: client, rec: rec, invoke: func(p string) ([]byte, error) { return lh.Invoke(ctx, []byte(p)) }}
}

func get(t *testing.T, c *s3.Client, bucket, k string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return b
}

func batchEvent(execution string, filters string, keys ...string) string {
	var items []string
	for _, k := range keys {
		items = append(items, fmt.Sprintf(`{"Key": %q, "Size": 1, "Etag": "\"x\"", "LastModified": "2026-11-20T09:00:00Z", "StorageClass": "STANDARD"}`, k))
	}
	return fmt.Sprintf(`{"Items": [%s], "BatchInput": {"execution": %q, "filters": %s}}`, strings.Join(items, ","), execution, filters)
}

const noFilters = `{"since": "", "until": "", "principal": "", "minSeverity": "", "detections": [], "accounts": [], "regions": []}`

// localLines is what the local scan flags in the same objects, as
// findings lines.
func localLines(t *testing.T, objects map[string][]byte, keys []string) []string {
	t.Helper()
	c, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	list := func(ctx context.Context, yield func(scan.Object) error) error {
		for _, k := range keys {
			body := objects[k]
			if err := yield(scan.Object{Name: "s3://archive/" + k, Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }}); err != nil {
				return err
			}
		}
		return nil
	}
	_, err = scan.Run(context.Background(), list, scan.Options{Pipeline: &pipeline.Pipeline{Catalog: c, Counter: state.NewMemory()}}, func(r scan.Record) error {
		if r.Err != nil {
			return nil
		}
		l := scanjob.Line{Line: replay.Line{ID: r.ID, Detections: []replay.Detection{}}, Object: strings.TrimPrefix(r.Where[:strings.LastIndex(r.Where, "#")], "s3://archive/")}
		for _, f := range r.Findings {
			l.Detections = append(l.Detections, replay.DetectionOf(f))
		}
		b, _ := json.Marshal(l)
		lines = append(lines, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestBatchThroughTheHandler(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	objects := map[string][]byte{
		key(account, "a"):        scantest.LogFile(t, at, policy, quiet),
		key(account, "b"):        scantest.LogFile(t, at.Add(time.Minute), quiet, policy),
		key(account, "corrupt"):  scantest.LogFile(t, at, policy)[:40],
		key("444455556666", "c"): scantest.LogFile(t, at, policy),
	}
	keys := []string{key(account, "a"), key(account, "corrupt"), key(account, "b"), key("444455556666", "c")}
	e := setUpEnv(t, objects, true)
	filters := `{"since": "2026-11-01T00:00:00Z", "until": "", "principal": "", "minSeverity": "", "detections": [], "accounts": ["111122223333"], "regions": []}`
	out, err := e.invoke(batchEvent("exec-1", filters, keys...))
	if err != nil {
		t.Fatal(err)
	}
	var got scanjob.BatchResult
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if want := (scanjob.BatchResult{Objects: 3, Records: 4, Flagged: 2, Unreadable: 1}); got != want {
		t.Errorf("result %+v, want %+v", got, want)
	}
	if n, read := e.rec.gets["/archive/"+key("444455556666", "c")], e.rec.gets["/archive/"+key(account, "a")]; n != 0 || read != 1 {
		t.Errorf("the pruned object was read %d times, a kept one %d; want 0 and 1", n, read)
	}
	id := scanjob.BatchID([]scanjob.Item{{Key: keys[0]}, {Key: keys[1]}, {Key: keys[2]}, {Key: keys[3]}})
	findingsKey, batchKey := "scans/exec-1/findings/"+id+".jsonl", "scans/exec-1/batches/"+id+".json"
	findings := get(t, e.client, "results", findingsKey)
	want := localLines(t, objects, []string{key(account, "a"), key(account, "b")})
	if gotLines := strings.Split(strings.TrimSpace(string(findings)), "\n"); strings.Join(gotLines, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings\n%s\nwant (the local scan's)\n%s", strings.Join(gotLines, "\n"), strings.Join(want, "\n"))
	}
	for _, k := range []string{findingsKey, batchKey} {
		if sse := e.rec.sse["/results/"+k]; sse != "aws:kms "+resultsKey {
			t.Errorf("%s written with encryption %q, want aws:kms under the results bucket's key", k, sse)
		}
	}
	batch := get(t, e.client, "results", batchKey)
	// Rerun (a retried child): the same keys, the same content.
	if _, err := e.invoke(batchEvent("exec-1", filters, keys...)); err != nil {
		t.Fatal(err)
	}
	if again := get(t, e.client, "results", findingsKey); !bytes.Equal(again, findings) {
		t.Errorf("rerun wrote other findings:\n%s", again)
	}
	var b1, b2 struct{ Stats *scan.Stats }
	_ = json.Unmarshal(batch, &b1)
	_ = json.Unmarshal(get(t, e.client, "results", batchKey), &b2)
	s1, _ := json.Marshal(b1.Stats)
	s2, _ := json.Marshal(b2.Stats)
	if !bytes.Equal(s1, s2) || b1.Stats == nil || len(b1.Stats.Detections) == 0 {
		t.Errorf("rerun stats %s, first %s", s2, s1)
	}

	// A second batch, then the summary merges both.
	if _, err := e.invoke(batchEvent("exec-1", filters, key(account, "b"))); err != nil {
		t.Fatal(err)
	}
	out, err = e.invoke(`{"summarize": true, "execution": "exec-1", "prefix": "AWSLogs/o-a1b2c3d4e5/", "filters": ` + filters + `}`)
	if err != nil {
		t.Fatal(err)
	}
	var sum scanjob.SummaryResult
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatal(err)
	}
	wantSum := scanjob.SummaryResult{Summary: "s3://results/scans/exec-1/summary.json", Findings: "s3://results/scans/exec-1/findings/",
		BatchResult: scanjob.BatchResult{Objects: 4, Records: 6, Flagged: 3, Unreadable: 1}}
	if sum != wantSum {
		t.Errorf("summary %+v, want %+v", sum, wantSum)
	}
	var report scan.Report
	if err := json.Unmarshal(get(t, e.client, "results", "scans/exec-1/summary.json"), &report); err != nil {
		t.Fatal(err)
	}
	count := func(s *scan.Stats) int {
		n := 0
		for _, d := range s.Detections {
			n += d.Count
		}
		return n
	}
	var second struct{ Stats *scan.Stats }
	id2 := scanjob.BatchID([]scanjob.Item{{Key: key(account, "b")}})
	if err := json.Unmarshal(get(t, e.client, "results", "scans/exec-1/batches/"+id2+".json"), &second); err != nil {
		t.Fatal(err)
	}
	if want := count(b1.Stats) + count(second.Stats); report.Inputs[0] != "s3://archive/AWSLogs/o-a1b2c3d4e5/" || report.Summary.Flagged != 3 || count(report.Stats) != want {
		t.Errorf("report inputs %q, flagged %d, findings %d; want 3 flagged, %d findings", report.Inputs, report.Summary.Flagged, count(report.Stats), want)
	}
	if sse := e.rec.sse["/results/scans/exec-1/summary.json"]; sse != "aws:kms "+resultsKey {
		t.Errorf("summary written with encryption %q", sse)
	}
}

func TestErrors(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	objects := map[string][]byte{key(account, "a"): scantest.LogFile(t, at, policy)}
	ok := setUpEnv(t, objects, true)
	noResults := setUpEnv(t, objects, false)
	for _, tc := range []struct {
		name  string
		e     env
		event string
		want  string
	}{
		{"results cannot be written", noResults, batchEvent("exec-1", noFilters, key(account, "a")), "write s3://results/"},
		{"bad since", ok, batchEvent("exec-1", strings.Replace(noFilters, `"since": ""`, `"since": "90d"`, 1), key(account, "a")), "since:"},
		{"bad severity", ok, batchEvent("exec-1", strings.Replace(noFilters, `"minSeverity": ""`, `"minSeverity": "urgent"`, 1), key(account, "a")), "minSeverity:"},
		{"bad detection", ok, batchEvent("exec-1", strings.Replace(noFilters, `"detections": []`, `"detections": ["no-such"]`, 1), key(account, "a")), "not a detection"},
		{"bad account", ok, batchEvent("exec-1", strings.Replace(noFilters, `"accounts": []`, `"accounts": ["1234"]`, 1), key(account, "a")), "not an AWS account ID"},
		{"execution with a slash", ok, batchEvent("../x", noFilters, key(account, "a")), "not a Step Functions execution name"},
		{"execution too long", ok, batchEvent(strings.Repeat("a", 81), noFilters, key(account, "a")), "not a Step Functions execution name"},
		{"summary of a bad execution", ok, `{"summarize": true, "execution": "a b", "prefix": "", "filters": ` + noFilters + `}`, "not a Step Functions execution name"},
		{"unknown kind", ok, `{"hello": 1}`, "neither a batch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.e.invoke(tc.event)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// TestSettingsSuppress: the allow-lists of TRAILWATCH_SETTINGS apply, as
// the CLI's --settings does.
func TestSettingsSuppress(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	objects := map[string][]byte{key(account, "a"): scantest.LogFile(t, at, policy, policy)}
	for _, tc := range []struct {
		name     string
		settings string
		flagged  int64
	}{
		{"none", `{"env":{},"suppressions":[]}`, 2},
		{"all suppressed", `{"env":{},"suppressions":[{"detections":["*"],"accounts":["111122223333"],"reason":"all"}]}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setUpEnv(t, objects, true, tc.settings)
			out, err := e.invoke(batchEvent("exec-s", noFilters, key(account, "a")))
			if err != nil {
				t.Fatal(err)
			}
			var got scanjob.BatchResult
			if err := json.Unmarshal(out, &got); err != nil || got.Flagged != tc.flagged {
				t.Errorf("result %s (%v), want %d flagged", out, err, tc.flagged)
			}
		})
	}
	if _, err := setUp(context.Background(), func(k string) string {
		return map[string]string{"TRAILWATCH_SCAN_ARCHIVE_BUCKET": "a", "TRAILWATCH_SCAN_RESULTS_BUCKET": "r", "TRAILWATCH_SETTINGS": `{"nope":1}`}[k]
	}, func(context.Context) (aws.Config, error) { return aws.Config{Region: "eu-west-1"}, nil }, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "TRAILWATCH_SETTINGS") {
		t.Errorf("setUp() with bad settings: %v, want an error naming TRAILWATCH_SETTINGS", err)
	}
}

func TestSetUpNeedsTheBuckets(t *testing.T) {
	_, err := setUp(context.Background(), func(string) string { return "" },
		func(context.Context) (aws.Config, error) { return aws.Config{Region: "eu-west-1"}, nil }, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "TRAILWATCH_SCAN_ARCHIVE_BUCKET") {
		t.Errorf("setUp() error %v, want one naming the bucket variables", err)
	}
}
