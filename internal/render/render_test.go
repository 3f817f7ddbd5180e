package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/render/rendertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var clock = time.Date(2026, 11, 20, 9, 15, 9, 0, time.UTC)

// builtin builds the catalog once: the fuzz targets render thousands of
// alerts a second.
var builtin = sync.OnceValues(detect.Builtin)

// alertFor builds the alert the pipeline would build offline.
func alertFor(t testing.TB, name string) (alert.Alert, bool) {
	t.Helper()
	ev, err := event.Decode(fixture.Read(t, name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := builtin()
	if err != nil {
		t.Fatal(err)
	}
	fs, err := c.Evaluate(ev)
	if err != nil {
		t.Fatal(err)
	}
	// A threshold detection's finding on one event is a step the pipeline
	// counts, never an alert of its own.
	fs = slices.DeleteFunc(fs, func(f detect.Finding) bool { return f.Detection.Threshold != nil })
	if len(fs) == 0 {
		return alert.Alert{}, false
	}
	if ev.Envelope.Source == detect.SilenceSource {
		// A silent member's report: the heartbeat check builds its alert,
		// no event carried it.
		return heartbeat.Alert(ev, fs, clock), true
	}
	a, err := (&enrich.Enricher{Offline: "golden test", Now: func() time.Time { return clock }}).Alert(context.Background(), ev, fs)
	if err != nil {
		t.Fatal(err)
	}
	return a, true
}

// fixtureAlert is a fixture's name and the alert it raises.
type fixtureAlert struct {
	name  string
	alert alert.Alert
}

// alertingFixtures returns the alert of every fixture that raises one, in
// fixture order; it fails the test when none does.
func alertingFixtures(t testing.TB) []fixtureAlert {
	t.Helper()
	var out []fixtureAlert
	for _, name := range fixture.All(t) {
		if a, ok := alertFor(t, name); ok {
			out = append(out, fixtureAlert{name, a})
		}
	}
	if len(out) == 0 {
		t.Fatal("no fixture raised an alert")
	}
	return out
}

// withLiveAnswers is what the alert looks like when every look-up worked.
func withLiveAnswers(a alert.Alert) alert.Alert {
	a.Where.AccountAlias = "acme-prod"
	a.Unchecked = nil
	a.Severity = detect.SeverityCritical
	a.SeverityNote = "raised from high: the bucket is public right now"
	a.Exposure = &alert.Exposure{
		Public:   "yes",
		Reasons:  []string{"the bucket policy is public and RestrictPublicBuckets is off at bucket and account level", "the bucket ACL grants nothing to AllUsers or AuthenticatedUsers"},
		Warnings: []string{"nothing blocks a public bucket policy: BlockPublicPolicy and RestrictPublicBuckets are off at bucket and account level"},
	}
	return a
}

// inMemberAccount is an alert of a member account in organization mode:
// the account's name (its admins chose it) and OU path from
// Organizations, and the sign-in link enrich puts first.
func inMemberAccount(a alert.Alert) alert.Alert {
	a.Where.AccountID, a.Where.AccountAlias = "444455556666", "acme-payments"
	a.Where.AccountName = "Payments Prod <!here> *urgent* https://evil.example"
	a.Where.OUPath = []alert.OU{{ID: "r-ab12", Name: "Root"}, {ID: "ou-ab12-11111111", Name: "Production"}, {ID: "ou-ab12-22222222"}}
	a.Links = append([]alert.Link{{Label: "Sign in to account 444455556666 first", URL: "https://444455556666.signin.aws.amazon.com/console"}}, a.Links...)
	a.Unchecked = nil
	return a
}

// withLiveInstances is an alarm alert whose look-ups found the hot
// instances, with tags an attacker chose.
func withLiveInstances(a alert.Alert) alert.Alert {
	a.Where.AccountAlias = "acme-prod"
	a.Unchecked = nil
	cpu1, cpu2 := 99.4, 97.25
	a.Instances = []alert.Instance{
		{
			ID: "i-0a1b2c3d4e5f60718", Name: "web-1 <!channel> <https://evil.example|click>", CPU: &cpu1,
			Type: "c5.4xlarge", Zone: "eu-west-1b", State: "running", LaunchTime: time.Date(2026, 11, 19, 21, 2, 11, 0, time.UTC),
			Image: "ami-0123456789abcdef0", Profile: "arn:aws:iam::111122223333:instance-profile/web-app", PublicIP: "203.0.113.77",
			OpenIngress: []string{"sg-0c1d2e3f4a5b6c7d8 (web-open): tcp 22 from anywhere", "sg-0c1d2e3f4a5b6c7d8 (web-open): all traffic from anywhere"},
			LaunchedBy:  "IAM user deploy-bot via AWS CLI 2.22.4 from 198.51.100.7 at 2026-11-19T21:02:10Z",
			Tags:        []alert.Tag{{Key: "team", Value: "storefront\nBcc: x@evil.example"}, {Key: "owner", Value: "<@U123> *admin*"}},
		},
		{ID: "i-07a8b9c0d1e2f3a4b", CPU: &cpu2, Missing: "EC2 does not know the instance (terminated more than an hour ago?)",
			LaunchedBy: "not in the last 90 days of CloudTrail event history"},
	}
	return a
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s\n(review and run with -update if intended)", path, got)
	}
}

type goldenCase struct {
	name   string
	alert  alert.Alert
	origin string
}

// goldenCases pins the first positive fixture of every detection, the
// hostile fixtures and one alert with every live answer. Every other
// alerting fixture is still rendered by TestEveryAlertIsInert.
func goldenCases(t *testing.T) []goldenCase {
	c, err := builtin()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range c.All() {
		if d.Threshold == nil { // its alert is a crossing (cmd/trailwatch's TestThresholdInReplay)
			names[d.Tests.Positive[0].File] = true
		}
	}
	for _, h := range hostile {
		names[h] = true
	}
	// Each alarm shape and the resolved message.
	names["cloudwatch/ec2-cpu-spike-insights-query-alarm.json"] = true
	names["cloudwatch/ec2-cpu-spike-metric-math-alarm.json"] = true
	names["cloudwatch/ec2-cpu-spike-single-metric-ok.json"] = true
	var cases []goldenCase
	for _, name := range fixture.All(t) {
		if !names[name] {
			continue
		}
		a, ok := alertFor(t, name)
		if !ok {
			t.Fatalf("%s raises no alert", name)
		}
		base := strings.TrimSuffix(filepath.Base(name), ".json")
		cases = append(cases, goldenCase{base, a, name})
	}
	a, _ := alertFor(t, "s3/put-bucket-public-access-block-sso-policy-off.json")
	cases = append(cases, goldenCase{"live-answers", withLiveAnswers(a), "s3/put-bucket-public-access-block-sso-policy-off.json"})
	a, _ = alertFor(t, "cloudwatch/ec2-cpu-spike-insights-query-alarm.json")
	cases = append(cases, goldenCase{"live-instances", withLiveInstances(a), "cloudwatch/ec2-cpu-spike-insights-query-alarm.json"})
	a, _ = alertFor(t, "iam/access-key-created-for-another-user.json")
	cases = append(cases, goldenCase{"member-account", inMemberAccount(a), "iam/access-key-created-for-another-user.json"})
	return cases
}

func TestGolden(t *testing.T) {
	cases := goldenCases(t)
	if len(cases) < 10 {
		t.Fatalf("only %d alerting fixtures found", len(cases))
	}
	// A golden file nobody renders any more is stale: fail so it is removed.
	want := map[string]bool{"digest.slack.json": true, "digest.email.txt": true}
	for _, tc := range cases {
		want[tc.name+".slack.json"], want[tc.name+".email.txt"] = true, true
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() && !want[e.Name()] {
			if *update {
				_ = os.Remove(filepath.Join("testdata", e.Name()))
				continue
			}
			t.Errorf("testdata/%s belongs to no golden case (run with -update to remove it)", e.Name())
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload, err := render.SlackJSON(tc.alert)
			if err != nil {
				t.Fatal(err)
			}
			var slack bytes.Buffer
			if err := json.Indent(&slack, payload, "", "  "); err != nil {
				t.Fatalf("payload is not JSON: %v\n%s", err, payload)
			}
			slack.WriteByte('\n')
			golden(t, filepath.Join("testdata", tc.name+".slack.json"), slack.Bytes())
			m := render.RenderEmail(tc.alert)
			golden(t, filepath.Join("testdata", tc.name+".email.txt"), []byte("Subject: "+m.Subject+"\n\n"+m.Body))
		})
	}
}

