package render

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzAppendJSONString holds the hand-written string encoder to
// encoding/json's, with and without HTML escaping.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a<b>&c", "\"\\\b\f\n\r\t\x00\x1f\x7f", "\xff\xfe", "\u2028\u2029", "ATT&amp;CK · `x`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{false, true} {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			if got := appendJSONString(nil, s, html); !bytes.Equal(got, want) {
				t.Errorf("appendJSONString(%q, html %v) = %s, want %s", s, html, got, want)
			}
			// Valid UTF-8 written in two pieces, as slackWriter does.
			if !utf8.ValidString(s) {
				continue
			}
			for i := range s {
				pieces := appendJSONChars(appendJSONChars([]byte{'"'}, s[:i], html), s[i:], html)
				if got := append(pieces, '"'); !bytes.Equal(got, want) {
					t.Errorf("%q and %q (html %v) = %s, want %s", s[:i], s[i:], html, got, want)
				}
			}
		}
	})
}
