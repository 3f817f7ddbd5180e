package detect_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// fixtureEnv is the deployment the fixtures assume: the trail writes to
// acme-cloudtrail-archive, the account uses four regions.
var fixtureEnv = detect.Env{
	TrailBuckets:   []string{"acme-cloudtrail-archive"},
	AllowedRegions: []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1"},
}

func builtin(t testing.TB) *detect.Catalog {
	t.Helper()
	c, err := detect.Builtin()
	if err != nil {
		t.Fatalf("Builtin(): %v", err)
	}
	c, err = c.WithEnv(fixtureEnv)
	if err != nil {
		t.Fatalf("WithEnv: %v", err)
	}
	return c
}

func decodeFixture(t testing.TB, name string) *event.Event {
	t.Helper()
	ev, err := event.Decode(fixture.Read(t, name))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return ev
}

// TestCatalogMetadata checks what Validate cannot: each detection lives in
// the file named after its ID.
func TestCatalogMetadata(t *testing.T) {
	c := builtin(t)
	if len(c.All()) == 0 {
		t.Fatal("the catalog is empty")
	}
	for _, d := range c.All() {
		t.Run(d.ID, func(t *testing.T) {
			file := strings.ReplaceAll(d.ID, "-", "_") + ".go"
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("detection %s must be declared in %s: %v", d.ID, file, err)
			}
			decl := regexp.MustCompile(`ID:\s+"` + regexp.QuoteMeta(d.ID) + `"`)
			if n := len(decl.FindAll(src, -1)); n != 1 {
				t.Errorf("%s declares ID %q %d times, want once", file, d.ID, n)
			}
			if strings.Count(string(src), "register(") != 1 {
				t.Errorf("%s must register exactly one detection", file)
			}
		})
	}
}