// texts collects every string under a "text" key of a Slack payload.
func texts(t *testing.T, payload []byte) []string {
	t.Helper()
	out, err := rendertest.SlackTexts(payload)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var hostile = []string{"s3/put-bucket-public-access-block-hostile.json", "s3/put-bucket-policy-hostile.json"}

// TestEveryAlertIsInert renders every alerting fixture and checks the
// invariants that keep event text harmless and the payload within Slack's
// and SNS's limits.
func TestEveryAlertIsInert(t *testing.T) {
	alerts := alertingFixtures(t)
	if n := len(alerts); n < 100 {
		t.Errorf("only %d alerting fixtures rendered", n)
	}
	for _, fa := range alerts {
		name, a := fa.name, fa.alert
		payload, err := render.SlackJSON(a)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, p := range rendertest.SlackProblems(payload) {
			t.Errorf("%s: Slack: %s", name, p)
		}
		m := render.RenderEmail(a)
		for _, p := range rendertest.EmailProblems(m.Subject, m.Body) {
			t.Errorf("%s: email: %s", name, p)
		}
	}
}

// TestHostileTextIsInert checks the invariants that make attacker text
// harmless: in Slack no < or > survives anywhere in text (so no mention,
// channel ping or link), no raw control or bidi character, no attacker
// newline; in email a printable ASCII subject, no URL scheme a client could
// link, no injected line. The alert still names bucket, principal, source
// IP, region and event.
func TestHostileTextIsInert(t *testing.T) {
	for _, name := range hostile {
		t.Run(name, func(t *testing.T) {
			a, ok := alertFor(t, name)
			if !ok {
				t.Fatal("no alert")
			}
			payload, err := render.SlackJSON(a)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range rendertest.SlackProblems(payload) {
				t.Error("Slack: " + p)
			}
			all := strings.Join(texts(t, payload), "\n")
			for _, line := range strings.Split(all, "\n") {
				if strings.HasPrefix(line, "Severity: ") || strings.HasPrefix(line, "X-Injected") {
					t.Errorf("attacker text started a line: %q", line)
				}
			}
			rec := a.What
			for _, must := range []string{rec.Resource.Name, a.Who.Name, a.Where.SourceIP, a.Where.Region, strings.TrimPrefix(a.What.Action, "s3:")} {
				if !strings.Contains(all, must) {
					t.Errorf("Slack text does not name %q", must)
				}
			}
			var msg struct{ Text string }
			_ = json.Unmarshal(payload, &msg)
			// The notification text swaps @, :, _ and the like for
			// look-alikes and defangs domains: it names each value by its
			// words.
			for _, must := range []string{rec.Resource.Name, a.Who.Name, a.Where.SourceIP, a.Where.Region} {
				for _, word := range strings.FieldsFunc(must, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' }) {
					if !strings.Contains(msg.Text, word) {
						t.Errorf("top-level text %q does not name %q (%q)", msg.Text, must, word)
					}
				}
			}

			m := render.RenderEmail(a)
			for _, p := range rendertest.EmailProblems(m.Subject, m.Body) {
				t.Error("email: " + p)
			}
			for _, line := range strings.Split(m.Body, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "Severity: resolved") || strings.HasPrefix(strings.TrimSpace(line), "X-Injected") {
					t.Errorf("attacker text started a body line: %q", line)
				}
			}
		})
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 100, "plain"},
		{"a\nb\r\tc", 100, `a\nb\r\tc`},
		{"\x1b[31mred", 100, `\x1b[31mred`},
		{"rtl \u202egnp.exe", 100, `rtl \u202egnp.exe`},
		{"zero\u200bwidth", 100, `zero\u200bwidth`},
		{"bad \xff byte", 100, "bad \uFFFD byte"},
		{"abcdef", 3, "abc…"},
		{"abc", 3, "abc"},
	} {
		if got := render.Clean(tc.in, tc.max); got != tc.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// TestSlackLimits fills every attacker-controlled field with long text full
// of characters that grow when escaped, and checks Slack's size limits.
func TestSlackLimits(t *testing.T) {
	a := huge(t, strings.Repeat("<&>", 5000))
	checkRendered(t, a)
}

// hugeBase is the alert huge fills, built once.
var hugeBase struct {
	once sync.Once
	a    alert.Alert
}

func huge(t testing.TB, s string) alert.Alert {
	hugeBase.once.Do(func() { hugeBase.a, _ = alertFor(t, "s3/put-bucket-policy-public-read.json") })
	a := hugeBase.a
	a.What.Changes, a.What.Evidence = slices.Clone(a.What.Changes), slices.Clone(a.What.Evidence)
	a.Title, a.Who.Name, a.Who.Detail, a.Who.UserAgent, a.Who.MFA = s, s, s, s, s
	a.What.Resource.Name, a.Where.SourceIP, a.Where.Region, a.EventID = s, s, s, s
	a.Where.AccountAlias, a.Where.AccountName = s, s
	a.Where.OUPath = []alert.OU{{ID: "r-ab12", Name: "Root"}, {ID: s, Name: s}, {ID: s}}
	a.What.Changes = append(a.What.Changes, detect.Change{Setting: s, Before: s, After: s})
	a.What.Evidence = append(a.What.Evidence, detect.Evidence{Label: s, Text: s})
	a.Unchecked = []string{s, s, s}
	return a
}

// checkRendered renders a in both media and fails on every problem
// rendertest finds.
func checkRendered(t testing.TB, a alert.Alert) {
	t.Helper()
	payload, err := render.SlackJSON(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rendertest.SlackProblems(payload) {
		t.Error("Slack: " + p)
	}
	m := render.RenderEmail(a)
	for _, p := range rendertest.EmailProblems(m.Subject, m.Body) {
		t.Error("email: " + p)
	}
}

func FuzzSlack(f *testing.F) {
	f.Add("<!channel> <https://evil|click>\nSeverity: low")
	f.Add("\u202e`code` *b* _i_ &amp; \x00\xff")
	f.Add("```\n*Severity: low*")
	f.Fuzz(func(t *testing.T, s string) {
		payload, err := render.SlackJSON(huge(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if p := rendertest.SlackProblems(payload); len(p) > 0 {
			t.Fatal(strings.Join(p, "\n"))
		}
	})
}

func FuzzEmail(f *testing.F) {
	f.Add("https://evil.example/x\r\nBcc: victim@example.com")
	f.Add("www.evil.example javascript:alert(1) \x1b[2J")
	f.Fuzz(func(t *testing.T, s string) {
		m := render.RenderEmail(huge(t, s))
		if p := rendertest.EmailProblems(m.Subject, m.Body); len(p) > 0 {
			t.Fatal(strings.Join(p, "\n"))
		}
	})
}

func BenchmarkRender(b *testing.B) {
	a, _ := alertFor(b, "s3/put-bucket-policy-public-read.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render.SlackJSON(a); err != nil {
			b.Fatal(err)
		}
		_ = render.RenderEmail(a)
	}
}

func digestFor(t testing.TB, hostileText string) alert.Digest {
	t.Helper()
	c, err := builtin()
	if err != nil {
		t.Fatal(err)
	}
	d, ok := c.Get("security-group-changed")
	if !ok {
		t.Fatal("no security-group-changed detection")
	}
	dg := alert.Digest{
		Detection: d, Severity: detect.SeverityLow, Principal: "arn:aws:sts::111122223333:assumed-role/terraform-apply/GitHubActions",
		AccountID: "111122223333", Region: "eu-west-1",
		WindowStart: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 11, 20, 9, 5, 0, 0, time.UTC),
		Repeats: 37,
	}
	for i := range 22 {
		dg.Occurrences = append(dg.Occurrences, alert.Occurrence{
			EventID: fmt.Sprintf("e-%02d", i), Time: fmt.Sprintf("2026-11-20T09:0%d:%02dZ", i/12, i*5%60),
			Resource: fmt.Sprintf("sg-0a1b2c3d4e5f%04d", i), Headline: "Rule added to security group sg-0a1b2c3d4e5f" + fmt.Sprintf("%04d", i) + hostileText,
		})
	}
	return dg
}

func TestDigestGolden(t *testing.T) {
	dg := digestFor(t, "")
	payload, err := render.DigestSlackJSON(dg)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, payload, "", "  "); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "digest.slack.json"), append(pretty.Bytes(), '\n'))
	m := render.DigestEmail(dg)
	golden(t, filepath.Join("testdata", "digest.email.txt"), []byte("Subject: "+m.Subject+"\n\n"+m.Body))
}

