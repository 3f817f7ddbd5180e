package rendertest_test

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/render/rendertest"
)

// TestChecksCatchViolations proves each check fails on what it guards
// against, so a green hostile-input test means something.
func TestChecksCatchViolations(t *testing.T) {
	const ok = `{"text":"fine","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*Who*\n` + "`x`" + `","verbatim":true}},` +
		`{"type":"actions","elements":[{"type":"button","text":{"type":"plain_text","text":"Role","emoji":false},"url":"https://console.aws.amazon.com/iam/home#/roles/details/admin"}]}],"unfurl_links":false,"unfurl_media":false}`
	if p := rendertest.SlackProblems([]byte(ok)); len(p) != 0 {
		t.Fatalf("SlackProblems(clean payload) = %q, want none", p)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"channel ping", `"fine"`, `"<!channel>"`, "< or >"},
		{"user mention", `"fine"`, `"<@U123>"`, "< or >"},
		{"link", `"fine"`, `"<https://evil.example|click>"`, "< or >"},
		{"open code span", "`x`", "a`b", "unbalanced backticks"},
		{"carriage return", `"fine"`, `"a\rb"`, "U+000D"},
		{"bidi override", `"fine"`, "\"a\u202eb\"", "U+202E"},
		{"zero width", `"fine"`, "\"a\u200bb\"", "U+200B"},
		{"not verbatim", `"verbatim":true`, `"verbatim":false`, "not verbatim"},
		{"foreign link", `https://console.aws.amazon.com/`, `https://evil.example/`, "not the AWS console"},
		{"unfurl", `"unfurl_links":false`, `"unfurl_links":true`, "unfurl_links"},
		{"long text", `"fine"`, `"` + strings.Repeat("a", 40001) + `"`, "limit 40000"},
		{"not JSON", `}],"unfurl_links"`, `,"unfurl_links"`, "not JSON"},
		{"emoji in plain text", `"emoji":false`, `"emoji":true`, `does not set "emoji": false`},
		{"bold value", "`x`", "*RESOLVED*", "formatting character"},
		{"bold after heading", "`x`", "ok *RESOLVED*", "formatting character"},
		{"italic value", "`x`", "_false positive_", "formatting character"},
		{"strike value", "`x`", "~ALARM~", "formatting character"},
		{"emoji code", "`x`", ":white_check_mark:", "emoji code"},
		{"quote", `*Who*\n`, `*Who*\n&gt; `, "a quote"},
		{"attacker domain", "`x`", "TWINJ7evil.example/loginTWINJ7", "attacker link"},
		{"attacker address", "`x`", "TWINJ7x@evil.exampleTWINJ7", "attacker link"},
		{"formatting in notification", `"fine"`, `"*fine*"`, "in the top-level text"},
		{"emoji in notification", `"fine"`, `"fine :tada:"`, "emoji code"},
		{"mention in notification", `"fine"`, `"fine @here"`, "mention"},
		{"domain in notification", `"fine"`, `"fine evil.example"`, "link"},
		{"address in notification", `"fine"`, `"fine x@evil.example"`, "link"},
		{"scheme in notification", `"fine"`, `"fine javascript:x"`, "link"},
		{"backtick in notification", `"fine"`, "\"fine `x`\"", "formatting character"},
	} {
		t.Run("slack "+tc.name, func(t *testing.T) {
			p := strings.Join(rendertest.SlackProblems([]byte(strings.Replace(ok, tc.from, tc.to, 1))), "\n")
			if !strings.Contains(p, tc.want) {
				t.Errorf("problems %q, want one mentioning %q", p, tc.want)
			}
		})
	}

	const body = "HIGH: Bucket policy\n  Links: https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/abc\n"
	if p := rendertest.EmailProblems("[trailwatch] HIGH: x", body); len(p) != 0 {
		t.Fatalf("EmailProblems(clean email) = %q, want none", p)
	}
	defanged := body + "  User agent: TWINJ7evil[.]example/login x[@]evil[.]example https[:]//y 203.0.113.7 v2.22.4TWINJ7\n"
	if p := rendertest.EmailProblems("[trailwatch] HIGH: evil[.]example", defanged); len(p) != 0 {
		t.Fatalf("EmailProblems(defanged email) = %q, want none", p)
	}
	for _, tc := range []struct{ name, subject, body, want string }{
		{"header injection", "x\r\nBcc: x@evil.example", body, "not printable ASCII"},
		{"long subject", strings.Repeat("s", 100), body, "limit 99"},
		{"non-ASCII subject", "caf\u00e9", body, "not printable ASCII"},
		{"link in body", "x", body + "see https://evil.example\n", `"https:"`},
		{"www in body", "x", body + "www.evil.example\n", `"www."`},
		{"javascript in body", "x", body + "JavaScript:alert(1)\n", `"JavaScript:"`},
		{"carriage return in body", "x", body + "a\rb\n", "U+000D"},
		{"bidi in body", "x", body + "a\u202eb\n", "U+202E"},
		{"invalid UTF-8 in body", "x", body + "a\xffb\n", "U+FFFD"},
		{"domain in subject", "[trailwatch] HIGH: evil.example", body, "in the subject"},
		{"address in subject", "[trailwatch] HIGH: x@evil.example", body, "in the subject"},
		{"scheme in subject", "[trailwatch] HIGH: https[:]//x javascript:y", body, "in the subject"},
		{"attacker domain in body", "x", body + "  User agent: TWINJ7evil.example/login\n", "attacker link"},
		{"attacker address in body", "x", body + "  Name: TWINJ7 x@evil.example TWINJ7\n", "attacker link"},
		{"attacker fullwidth dot in body", "x", body + "  Name: TWINJ7evil\u3002exampleTWINJ7\n", "attacker link"},
		{"any scheme with slashes", "x", body + "ssh://evil\n", `"://"`},
	} {
		t.Run("email "+tc.name, func(t *testing.T) {
			p := strings.Join(rendertest.EmailProblems(tc.subject, tc.body), "\n")
			if !strings.Contains(p, tc.want) {
				t.Errorf("problems %q, want one mentioning %q", p, tc.want)
			}
		})
	}
}
