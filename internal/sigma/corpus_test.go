package sigma

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/eventfile"
)

// corpusDir is SigmaHQ's CloudTrail rules beside the repository, when a
// machine has them (CI does); the project's tests never need it.
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpus", "sigmahq-cloudtrail")

// TestSigmaHQCorpus loads SigmaHQ's CloudTrail rules and reports how many
// load and why the others do not. The bar: at least 50 of 57.
func TestSigmaHQCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("no SigmaHQ corpus at %s", corpusDir)
	}
	set, err := LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	total := len(set.Rules) + len(set.Refused)
	t.Logf("%d of %d SigmaHQ CloudTrail rules load", len(set.Rules), total)
	reasons := map[string]int{}
	for _, r := range set.Refused {
		t.Logf("refused: %s", r)
		reasons[reasonKind(r.Reason)]++
	}
	var kinds []string
	for k := range reasons {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("refusal reason %q: %d", k, reasons[k])
	}
	loose := 0
	for _, r := range set.Rules {
		if len(r.Loose) > 0 {
			loose++
		}
	}
	t.Logf("%d loaded rules leave some of their fields to the decision only", loose)
	if total != 57 {
		t.Errorf("the corpus holds %d rules, want 57", total)
	}
	if len(set.Rules) < 50 {
		t.Errorf("%d rules load, want at least 50", len(set.Rules))
	}
	checkAgainstOwnValues(t, set)
}

func reasonKind(reason string) string {
	if i := strings.IndexAny(reason, ":("); i > 0 {
		return strings.TrimSpace(reason[:i])
	}
	return reason
}

// TestSigmaHQOnRecordedTrail runs SigmaHQ's rules on the recorded trail
// files beside the repository (Invictus IR's AWS dataset), when a machine
// has both: every event a rule matches passes its pattern, and the catalog
// decides as the evaluator does.
func TestSigmaHQOnRecordedTrail(t *testing.T) {
	if raceDetector {
		// A minute under -race for code that shares nothing between
		// goroutines; the run without -race checks the same.
		t.Skip("skipped under -race")
	}
	trail := filepath.Join("..", "..", "..", "shared", "corpus", "invictus-aws-dataset", "CloudTrail")
	for _, d := range []string{corpusDir, trail} {
		if _, err := os.Stat(d); err != nil {
			t.Skipf("no %s", d)
		}
	}
	set, err := LoadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	cats := make([]*detect.Catalog, len(set.Rules))
	for i, r := range set.Rules {
		if cats[i], err = detect.New(r.Detection); err != nil {
			t.Fatal(err)
		}
	}
	events, matches := 0, 0
	fired := map[string]int{}
	err = eventfile.ReadPaths([]string{trail}, func(it eventfile.Item) error {
		if it.Err != nil {
			return nil // the replay tests cover unreadable input
		}
		if it.Event.CloudTrail == nil {
			return nil
		}
		events++
		for i, r := range set.Rules {
			if checkEvent(t, r, cats[i], it.Event, it.Event.JSON) {
				matches++
				fired[r.Detection.Title]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d recorded events, %d rule matches: %v", events, matches, fired)
	if events == 0 {
		t.Error("no recorded event read")
	}
}