func TestDigestTextIsInert(t *testing.T) {
	dg := digestFor(t, " <!channel> <https://evil|x>\n`x``` *y*")
	dg.Principal = "<!here> evil\nprincipal"
	payload, err := render.DigestSlackJSON(dg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rendertest.SlackProblems(payload) {
		t.Error("Slack: " + p)
	}
	// Long held-back lines used to be cut mid code span, leaving a
	// backtick open; whole lines are dropped instead, and counted.
	long := digestFor(t, strings.Repeat("<&", 100))
	for i := range long.Occurrences {
		long.Occurrences[i].Resource = strings.Repeat("&", 120)
	}
	longPayload, err := render.DigestSlackJSON(long)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rendertest.SlackProblems(longPayload) {
		t.Error("Slack, long lines: " + p)
	}
	if !strings.Contains(string(longPayload), `\n… and `) {
		t.Error("the repeats not listed are not counted")
	}
	for _, text := range texts(t, payload) {
		if strings.Contains(text, "https://") {
			t.Errorf("a link reached digest text %q", text)
		}
	}
	m := render.DigestEmail(dg)
	for _, p := range rendertest.EmailProblems(m.Subject, m.Body) {
		t.Error("email: " + p)
	}
}

// FuzzDigest puts arbitrary text in every attacker-controlled field of a
// storm digest and checks both media with rendertest.
func FuzzDigest(f *testing.F) {
	f.Add("<!channel> <https://evil|x>\n`x``` *y*")
	f.Add("\r\nBcc: x@evil.example \u202e\u200b \xff")
	f.Fuzz(checkDigest)
}

// checkDigest renders a digest with s in every attacker-controlled field in
// both media and fails on what rendertest finds.
func checkDigest(t *testing.T, s string) {
	dg := digestFor(t, s)
	dg.Principal, dg.Region = s, s
	for i := range dg.Occurrences {
		o := &dg.Occurrences[i]
		o.EventID, o.Time, o.Resource = s, s, s
	}
	payload, err := render.DigestSlackJSON(dg)
	if err != nil {
		t.Fatal(err)
	}
	problems := rendertest.SlackProblems(payload)
	m := render.DigestEmail(dg)
	problems = append(problems, rendertest.EmailProblems(m.Subject, m.Body)...)
	if len(problems) > 0 {
		t.Fatal(strings.Join(problems, "\n"))
	}
}

// The size hint covers the rendered message, so rendering does not grow
// its buffer, without reserving far more than it needs.
func TestSizeHint(t *testing.T) {
	for _, fa := range alertingFixtures(t) {
		name, a := fa.name, fa.alert
		payload, err := render.SlackJSON(a)
		if err != nil {
			t.Fatal(err)
		}
		got, hint := len(payload), render.SlackSizeHint(a)
		if hint < got || hint > got*2 {
			t.Errorf("%s: %d bytes, hint %d", name, got, hint)
		}
	}
}

// Prepared texts render exactly what each alert's own rendering gives; an
// alert whose runbook is not its detection's gets its own, and so does an
// alert of a detection the texts were not prepared for.
func TestStaticRendersTheSame(t *testing.T) {
	c, err := builtin()
	if err != nil {
		t.Fatal(err)
	}
	st := render.NewStatic(c.All())
	for _, fa := range alertingFixtures(t) {
		name, a := fa.name, fa.alert
		for _, a := range []alert.Alert{a, withRunbook(a, "Changed: check `x` at https://example.com & <b>"), withOwnDetection(a)} {
			got, _ := st.SlackJSON(a)
			want, _ := render.SlackJSON(a)
			if !bytes.Equal(got, want) {
				t.Errorf("%s: Slack payload differs with prepared texts:\n%s\n%s", name, got, want)
			}
			if got, want := st.RenderEmail(a), render.RenderEmail(a); got != want {
				t.Errorf("%s: email differs with prepared texts:\n%s\n%s", name, got.Body, want.Body)
			}
			if refs := a.Primary.Detection.CIS; slices.Equal(refs, []string{"9.9"}) && !bytes.Contains(got, []byte("CIS 9.9")) {
				t.Errorf("%s: the alert's own detection's references are missing:\n%s", name, got)
			}
		}
	}
}

// withOwnDetection gives the alert a copy of its detection with other
// references, as another catalog could.
func withOwnDetection(a alert.Alert) alert.Alert {
	d := *a.Primary.Detection
	d.CIS, d.MITRE = []string{"9.9"}, []string{"T1562.008"}
	a.Primary.Detection = &d
	return a
}

func withRunbook(a alert.Alert, runbook string) alert.Alert {
	a.Runbook = runbook
	return a
}

// A responder reads the facts first: the first eight non-empty lines of
// every alert email name the account and the region, and the Slack
// message's header names the action and the resource, with "public right
// now?" in the first section when it was checked.
func TestFactsComeFirst(t *testing.T) {
	alerts := alertingFixtures(t)
	a, _ := alertFor(t, "s3/put-bucket-public-access-block-sso-policy-off.json")
	alerts = append(alerts, fixtureAlert{"live answers", withLiveAnswers(a)})
	for _, fa := range alerts {
		a := fa.alert
		if a.Primary.Detection == nil {
			continue
		}
		body := render.RenderEmail(a).Body
		var first []string
		for _, line := range strings.Split(body, "\n") {
			if strings.TrimSpace(line) != "" && len(first) < 8 {
				first = append(first, line)
			}
		}
		head := strings.Join(first, "\n")
		for _, want := range []string{"Account:          " + a.Where.AccountID, "Region:           " + a.Where.Region} {
			if !strings.Contains(head, want) {
				t.Errorf("%s: the first eight lines lack %q:\n%s", fa.name, want, head)
			}
		}
		payload, err := render.SlackJSON(a)
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Blocks []struct {
				Type string
				Text struct{ Text string }
			}
		}
		if err := json.Unmarshal(payload, &msg); err != nil {
			t.Fatal(err)
		}
		if len(msg.Blocks) < 2 || msg.Blocks[0].Type != "header" {
			t.Fatalf("%s: no header and first section:\n%s", fa.name, payload)
		}
		header := msg.Blocks[0].Text.Text
		if a.Source == alert.SourceCloudTrail && !strings.Contains(header, a.What.Action) {
			t.Errorf("%s: header %q does not name the action %q", fa.name, header, a.What.Action)
		}
		if name := a.What.Resource.Name; name != "" && a.Source == alert.SourceCloudTrail && !strings.Contains(header, name) {
			t.Errorf("%s: header %q does not name the resource %q", fa.name, header, name)
		}
		if a.Exposure != nil && !strings.Contains(msg.Blocks[1].Text.Text, "Public right now? ") {
			t.Errorf("%s: the first section does not say whether the bucket is public: %q", fa.name, msg.Blocks[1].Text.Text)
		}
	}
}

