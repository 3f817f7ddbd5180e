package detect

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzEC2Scalar holds ec2Text's shortcut to the full decoding it skips.
func FuzzEC2Scalar(f *testing.F) {
	for _, s := range []string{`"sg-1"`, `" tcp "`, `"a\"b"`, `22`, `-1`, `022`, `-0`, `1e3`, `true`, `false`, `null`, `{"value":"x"}`, `"é"`, `"\u0041"`, `12345678901234567890`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := ec2Scalar(raw)
		if !ok {
			return
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		want := ""
		if d.Decode(&v) == nil {
			want = ec2TextOf(v)
		}
		if got != want {
			t.Fatalf("ec2Scalar(%q) = %q, full decoding %q", raw, got, want)
		}
	})
}
