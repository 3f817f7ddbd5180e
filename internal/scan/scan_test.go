package scan_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/scan"
	"github.com/trailwatch/trailwatch/internal/scan/scantest"
	"github.com/trailwatch/trailwatch/internal/state"
)

// logFile is a CloudTrail log file of the fixtures' records, gzipped as a
// trail writes it, each record given eventID id-N and the time at.

const (
	policy  = "s3/put-bucket-policy-public-read.json"
	quiet   = "ec2/security-group-changed-describe.json"
	account = "111122223333"
)

func newPipeline(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	c, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline.Pipeline{Catalog: c, Counter: state.NewMemory()}
}

// s3Archive serves objects from gofakes3, in process, through the real
// SDK client.
func s3Archive(t *testing.T, objects map[string][]byte) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	client := s3.NewFromConfig(aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSCAN", "scan-secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("archive")}); err != nil {
		t.Fatal(err)
	}
	for key, body := range objects {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("archive"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	return client
}

func key(org, acct, region string, day time.Time, name string) string {
	return fmt.Sprintf("AWSLogs/%s%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s.json.gz", org, acct, region, day.Format("2006/01/02"), acct, region, name)
}

func TestS3ArchiveWithPruning(t *testing.T) {
	day := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	objects := map[string][]byte{}
	for d := range 4 { // four days of three files each, two regions, two accounts
		at := day.AddDate(0, 0, d)
		for f := range 3 {
			name := fmt.Sprintf("%s_%d", at.Format("20060102"), f)
			objects[key("o-a1b2c3d4e5/", account, "eu-west-1", at, name)] = scantest.LogFile(t, at.Add(time.Duration(f)*time.Minute), policy, quiet)
			objects[key("o-a1b2c3d4e5/", account, "us-east-1", at, name)] = scantest.LogFile(t, at.Add(time.Duration(f)*time.Minute+time.Hour), quiet)
			objects[key("o-a1b2c3d4e5/", "444455556666", "eu-west-1", at, name)] = scantest.LogFile(t, at.Add(time.Duration(f)*time.Minute+2*time.Hour), policy)
		}
	}
	objects["AWSLogs/o-a1b2c3d4e5/"+account+"/CloudTrail-Digest/eu-west-1/2026/11/20/digest.json.gz"] = []byte("not events")
	objects[key("o-a1b2c3d4e5/", account, "eu-west-1", day, "truncated")] = scantest.LogFile(t, day, policy)[:40]
	client := s3Archive(t, objects)

	for _, tc := range []struct {
		name        string
		prune       scan.Prune
		wantObjects int64
		wantFlagged int64
		wantErrs    int
	}{
		{name: "everything, small pages", prune: scan.Prune{PageSize: 2}, wantObjects: 37, wantFlagged: 24, wantErrs: 1},
		{name: "one account", prune: scan.Prune{Accounts: []string{"444455556666"}}, wantObjects: 12, wantFlagged: 12},
		{name: "one region", prune: scan.Prune{Regions: []string{"us-east-1"}}, wantObjects: 12, wantFlagged: 0},
		{name: "two days (a day's margin each side)", prune: scan.Prune{Since: day.AddDate(0, 0, 2), Until: day.AddDate(0, 0, 2).Add(time.Hour), Accounts: []string{account}, Regions: []string{"eu-west-1"}},
			wantObjects: 9, wantFlagged: 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := scan.S3(client, "s3://archive/AWSLogs/", tc.prune)
			if err != nil {
				t.Fatal(err)
			}
			var errs []string
			var flagged int64
			sum, err := scan.Run(context.Background(), list, scan.Options{Pipeline: newPipeline(t), Workers: 3}, func(r scan.Record) error {
				if r.Err != nil {
					errs = append(errs, r.Where+": "+r.Err.Error())
				} else {
					flagged++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Objects != tc.wantObjects || sum.Flagged != tc.wantFlagged || flagged != tc.wantFlagged || len(errs) != tc.wantErrs {
				t.Errorf("objects %d flagged %d (%d reported) errors %q; want %d, %d, %d errors", sum.Objects, sum.Flagged, flagged, errs, tc.wantObjects, tc.wantFlagged, tc.wantErrs)
			}
			for _, e := range errs {
				if !strings.Contains(e, "truncated") || !strings.Contains(e, "unexpected EOF") {
					t.Errorf("error %q does not name the truncated object and why", e)
				}
			}
		})
	}
}

// TestOrderAndDecisionsDoNotDependOnWorkers: the same lines in the same
// order with one worker or eight, and one result per eventID.
func TestOrderAndDecisionsDoNotDependOnWorkers(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for i := range 30 {
		names := []string{quiet, policy}
		if i%3 == 0 {
			names = []string{quiet}
		}
		b := scantest.LogFile(t, at.Add(time.Duration(i)*time.Minute), names...)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.json.gz", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A copy of one file: organization trails can deliver a record twice.
	b, _ := os.ReadFile(filepath.Join(dir, "f01.json.gz"))
	_ = os.WriteFile(filepath.Join(dir, "f01-copy.json.gz"), b, 0o644)
	_ = os.WriteFile(filepath.Join(dir, "junk.json"), []byte("{not json"), 0o644)
	run := func(workers int) ([]string, scan.Summary) {
		var lines []string
		sum, err := scan.Run(context.Background(), scan.Local([]string{dir}), scan.Options{Pipeline: newPipeline(t), Workers: workers}, func(r scan.Record) error {
			if r.Err != nil {
				lines = append(lines, "error "+r.Where)
				return nil
			}
			var ids []string
			for _, f := range r.Findings {
				ids = append(ids, f.Detection.ID)
			}
			lines = append(lines, r.ID+" "+strings.Join(ids, ","))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return lines, sum
	}
	one, sum := run(1)
	eight, _ := run(8)
	if !slices.Equal(one, eight) {
		t.Errorf("1 worker:\n%s\n8 workers:\n%s", strings.Join(one, "\n"), strings.Join(eight, "\n"))
	}
	// The copy's two records are both duplicates (the Describe call is a
	// step towards discovery-burst).
	if sum.Flagged != 20 || sum.Duplicates != 2 || sum.Unreadable != 1 {
		t.Errorf("summary %+v; want 20 flagged, 2 duplicates, 1 unreadable", sum)
	}
}

func TestTimeAndPrincipalFilters(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for i := range 10 {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.json.gz", i)), scantest.LogFile(t, at.Add(time.Duration(i)*time.Hour), policy), 0o644)
	}
	for _, tc := range []struct {
		name string
		o    scan.Options
		want int64
	}{
		{name: "since and until", o: scan.Options{Since: at.Add(2 * time.Hour), Until: at.Add(5 * time.Hour)}, want: 3},
		{name: "principal", o: scan.Options{Principal: func(arn string) bool { return strings.HasSuffix(arn, "/nobody") }}, want: 0},
		{name: "minimum severity", o: scan.Options{MinSeverity: detect.SeverityCritical}, want: 0},
		{name: "detections", o: scan.Options{Detections: map[string]bool{"s3-bucket-config-changed": true}}, want: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Pipeline = newPipeline(t)
			sum, err := scan.Run(context.Background(), scan.Local([]string{dir}), tc.o, func(scan.Record) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			if sum.Flagged != tc.want {
				t.Errorf("flagged %d, want %d (%+v)", sum.Flagged, tc.want, sum)
			}
		})
	}
}

func TestInterruptedScanReportsWhatItRead(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for i := range 50 {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.json.gz", i)), scantest.LogFile(t, at.Add(time.Duration(i)*time.Minute), policy), 0o644)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	sum, err := scan.Run(ctx, scan.Local([]string{dir}), scan.Options{Pipeline: newPipeline(t), Workers: 2}, func(scan.Record) error {
		if n++; n == 5 {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || sum.Objects < 5 || sum.Objects == 50 {
		t.Errorf("summary %+v; want interrupted after about 5 objects", sum)
	}
}
