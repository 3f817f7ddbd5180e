package scan_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/scan"
)

// TestSummaryAddCoversEveryField: every count adds up, so a field added
// to Summary later cannot be forgotten by the distributed scan's summary.
func TestSummaryAddCoversEveryField(t *testing.T) {
	var one scan.Summary
	v := reflect.ValueOf(&one).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Int64:
			f.SetInt(1)
		case reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("Summary.%s: a %s; teach Add and this test about it", v.Type().Field(i).Name, f.Kind())
		}
	}
	var sum scan.Summary
	sum.Add(one)
	sum.Add(one)
	got := reflect.ValueOf(sum)
	for i := range got.NumField() {
		f := got.Field(i)
		if f.Kind() == reflect.Int64 && f.Int() != 2 || f.Kind() == reflect.Bool && !f.Bool() {
			t.Errorf("Summary.%s = %v after adding 1 twice", got.Type().Field(i).Name, f)
		}
	}
}

func TestStatsMerge(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	a := &scan.Stats{
		Detections: map[string]*scan.DetectionStats{"x": {ID: "x", Title: "X", Count: 2, Severities: map[string]int{"high": 2}, First: day(20, 9), Last: day(20, 10), Principals: map[string]int{"arn:p": 2}}},
		Days:       map[string]map[string]int{"2026-11-20": {"high": 2}},
	}
	b := &scan.Stats{
		Detections: map[string]*scan.DetectionStats{
			"x": {ID: "x", Title: "X", Count: 1, Severities: map[string]int{"critical": 1}, First: day(19, 9), Last: day(19, 9), Principals: map[string]int{"arn:p": 1, "arn:q": 1}},
			"y": {ID: "y", Title: "Y", Count: 1, Severities: map[string]int{"low": 1}, First: day(21, 1), Last: day(21, 1), Principals: map[string]int{}},
		},
		Days: map[string]map[string]int{"2026-11-19": {"critical": 1}, "2026-11-20": {"high": 1}},
	}
	var got scan.Stats
	got.Merge(a)
	got.Merge(b)
	got.Merge(nil)
	want := scan.Stats{
		Detections: map[string]*scan.DetectionStats{
			"x": {ID: "x", Title: "X", Count: 3, Severities: map[string]int{"high": 2, "critical": 1}, First: day(19, 9), Last: day(20, 10), Principals: map[string]int{"arn:p": 3, "arn:q": 1}},
			"y": {ID: "y", Title: "Y", Count: 1, Severities: map[string]int{"low": 1}, First: day(21, 1), Last: day(21, 1), Principals: map[string]int{}},
		},
		Days: map[string]map[string]int{"2026-11-19": {"critical": 1}, "2026-11-20": {"high": 3}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged %+v\nwant %+v", got, want)
	}
	if a.Detections["x"].Count != 2 {
		t.Error("Merge changed its argument")
	}
}

func TestPruneKeepKey(t *testing.T) {
	p := scan.Prune{Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"},
		Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		key  string
		keep bool
	}{
		{"AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/2026/11/20/f.json.gz", true},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/f.json.gz", true}, // a day's margin
		{"AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/eu-west-1/2026/11/20/f.json.gz", false},
		{"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/f.json.gz", false},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/10/01/f.json.gz", false},
		{"AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/11/20/d.json.gz", false},
		{"elsewhere/f.json", true},
		{"f.json", true},
	} {
		if got := p.KeepKey(tc.key); got != tc.keep {
			t.Errorf("KeepKey(%q) = %v, want %v", tc.key, got, tc.keep)
		}
	}
}

func TestFiltersOptions(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		f       scan.Filters
		now     time.Time
		err     string
		flagErr string
	}{
		{name: "age without a now", f: scan.Filters{Since: "90d"}, err: `since: "90d" is neither RFC 3339`},
		{name: "age with a now", f: scan.Filters{Since: "90d"}, now: now},
		{name: "order", f: scan.Filters{Since: "2026-11-02", Until: "2026-11-01"}, err: "since must come before until", flagErr: "--since must come before --until"},
		{name: "severity", f: scan.Filters{MinSeverity: "urgent"}, err: "minSeverity: ", flagErr: "--min-severity: "},
		{name: "region", f: scan.Filters{Regions: []string{"mars"}}, err: `regions: "mars" is not a region name`},
		{name: "fine", f: scan.Filters{Since: "2026-11-01T00:00:00Z", Principal: "arn:aws:iam::*:user/a*", Accounts: []string{"111122223333"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _, err := tc.f.Options(tc.now)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.f.Principal != "" && (o.Filter == nil || !o.Filter("111122223333", "eu-west-1", "arn:aws:iam::111122223333:user/alice") || o.Filter("111122223333", "", "arn:aws:iam::1:role/x")) {
					t.Error("the accounts and principal filter does not decide as asked")
				}
				return
			}
			fe, ok := err.(*scan.FilterError)
			if !ok || !strings.Contains(err.Error(), tc.err) || tc.flagErr != "" && !strings.Contains(fe.FlagText(), tc.flagErr) {
				t.Errorf("Options() error %v, want %q (flag text %q)", err, tc.err, tc.flagErr)
			}
		})
	}
}
