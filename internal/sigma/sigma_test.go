package sigma

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

func loadTestdata(t testing.TB) *Set {
	t.Helper()
	set, err := LoadDir("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestLoadMixedFolder: the supported rules load, each refused one is named
// with its file and reason.
func TestLoadMixedFolder(t *testing.T) {
	set := loadTestdata(t)
	var loaded []string
	for _, r := range set.Rules {
		loaded = append(loaded, r.File+" "+r.Detection.ID)
	}
	want := []string{
		"testdata/rules/bucket_deleted.yml sigma-0b6a1c4e-1111-4a6f-9a55-000000000001",
		"testdata/rules/console_root.yml sigma-0b6a1c4e-1111-4a6f-9a55-000000000002",
		"testdata/rules/layer_attached.yml sigma-0b6a1c4e-1111-4a6f-9a55-000000000003",
		"testdata/rules/misc_constructs.yml sigma-0b6a1c4e-1111-4a6f-9a55-000000000006",
		"testdata/rules/policy_wildcard.yml sigma-0b6a1c4e-1111-4a6f-9a55-000000000004",
		"testdata/rules/trail_tampered.yml sigma-0b6a1c4e-1111-4a6f-9a55-000000000005",
	}
	if strings.Join(loaded, "\n") != strings.Join(want, "\n") {
		t.Errorf("loaded:\n%s\nwant:\n%s", strings.Join(loaded, "\n"), strings.Join(want, "\n"))
	}
	refused := map[string]string{
		"aggregation_count.yml": "aggregations",
		"bad_level.yml":         `level "severe"`,
		"broken.yml":            "not a Sigma rule",
		"contains_only.yml":     "would run on every CloudTrail event",
		"correlation.yml":       "correlation rules",
		"fieldref.yml":          "fieldref",
		"keywords.yml":          "keyword searches",
		"no_id.yml":             "no id",
		"other_logsource.yml":   `product "windows"`,
		"placeholder.yml":       "placeholder %admins%",
		"timeframe.yml":         "timeframe",
		"undefined_search.yml":  `names "filter"`,
		"unknown_modifier.yml":  "unknown modifier base64offset",
	}
	got := map[string]bool{}
	for _, r := range set.Refused {
		name := strings.TrimPrefix(r.File, "testdata/rules/refused/")
		got[name] = true
		want, ok := refused[name]
		if !ok {
			t.Errorf("refused %s, which should load: %s", r.File, r)
			continue
		}
		if !strings.Contains(r.String(), want) || !strings.Contains(r.String(), r.File) {
			t.Errorf("refusal %q, want the file and %q", r, want)
		}
	}
	for name := range refused {
		if !got[name] {
			t.Errorf("%s was not refused", name)
		}
	}
	if err := set.RefusedError(); err == nil || !strings.Contains(err.Error(), "fieldref.yml") {
		t.Errorf("RefusedError() = %v", err)
	}
	if _, err := LoadDir("testdata/missing"); err == nil {
		t.Error("a missing folder loaded")
	}
	if _, err := LoadDir("testdata/rules/bucket_deleted.yml"); err == nil {
		t.Error("a file loaded as a folder")
	}
}

// TestMetadata: title, description, level, ATT&CK tags, references and
// false positives become the detection's.
func TestMetadata(t *testing.T) {
	set := loadTestdata(t)
	d := set.Rules[0].Detection
	if d.Title != "S3 bucket deleted" || d.Description != "A bucket was deleted successfully." || d.Severity != detect.SeverityHigh {
		t.Errorf("metadata = %q %q %v", d.Title, d.Description, d.Severity)
	}
	if strings.Join(d.MITRE, ",") != "T1485" {
		t.Errorf("MITRE = %v, want [T1485] (tactic tags are not techniques)", d.MITRE)
	}
	if len(d.References) != 1 || len(d.FalsePositives) != 1 || !strings.Contains(d.Runbook, "pipelines") {
		t.Errorf("references %v, false positives %v, runbook %q", d.References, d.FalsePositives, d.Runbook)
	}
	if d.Kind != detect.KindSigma || d.Source != "testdata/rules/bucket_deleted.yml" || !d.NeedsReadOnly {
		t.Errorf("kind %v source %q readOnly %t", d.Kind, d.Source, d.NeedsReadOnly)
	}
	levels := map[string]detect.Severity{}
	for _, r := range set.Rules {
		levels[r.Sigma.Level] = r.Detection.Severity
	}
	if levels["informational"] != detect.SeverityInfo || levels["critical"] != detect.SeverityCritical || levels["low"] != detect.SeverityLow {
		t.Errorf("levels = %v", levels)
	}
	if _, err := detect.BuiltinWith(set.Detections()...); err != nil {
		t.Errorf("the built-in catalog with the rules: %v", err)
	}
}

// TestGeneratedEvents: for every rule in testdata, events built from its
// own values: whatever the rule matches, the pattern matches, and the
// catalog decides as the evaluator does.
func TestGeneratedEvents(t *testing.T) {
	checkAgainstOwnValues(t, loadTestdata(t))
}

// FuzzPatternNeverMisses: the fuzzer picks the rule, the generator's seed
// and a value it may put in any field.
func FuzzPatternNeverMisses(f *testing.F) {
	set := loadTestdata(f)
	cats := make([]*detect.Catalog, len(set.Rules))
	gens := make([]ruleGen, len(set.Rules))
	for i, r := range set.Rules {
		c, err := detect.New(r.Detection)
		if err != nil {
			f.Fatal(err)
		}
		cats[i], gens[i] = c, generators(r.Sigma)
	}
	f.Add(uint8(0), uint64(1), "")
	f.Add(uint8(1), uint64(2), "ROOT")
	f.Add(uint8(5), uint64(3), "x.amazonaws.com")
	f.Add(uint8(2), uint64(4), "arn:aws:lambda:us-east-1:1:layer:x")
	f.Fuzz(func(t *testing.T, rule uint8, seed uint64, extra string) {
		i := int(rule) % len(set.Rules)
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		check(t, set.Rules[i], cats[i], generate(rng, gens[i], extra))
	})
}

// FuzzParse: no rule file, however broken, panics the loader; what loads
// has a pattern the matcher takes.
func FuzzParse(f *testing.F) {
	set := loadTestdata(f)
	for _, r := range set.Rules {
		b, err := readBounded(r.File)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("detection:\n  condition: 1 of\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, refusal := Parse("fuzz.yml", data)
		if (r == nil) == (refusal == nil) {
			t.Fatalf("Parse gave rule %v and refusal %v", r, refusal)
		}
		if r == nil {
			return
		}
		if _, err := detect.New(r.Detection); err != nil {
			t.Fatalf("a loaded rule is refused by the catalog: %v", err)
		}
	})
}

// TestPatternsFitEventBridge: every loaded rule's pattern fits EventBridge's
// 2048 characters even with its non-ASCII letters escaped, and a rule with
// many values loses the field with the most of them, not its event source.
func TestPatternsFitEventBridge(t *testing.T) {
	var names []string
	for i := range 20 {
		names = append(names, "    - PutEventSelectorsForTrail"+string(rune('A'+i%26))+string(rune('a'+i/26)))
	}
	src := constructHeader + "  sel:\n    eventSource: kms.amazonaws.com\n    eventName:\n" + strings.Join(names, "\n") + "\n  condition: sel\n"
	r, refusal := Parse("many.yml", []byte(src))
	if refusal != nil {
		t.Fatal(refusal)
	}
	p, _ := r.Detection.Pattern.JSON()
	if escapedLen(p) > maxPatternChars || !strings.Contains(p, "kms.amazonaws.com") || strings.Contains(p, "PutEventSelectorsForTrail") {
		t.Errorf("pattern (%d characters escaped): %s", escapedLen(p), p)
	}
	if len(r.Loose) == 0 || !strings.Contains(strings.Join(r.Loose, ";"), "eventName: left out so the pattern fits") {
		t.Errorf("unfiltered = %v", r.Loose)
	}
	for _, r := range loadTestdata(t).Rules {
		if p, _ := r.Detection.Pattern.JSON(); escapedLen(p) > maxPatternChars {
			t.Errorf("%s: %d characters", r.File, escapedLen(p))
		}
	}
}

// TestFinding: the alert names the rule, its file, what matched and the
// values the rule read.
func TestFinding(t *testing.T) {
	set := loadTestdata(t)
	cat, err := detect.New(set.Rules[0].Detection)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/events/delete-bucket-policy-upper.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := cat.Evaluate(ev)
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings %v, %v", fs, err)
	}
	f := fs[0]
	if f.Headline != "S3 bucket deleted: DELETEBUCKETPOLICY" || f.Severity != detect.SeverityHigh || f.Resource.Name != "s3:DELETEBUCKETPOLICY" {
		t.Errorf("headline %q, severity %v, resource %+v", f.Headline, f.Severity, f.Resource)
	}
	want := []string{"bucket_deleted.yml", "selection_event, selection_status_success", "errorCode = Success; eventName = DELETEBUCKETPOLICY; eventSource = s3.amazonaws.com"}
	text := f.Evidence[0].Text + "\n" + f.Evidence[1].Text
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("evidence %q lacks %q", text, w)
		}
	}
}
