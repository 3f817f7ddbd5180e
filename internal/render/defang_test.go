package render

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/render/rendertest"
)

// defangByRegexp applies the rule defang implements, rendertest.Linkish, as
// a regular expression: the test proves the hand-written scanner (about 50
// times faster) agrees with it.
func defangByRegexp(s string) string {
	return rendertest.Linkish.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, ":") {
			return "[:]" + m[1:]
		}
		if strings.HasSuffix(m, ":") {
			return m[:len(m)-1] + "[:]"
		}
		return m[:len(m)-1] + "[.]"
	})
}

var defangCases = []string{
	"", "plain", "https://evil.example/x", "HTTP://EVIL", "xhttps://a", "javascript:alert(1)", "mailto:a@b",
	"www.evil.example", "WwW.x", "arn:aws:s3:::bucket", "data:text/html,1", "slack://channel", "ww.w", "www",
	"http:http:", "a www.b https:c", "ftp:", "https:", ":", "file:///etc/passwd", "é https://ü",
	"ssh://host", "wss://x", "arn:aws:iam::1:role/a", "Intel: tel:+1", "foo://bar", ":///",
}

// linkCases are texts full of what mail clients and Slack link: domains
// under real and reserved names, addresses, IDNA full stops, and what
// must stay as it is (IP addresses, versions, ARNs).
var linkCases = []string{
	"evil.example", "https://evil.example/login", "x@evil.example", "a.b.co", "pool.xn--p1ai", "evil\u3002com",
	"evil\uff0ecom", "203.0.113.7", "aws-cli/2.22.4 Python/3.12.6", "arn:aws:s3:::logs.example.com/*",
	"[click](evil.example/x)", "mailto:x@y.z", "gnp.exe", "e.g. this", "x86_64.amzn2023", "@here", "a@b",
	"evil[.]example", "x[@]evil[.]example", ".com", "a.", "..co", "ü.ßx", "a.b\u3002cd",
	"https:@x", "a.co.www.", "x.www.evil.com", "1.comwww.W.-", "evil.https://x", "www.a.co",
}

// defangAll leaves nothing a client links, by the rules rendertest states
// as regular expressions, and leaves addresses and versions alone.
func TestDefangAll(t *testing.T) {
	for _, in := range append(linkCases, defangCases...) {
		checkDefangAll(t, in)
	}
	for in, want := range map[string]string{
		"https://evil.example/login": "https[:]//evil[.]example/login",
		"x@evil.example":             "x[@]evil[.]example",
		"203.0.113.7":                "203.0.113.7",
		"aws-cli/2.22.4":             "aws-cli/2.22.4",
		"evil\u3002com":              "evil[.]com",
		"@here":                      "@here",
		"https:@x":                   "https[:][@]x",
		"x.www.evil.com":             "x[.]www[.]evil[.]com",
		"1.comwww.W.-":               "1[.]comwww[.]W.-",
		"evil.https://x":             "evil[.]https[:]//x",
		"mailto:x@evil.example":      "mailto[:]x[@]evil[.]example",
		"see arn:aws:s3:::a.b.c":     "see arn:aws:s3:::a.b.c",
		"¼.AA":                       "¼[.]AA", // every number is a name character (\p{N}), not just digits
		"x@²":                        "x[@]²",
	} {
		if got := defangAll(in); got != want {
			t.Errorf("defangAll(%q) = %q, want %q", in, got, want)
		}
	}
}

func checkDefangAll(t *testing.T, in string) {
	t.Helper()
	got := defangAll(in)
	for _, re := range []*regexp.Regexp{rendertest.Linkish, rendertest.DomainLike, rendertest.EmailLike} {
		if m := re.FindString(got); m != "" {
			t.Fatalf("defangAll(%q) = %q, still has %q", in, got, m)
		}
	}
}

func FuzzDefangAll(f *testing.F) {
	for _, c := range append(linkCases, defangCases...) {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) {
			in = strings.ToValidUTF8(in, "\uFFFD") // Clean runs first in every use
		}
		checkDefangAll(t, in)
	})
}

// What mrkdwnPlain lets through untouched neither formats nor links in
// mrkdwn, and notifyText leaves nothing the notification text would
// format, parse or link.
func FuzzInert(f *testing.F) {
	for _, c := range append(append(linkCases, defangCases...), "*bold*", "_i_", "~s~", ":tada:", "a:b:c", "x (y): z", "`", "&lt;", "#general", "@channel", "<!subteam^S1>") {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if mrkdwnPlain(in, 3000) {
			if p := rendertest.MrkdwnProblems("*Heading*\n" + in); len(p) > 0 {
				t.Fatalf("mrkdwnPlain(%q), but in mrkdwn: %q", in, p)
			}
			if p := rendertest.NotificationProblems(in); len(p) > 0 && !strings.Contains(in, ":") {
				t.Fatalf("mrkdwnPlain(%q), but as notification text: %q", in, p)
			}
		}
		if p := rendertest.NotificationProblems(notifyText(in, 3000)); len(p) > 0 {
			t.Fatalf("notifyText(%q) = %q: %q", in, notifyText(in, 3000), p)
		}
	})
}

func TestDefangMatchesTheRule(t *testing.T) {
	for _, in := range defangCases {
		if got, want := defang(in), defangByRegexp(in); got != want {
			t.Errorf("defang(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDefang(f *testing.F) {
	for _, c := range defangCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got, want := defang(in), defangByRegexp(in); got != want {
			t.Fatalf("defang(%q) = %q, want %q", in, got, want)
		}
	})
}

// FuzzSlackSafe: where slackSafe lets text through untouched, the full
// escaping leaves it unchanged too.
func FuzzSlackSafe(f *testing.F) {
	for _, c := range append(defangCases, "Ask the owner: stop the key, then rotate it.", "a`b", "x&y", "tab\there", "ünï", "www") {
		f.Add(c, 40)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max%3000 + 1
		if max < 1 {
			max = -max + 1
		}
		if slackSafe(s, max) {
			if full := escapeForSlack(s, max); full != s {
				t.Fatalf("slackSafe(%q, %d), but the escaping gives %q", s, max, full)
			}
		}
	})
}