func TestValidateRejectsIncompleteDetections(t *testing.T) {
	good := func() *detect.Detection {
		return &detect.Detection{
			ID: "good-one", Title: "t", Description: "d", Severity: detect.SeverityLow,
			Pattern:  detect.APICall([]string{"s3.amazonaws.com"}, "PutBucketTagging"),
			Evaluate: func(*event.Event, *detect.Env) (detect.Finding, bool) { return detect.Finding{}, true },
			CIS:      []string{"4.8"}, MITRE: []string{"T1530"}, Runbook: "r", References: []string{"https://example.com"},
			Tests: detect.Tests{Positive: []detect.Example{{File: "a.json", Severity: detect.SeverityLow}}, Negative: []string{"b.json"}},
		}
	}
	if _, err := detect.New(good()); err != nil {
		t.Fatalf("a complete detection was refused: %v", err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*detect.Detection)
		want   string
	}{
		{"bad id", func(d *detect.Detection) { d.ID = "Bad_ID" }, "kebab"},
		{"no title", func(d *detect.Detection) { d.Title = "" }, "no Title"},
		{"no severity", func(d *detect.Detection) { d.Severity = 0 }, "invalid Severity"},
		{"no decision", func(d *detect.Detection) { d.Evaluate = nil }, "no Evaluate"},
		{"cis outside monitoring", func(d *detect.Detection) { d.CIS = []string{"2.1.4"} }, "not a monitoring control 4.1-4.15"},
		{"unknown related cis", func(d *detect.Detection) { d.CISRelated = []string{"9.99"} }, "unknown CIS"},
		{"unknown technique", func(d *detect.Detection) { d.MITRE = []string{"T9999"} }, "unknown ATT&CK"},
		{"no negative", func(d *detect.Detection) { d.Tests.Negative = nil }, "negative fixture"},
		{"no runbook", func(d *detect.Detection) { d.Runbook = "" }, "no Runbook"},
		{"empty pattern", func(d *detect.Detection) { d.Pattern = detect.Pattern{} }, "empty pattern"},
		{"operator quamina lacks", func(d *detect.Detection) {
			d.Pattern.Detail["errorCode"] = []any{map[string]any{"suffix": "Denied"}}
		}, "not understood by the matcher"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.break_(d)
			_, err := detect.New(d)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New() error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := detect.New(good(), good()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate IDs: error = %v", err)
	}
}

// TestFixtures runs every fixture under events/ through the catalog: each
// must raise exactly the detections that list it as positive, at the
// severity they give, and nothing else.
func TestFixtures(t *testing.T) {
	c := builtin(t)
	type want struct {
		ID       string
		Severity detect.Severity
	}
	expected := map[string][]want{}
	listed := map[string]bool{}
	listedBy := map[string]map[string]bool{} // detection -> its fixtures
	for _, d := range c.All() {
		listedBy[d.ID] = map[string]bool{}
		for _, ex := range d.Tests.Positive {
			expected[ex.File] = append(expected[ex.File], want{d.ID, ex.Severity})
			listed[ex.File] = true
			listedBy[d.ID][ex.File] = true
		}
		for _, n := range d.Tests.Negative {
			listed[n] = true
			listedBy[d.ID][n] = true
		}
	}
	all := fixture.All(t)
	for name := range listed {
		if !slices.Contains(all, name) {
			t.Errorf("a detection lists fixture %s, which does not exist under events/", name)
		}
	}
	for _, name := range all {
		t.Run(name, func(t *testing.T) {
			if !listed[name] {
				t.Errorf("no detection lists %s as a positive or negative fixture", name)
			}
			findings, err := c.Evaluate(decodeFixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, f := range findings {
				if f.Detection.Threshold != nil && !listedBy[f.Detection.ID][name] {
					// A step towards a threshold, on an event another
					// detection's fixture records: counted, never alerted
					// on its own; each threshold detection's own fixtures
					// prove it.
					continue
				}
				got = append(got, want{f.Detection.ID, f.Severity})
				if f.Headline == "" || f.Resource.Type == "" {
					t.Errorf("%s: finding without headline or resource: %+v", f.Detection.ID, f)
				}
				if f.Attempt && f.Severity > detect.SeverityLow && !detect.AttemptRaised(f) {
					t.Errorf("%s: a failed attempt came out %s; attempts stay low unless the finding says why (AttemptRaised)", f.Detection.ID, f.Severity)
				}
			}
			slices.SortFunc(got, func(a, b want) int { return strings.Compare(a.ID, b.ID) })
			exp := slices.Clone(expected[name])
			slices.SortFunc(exp, func(a, b want) int { return strings.Compare(a.ID, b.ID) })
			if !slices.Equal(got, exp) {
				t.Errorf("findings = %v, want %v", got, exp)
			}
		})
	}
}

// TestNegativesIncludePatternRejects makes sure each detection's negatives
// exercise the pattern itself, not only the Go decision.
func TestNegativesIncludePatternRejects(t *testing.T) {
	c := builtin(t)
	for _, d := range c.All() {
		rejected := 0
		for _, n := range d.Tests.Negative {
			matched, err := c.Match(decodeFixture(t, n))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(matched, d) {
				rejected++
			}
		}
		if rejected == 0 {
			t.Errorf("%s: no negative fixture is rejected by the pattern", d.ID)
		}
		for _, p := range d.Tests.Positive {
			matched, err := c.Match(decodeFixture(t, p.File))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(matched, d) {
				t.Errorf("%s: pattern does not match positive fixture %s", d.ID, p.File)
			}
		}
	}
}

func TestEvaluateSurvivesAPanickingDetection(t *testing.T) {
	boom := &detect.Detection{
		ID: "boom", Title: "t", Description: "d", Severity: detect.SeverityLow,
		Pattern:  detect.APICall([]string{"s3.amazonaws.com"}, "PutBucketPolicy"),
		Evaluate: func(*event.Event, *detect.Env) (detect.Finding, bool) { panic("bug") },
		MITRE:    []string{"T1530"}, Runbook: "r", References: []string{"x"},
		Tests: detect.Tests{Positive: []detect.Example{{File: "a", Severity: detect.SeverityLow}}, Negative: []string{"b"}},
	}
	b, _ := detect.Builtin()
	all := append(b.All(), boom)
	c, err := detect.New(all...)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := c.Evaluate(decodeFixture(t, "s3/put-bucket-policy-public-read.json"))
	if err == nil || !strings.Contains(err.Error(), `"boom" panicked`) {
		t.Errorf("error = %v, want the panic reported", err)
	}
	var ids []string
	for _, f := range findings {
		if f.Detection.Threshold == nil { // steps the pipeline counts first
			ids = append(ids, f.Detection.ID)
		}
	}
	if !slices.Equal(ids, []string{"s3-bucket-policy-public", "s3-bucket-config-changed"}) {
		t.Errorf("the other detections must still report; got %v", ids)
	}
}

func TestSeverityText(t *testing.T) {
	for s := detect.SeverityInfo; s <= detect.SeverityCritical; s++ {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back detect.Severity
		if err := back.UnmarshalText([]byte(strings.ToUpper(string(b)))); err != nil || back != s {
			t.Errorf("round trip of %v gave %v, %v", s, back, err)
		}
	}
	if _, err := detect.ParseSeverity("severe"); err == nil {
		t.Error("unknown severity accepted")
	}
	if _, err := detect.Severity(0).MarshalText(); err == nil {
		t.Error("zero severity marshalled")
	}
}

func TestPatternWhere(t *testing.T) {
	base := detect.APICall([]string{"iam.amazonaws.com"}, "CreateAccessKey")
	root := base.Where("userIdentity.type", "Root").Where("errorCode", map[string]any{"exists": false})
	got, err := root.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"source":["aws.iam"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"errorCode":[{"exists":false}],"eventName":["CreateAccessKey"],"eventSource":["iam.amazonaws.com"],"userIdentity":{"type":["Root"]}}}`
	if got != want {
		t.Errorf("pattern =\n%s\nwant\n%s", got, want)
	}
	if b, _ := base.JSON(); strings.Contains(b, "Root") {
		t.Errorf("Where changed the pattern it was called on: %s", b)
	}
	any, _ := detect.AnyCloudTrail(event.DetailTypeAPICall).Where("errorCode", map[string]any{"prefix": "AccessDenied"}).JSON()
	if want := `{"source":[{"prefix":"aws."}],"detail-type":["AWS API Call via CloudTrail"],"detail":{"errorCode":[{"prefix":"AccessDenied"}]}}`; any != want {
		t.Errorf("pattern =\n%s\nwant\n%s", any, want)
	}
}

// TestEveryMonitoringControlIsImplemented: CIS AWS Foundations controls
// 4.1-4.15 each have at least one detection.
func TestEveryMonitoringControlIsImplemented(t *testing.T) {
	implemented := map[string][]string{}
	for _, d := range builtin(t).All() {
		for _, c := range d.CIS {
			implemented[c] = append(implemented[c], d.ID)
		}
	}
	for i := 1; i <= 15; i++ {
		c := fmt.Sprintf("4.%d", i)
		if len(implemented[c]) == 0 {
			t.Errorf("CIS %s (%s) is implemented by no detection", c, detect.CISControls[c])
		}
	}
}

// TestSpecificDetectionsLead: at equal severity the specific detection
// leads, then broad change monitors, then noisy ones.
func TestSpecificDetectionsLead(t *testing.T) {
	findings, err := builtin(t).Evaluate(decodeFixture(t, "s3/put-bucket-policy-public-denied.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range findings {
		if f.Detection.Threshold == nil { // steps the pipeline counts first
			ids = append(ids, f.Detection.ID)
		}
	}
	if want := []string{"s3-bucket-policy-public", "s3-bucket-config-changed", "api-call-unauthorized"}; !slices.Equal(ids, want) {
		t.Errorf("order = %v, want %v", ids, want)
	}
}

// selfDefense are the detections of tampering with trailwatch's own
// delivery: their alerts must go out at once, never into a storm digest
// that the function being deleted would have to send.
var selfDefense = []string{"trailwatch-function-tampered", "trailwatch-rule-tampered", "trailwatch-delivery-tampered", "trailwatch-organization-tampered", "trailwatch-member-role-tampered", "trailwatch-member-silent"}

// TestSelfDefenseIsImmediate: the self-defense detections, and only
// detections of trailwatch's own resources, are Immediate (and Protected).
func TestSelfDefenseIsImmediate(t *testing.T) {
	c := builtin(t)
	for _, id := range selfDefense {
		d, ok := c.Get(id)
		if !ok {
			t.Errorf("%s is not in the catalog", id)
			continue
		}
		if !d.Immediate || !d.Protected {
			t.Errorf("%s: Immediate %t, Protected %t; want both", id, d.Immediate, d.Protected)
		}
	}
	for _, d := range c.All() {
		if d.Immediate && !slices.Contains(selfDefense, d.ID) {
			t.Errorf("%s is Immediate but is no detection of tampering with trailwatch's delivery", d.ID)
		}
		if strings.HasPrefix(d.ID, "trailwatch-") && !slices.Contains(selfDefense, d.ID) {
			t.Errorf("%s watches trailwatch itself: add it to selfDefense and make it Immediate", d.ID)
		}
	}
}

// TestBuiltinDetectionsValidate: every built-in detection passes Validate
// (Builtin trusts them, so the functions' cold start does not check them
// again), and a broken copy of one does not, through BuiltinWith, which
// validates what it adds.
func TestBuiltinDetectionsValidate(t *testing.T) {
	c, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	all := c.All()
	if len(all) == 0 {
		t.Fatal("no built-in detection")
	}
	for _, d := range all {
		if err := d.Validate(); err != nil {
			t.Error(err)
		}
	}
	broken := *all[0]
	broken.ID, broken.Description = "Not-Kebab", ""
	if _, err := detect.BuiltinWith(&broken); err == nil || !strings.Contains(err.Error(), "not lower-case kebab case") {
		t.Errorf("BuiltinWith(a broken detection) = %v, want the validation error", err)
	}
}

// TestMatchSideBySide: one catalog matched on several goroutines at once
// (a scan's workers) finds what it finds one event at a time; go test
// -race checks that the matcher copies share nothing they write.
func TestMatchSideBySide(t *testing.T) {
	c := builtin(t)
	names := fixture.All(t)
	events := make([]*event.Event, len(names))
	want := make([][]string, len(names))
	for i, name := range names {
		events[i] = decodeFixture(t, name)
		want[i] = matchedIDs(t, c, events[i])
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(events))
	for range 4 {
		wg.Go(func() {
			for i, ev := range events {
				m, err := c.Match(ev)
				if err != nil {
					errs <- fmt.Sprintf("%s: %v", names[i], err)
					continue
				}
				got := make([]string, 0, len(m))
				for _, d := range m {
					got = append(got, d.ID)
				}
				if !slices.Equal(got, want[i]) {
					errs <- fmt.Sprintf("%s: matched %v side by side, %v alone", names[i], got, want[i])
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func matchedIDs(t *testing.T, c *detect.Catalog, ev *event.Event) []string {
	t.Helper()
	m, err := c.Match(ev)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(m))
	for i, d := range m {
		ids[i] = d.ID
	}
	return ids
}
