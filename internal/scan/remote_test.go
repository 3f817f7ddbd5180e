package scan_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/scan"
)

func TestNarrowPrefix(t *testing.T) {
	one, two := []string{"111122223333"}, []string{"111122223333", "444455556666"}
	region := []string{"eu-west-1"}
	for _, tc := range []struct {
		prefix            string
		accounts, regions []string
		want              string
	}{
		{"AWSLogs/o-a1b2c3d4e5/", one, nil, "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/"},
		{"AWSLogs/o-a1b2c3d4e5/", one, region, "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/"},
		{"archive/AWSLogs/o-a1b2c3d4e5/", one, region, "archive/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/"},
		{"AWSLogs/o-a1b2c3d4e5/", two, region, "AWSLogs/o-a1b2c3d4e5/"},
		{"AWSLogs/o-a1b2c3d4e5/111122223333/", nil, region, "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/"},
		{"AWSLogs/111122223333/", one, region, "AWSLogs/111122223333/CloudTrail/eu-west-1/"},
		{"AWSLogs/111122223333/CloudTrail/", nil, region, "AWSLogs/111122223333/CloudTrail/eu-west-1/"},
		{"AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/", nil, region, "AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/"},
		// An organization trail keeps its ID under AWSLogs/: an account
		// folder there would not be the account's.
		{"AWSLogs/", one, region, "AWSLogs/"},
		{"", one, region, ""},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/", one, region, "AWSLogs/111122223333/CloudTrail/eu-west-1/"},
		{"AWSLogs/o-a1b2c3d4e5", one, region, "AWSLogs/o-a1b2c3d4e5"},
		{"logs/111122223333/", nil, region, "logs/111122223333/"},
		{"AWSLogs/o-a1b2c3d4e5/", []string{"../x"}, region, "AWSLogs/o-a1b2c3d4e5/"},
		{"AWSLogs/111122223333/CloudTrail/", nil, []string{"eu-west-1/../x"}, "AWSLogs/111122223333/CloudTrail/"},
	} {
		if got := scan.NarrowPrefix(tc.prefix, tc.accounts, tc.regions); got != tc.want {
			t.Errorf("NarrowPrefix(%q, %v, %v) = %q, want %q", tc.prefix, tc.accounts, tc.regions, got, tc.want)
		}
	}
}

// TestReadReport: what WriteJSON writes reads back whole; what would
// break the writers or is not one report is refused or dropped.
func TestReadReport(t *testing.T) {
	day := time.Date(2026, 11, 20, 7, 41, 0, 0, time.UTC)
	rep := scan.Report{
		Inputs:  []string{"s3://archive/AWSLogs/"},
		Summary: scan.Summary{Objects: 3, Records: 1200, Bytes: 1 << 20, Flagged: 2, Duration: 1500 * time.Millisecond},
		Stats: &scan.Stats{
			Detections: map[string]*scan.DetectionStats{"s3-bucket-policy-public": {ID: "s3-bucket-policy-public", Title: "Bucket made public", Count: 2,
				Severities: map[string]int{"high": 2}, First: day, Last: day.Add(time.Hour), Principals: map[string]int{"arn:aws:iam::111122223333:user/a": 2}}},
			Days: map[string]map[string]int{"2026-11-20": {"high": 2}},
		},
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := scan.ReadReport(&buf)
	if err != nil || !reflect.DeepEqual(got, rep) {
		t.Errorf("round trip: %v\n%+v\nwant %+v", err, got, rep)
	}

	got, err = scan.ReadReport(strings.NewReader(`{"inputs":[],"summary":{},"stats":{"detections":{"x":null},"days":null}}`))
	if err != nil || len(got.Stats.Detections) != 0 {
		t.Errorf("a null detection: %v, %+v", err, got.Stats)
	}
	var table bytes.Buffer
	if err := got.Stats.Table(&table); err != nil || !strings.Contains(table.String(), "(no findings)") {
		t.Errorf("table of an empty report: %v %q", err, table.String())
	}
	got, err = scan.ReadReport(strings.NewReader(`{"inputs":[],"summary":{}}`))
	if err != nil || got.Stats == nil {
		t.Errorf("no stats: %v, %+v", err, got)
	}
	for _, bad := range []string{``, `[]`, `{"summary":{"Objects":"many"}}`, `{"inputs":[]} {"inputs":[]}`, `{"inputs":["` + strings.Repeat("a", scan.MaxReportBytes) + `"]}`} {
		if _, err := scan.ReadReport(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadReport(%.60q) took it", bad)
		}
	}
}
