package render

import (
	"strings"
	"testing"
)

var wrapCases = []string{
	"", "a", "AKIAIOSFODNN7EXAMPLE", "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023",
	" leading", "trailing ", "two  spaces", "tab\there", "new\nline", "ünïcode", "del\x7f",
	strings.Repeat("x", 61), strings.Repeat("word ", 12) + "end", "arn:aws:iam::111122223333:role/admin",
}

// FuzzOneLine: where writeWrapped writes a value as it is, splitting it
// into words gives the same bytes.
func FuzzOneLine(f *testing.F) {
	for _, c := range wrapCases {
		f.Add(c, 60, true)
	}
	f.Fuzz(func(t *testing.T, s string, width int, hard bool) {
		width = max(width%200, 20)
		if !oneLine(s, width) {
			return
		}
		var fast, words strings.Builder
		writeWrapped(&fast, s, width, hard, "Label", ":", 3, 9)
		w := wrapper{b: &words, head: "Label", tail: ":", pad1: 3, pad2: 9}
		w.words(s, width, hard)
		if fast.String() != words.String() {
			t.Fatalf("writeWrapped(%q, %d) = %q, split into words %q", s, width, fast.String(), words.String())
		}
	})
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"a", true}, {"AKIAIOSFODNN7EXAMPLE", true}, {"two words", true}, {strings.Repeat("x", 60), true},
		{"", false}, {" leading", false}, {"trailing ", false}, {"two  spaces", false}, {"tab\there", false},
		{"new\nline", false}, {"ünïcode", false}, {"del\x7f", false}, {strings.Repeat("x", 61), false},
	} {
		if got := oneLine(tc.s, 60); got != tc.want {
			t.Errorf("oneLine(%q, 60) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
