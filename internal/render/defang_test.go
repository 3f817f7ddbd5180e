package render

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/render/rendertest"
)

// defangByRegexp applies the rule defang implements, rendertest.Linkish, as
// a regular expression: the test proves the hand-written scanner (about 50
// times faster) agrees with it.
func defangByRegexp(s string) string {
	return rendertest.Linkish.ReplaceAllStringFunc(s, func(m string) string {
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
