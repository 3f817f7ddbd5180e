package cloudtrail

import (
	"encoding/json"
	"testing"
)

// FuzzPlainString holds ParseTime's shortcut to encoding/json.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"2026-11-20T13:27:50Z"`, `"a\"b"`, `"\u0041"`, `"é"`, `""`, `"`, `12`, `"x" `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || got != want {
			t.Fatalf("plainString(%q) = %q, encoding/json %q (%v)", raw, got, want, err)
		}
	})
}
