package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/eventfile"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/replay"
	"github.com/trailwatch/trailwatch/internal/sigma"
)

// sigmaRules is the sigma package's mixed folder: rules that load and
// rules that are refused.
var sigmaRules = filepath.Join("..", "..", "internal", "sigma", "testdata", "rules")

// TestReplaySigmaReportsExactlyWhatRulesMatch: on the crafted events for
// the test rules and on every fixture under events/, `replay --sigma
// --format json` reports sigma-<id> on exactly the events whose CloudTrail
// record the rule matches (its evaluator alone, no pattern first).
func TestReplaySigmaReportsExactlyWhatRulesMatch(t *testing.T) {
	crafted := filepath.Join("..", "..", "internal", "sigma", "testdata", "events")
	code, out, errOut := runCLI(t, noAWS, "replay", "--offline", "--sigma", sigmaRules, "--format", "json", crafted, fixture.Dir(t))
	if code != exitUnreadable {
		t.Errorf("exit %d, want %d (the folder holds refused rules); stderr:\n%s", code, exitUnreadable, errOut)
	}
	if !strings.Contains(errOut, "refused") || !strings.Contains(errOut, "fieldref.yml") {
		t.Errorf("stderr does not name the refused rules:\n%s", errOut)
	}
	got := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var line replay.Line
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		for _, d := range line.Detections {
			if strings.HasPrefix(d.ID, "sigma-") {
				got[line.ID] = append(got[line.ID], d.ID)
			}
		}
	}
	set, err := sigma.LoadDir(sigmaRules)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	events := 0
	err = eventfile.ReadPaths([]string{crafted, fixture.Dir(t)}, func(it eventfile.Item) error {
		if it.Err != nil {
			t.Fatalf("%s: %v", it.Where, it.Err)
		}
		events++
		if it.Event.CloudTrail == nil {
			return nil
		}
		for _, r := range set.Rules {
			ok, err := r.Matches(it.Event.CloudTrail.Raw)
			if err != nil {
				t.Fatalf("%s on %s: %v", r.Detection.ID, it.Where, err)
			}
			if ok {
				want[it.Event.ID()] = append(want[it.Event.ID()], r.Detection.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for id, w := range want {
		slices.Sort(w)
		g := slices.Clone(got[id])
		slices.Sort(g)
		if !slices.Equal(g, w) {
			t.Errorf("event %s: replay reports %v, the rules match %v", id, g, w)
		}
		matched++
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("event %s: replay reports %v, which no rule matches", id, g)
		}
	}
	// The crafted events cover every loaded rule, and some events match
	// none, so the test could fail both ways.
	covered := map[string]bool{}
	for _, w := range want {
		for _, id := range w {
			covered[id] = true
		}
	}
	for _, r := range set.Rules {
		if !covered[r.Detection.ID] {
			t.Errorf("no event matches %s (%s)", r.Detection.ID, r.File)
		}
	}
	if matched == 0 || matched == events {
		t.Errorf("%d of %d events match some rule; want some but not all", matched, events)
	}
}

func TestRulesSigma(t *testing.T) {
	code, out, errOut := runCLI(t, noAWS, "rules", "--sigma", sigmaRules, "--format", "json")
	if code != exitUnreadable {
		t.Errorf("exit %d, want %d", code, exitUnreadable)
	}
	var rules []ruleInfo
	if err := json.Unmarshal([]byte(out), &rules); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, r := range rules {
		kinds[r.Kind.String()]++
		if r.Kind.String() == "sigma" && (!strings.HasPrefix(r.Source, sigmaRules) || !strings.HasPrefix(r.ID, "sigma-")) {
			t.Errorf("%s: source %q", r.ID, r.Source)
		}
		if r.Kind.String() == "go" && r.Source != "" {
			t.Errorf("%s: a Go detection with source %q", r.ID, r.Source)
		}
	}
	if kinds["sigma"] != 6 || kinds["go"] == 0 {
		t.Errorf("kinds = %v, want 6 sigma detections beside the built-in ones", kinds)
	}
	for _, name := range []string{"aggregation_count.yml", "correlation.yml", "keywords.yml", "other_logsource.yml", "fieldref.yml"} {
		if !strings.Contains(errOut, name) {
			t.Errorf("stderr does not name %s:\n%s", name, errOut)
		}
	}
	if strings.Contains(out, "refused") {
		t.Error("refusals belong on stderr")
	}
	code, out, _ = runCLI(t, noAWS, "rules", "--sigma", sigmaRules)
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "KIND") || !strings.Contains(out, "bucket_deleted.yml") {
		t.Errorf("table (exit %d):\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, noAWS, "rules", "--sigma", "testdata/no-such-folder"); code != exitUsage || !strings.Contains(errOut, "no-such-folder") {
		t.Errorf("missing folder: exit %d, %s", code, errOut)
	}
	code, out, _ = runCLI(t, noAWS, "rules", "--format", "json")
	if code != exitOK || strings.Contains(out, `"sigma"`) {
		t.Errorf("without --sigma: exit %d, sigma kinds in output", code)
	}
}
