package render

import (
	"bytes"
	"encoding/json"
	"testing"
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
		}
	})
}