// TestBackticksReadAsThemselves: a value with a backtick cannot be a code
// span (Slack has no escape for one inside it), so the text holding it is
// plain_text, where the value reads, and copies, exactly as it is; the
// other texts keep their formatting.
func TestBackticksReadAsThemselves(t *testing.T) {
	for _, v := range []string{"deploy`prod", "a``b", "```x```", "`"} {
		a, _ := alertFor(t, "s3/put-bucket-policy-public-read.json")
		a.What.Resource.Name = v
		payload, err := render.SlackJSON(a)
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Blocks []struct {
				Text   *textObject  `json:"text"`
				Fields []textObject `json:"fields"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal(payload, &msg); err != nil {
			t.Fatal(err)
		}
		var exact, mrkdwn int
		for _, b := range msg.Blocks {
			texts := b.Fields
			if b.Text != nil {
				texts = append(texts, *b.Text)
			}
			for _, x := range texts {
				if x.Type == "mrkdwn" {
					mrkdwn++
				}
				if strings.Contains(x.Text, "ˋ") {
					t.Errorf("%q: a text swaps its backticks: %q", v, x.Text)
				}
				if x.Type == "plain_text" && strings.Contains(x.Text, "Resource\n") && strings.Contains(x.Text, v) {
					exact++
				}
			}
		}
		if exact != 1 {
			t.Errorf("%q: %d plain_text Resource fields hold the name as it is, want 1:\n%s", v, exact, payload)
		}
		if mrkdwn == 0 {
			t.Errorf("%q: no mrkdwn text left: only the texts holding the value turn plain", v)
		}
		checkRendered(t, a)
	}
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// TestValueAndTemplateMakeNoLink puts values that are inert alone but could
// make a link with the text around them ("WWW" before a sentence's full
// stop reads "WWW.", "https" before a colon) in every field.
func TestValueAndTemplateMakeNoLink(t *testing.T) {
	for _, v := range []string{"WWW", "www", "wWw", "https", "mailto", "evil", "x@evil", "a.www", "WWW ", "ｗｗｗ"} {
		t.Run(v, func(t *testing.T) {
			checkRendered(t, huge(t, v))
			checkDigest(t, v)
		})
	}
}
