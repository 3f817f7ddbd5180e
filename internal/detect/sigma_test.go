package detect_test

import (
	"os"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/sigma"
)

// TestSigmaDetectionsInTheCatalog: the catalog tests itself for detections
// of kind sigma too: each loaded rule of the sigma package's test folder
// joins the built-in catalog, names its source file, carries the rule's id
// in its own, and has a pattern the test matcher understands.
func TestSigmaDetectionsInTheCatalog(t *testing.T) {
	set, err := sigma.LoadDir("../sigma/testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	c, err := detect.BuiltinWith(set.Detections()...)
	if err != nil {
		t.Fatalf("Builtin with the Sigma rules: %v", err)
	}
	for _, r := range set.Rules {
		d, ok := c.Get(r.Detection.ID)
		if !ok {
			t.Errorf("%s is not in the catalog", r.Detection.ID)
			continue
		}
		if d.Kind != detect.KindSigma || d.Kind.String() != "sigma" {
			t.Errorf("%s: kind %q", d.ID, d.Kind)
		}
		src, err := os.ReadFile(d.Source)
		if err != nil {
			t.Errorf("%s: source %q: %v", d.ID, d.Source, err)
			continue
		}
		if !strings.Contains(string(src), "id: "+strings.TrimPrefix(d.ID, "sigma-")) {
			t.Errorf("%s: %s does not declare id %s", d.ID, d.Source, strings.TrimPrefix(d.ID, "sigma-"))
		}
	}
	for _, d := range builtin(t).All() {
		if d.Kind == detect.KindSigma || d.Source != "" || d.Kind == detect.KindGo && d.Kind.String() != "go" {
			t.Errorf("built-in %s: kind %q, source %q", d.ID, d.Kind, d.Source)
		}
	}
	// A Sigma rule's id cannot take a built-in detection's place.
	dup := *set.Rules[0].Detection
	if _, err := detect.BuiltinWith(&dup, set.Rules[0].Detection); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("two detections with one ID: %v", err)
	}
}

func TestValidateSigmaDetections(t *testing.T) {
	good := func() *detect.Detection {
		return &detect.Detection{
			ID: "sigma-0b6a1c4e", Title: "t", Severity: detect.SeverityLow, Kind: detect.KindSigma, Source: "rules/x.yml",
			Pattern:  detect.APICall([]string{"s3.amazonaws.com"}, "DeleteBucket"),
			Evaluate: func(*event.Event, *detect.Env) (detect.Finding, bool) { return detect.Finding{}, true },
			Runbook:  "r", MITRE: []string{"T9999.001"},
		}
	}
	if _, err := detect.New(good()); err != nil {
		t.Fatalf("a Sigma detection without references or fixtures, citing a technique the catalog does not name, was refused: %v", err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*detect.Detection)
		want   string
	}{
		{"not sigma-", func(d *detect.Detection) { d.ID = "0b6a1c4e" }, "not sigma-"},
		{"no source", func(d *detect.Detection) { d.Source = "" }, "no Source"},
		{"bad technique", func(d *detect.Detection) { d.MITRE = []string{"attack.t1078"} }, "not an ID"},
		{"cis", func(d *detect.Detection) { d.CIS = []string{"4.3"} }, "no CIS"},
		{"narrow", func(d *detect.Detection) { d.Function = detect.FunctionInstance }, "another function"},
		{"no decision", func(d *detect.Detection) { d.Evaluate = nil }, "no Evaluate"},
		{"empty pattern", func(d *detect.Detection) { d.Pattern = detect.Pattern{} }, "empty pattern"},
		{"unknown kind", func(d *detect.Detection) { d.Kind = "threshold?" }, "unknown kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.break_(d)
			if _, err := detect.New(d); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New() error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
