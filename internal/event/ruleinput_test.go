package event

import (
	"bytes"
	"testing"
)

// FuzzRuleInput holds DecodeInvocation's shortcut for rule input to the
// full decoding: whenever the shortcut accepts input, the full decoding
// finds the same detection and event.
func FuzzRuleInput(f *testing.F) {
	ev := `{"version":"0","id":"x","detail-type":"Other","source":"aws.s3"}`
	for _, s := range []string{
		`{"detection":"a","event":` + ev + `}`,
		` {"detection":"a","event": ` + ev + ` } `,
		`{"detection":"a\u0062","event":` + ev + `}`,
		`{"detection":"a","event":` + ev + `,"x":1}`,
		`{"detection":"a","event":` + ev + `}}`,
		`{"detection":"a","event":` + ev + `,"detection":"b"}`,
		`{"detection":"\xff","event":` + ev + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		id, raw, ok := ruleInput(payload)
		if !ok {
			return
		}
		fast, err := Decode(raw)
		if err != nil {
			return
		}
		full, err := decodeInvocation(payload)
		if err != nil {
			t.Fatalf("shortcut accepted %q (detection %q), full decoding failed: %v", payload, id, err)
		}
		if full.Detection != id || !bytes.Equal(full.Event.JSON, fast.JSON) {
			t.Fatalf("%q: shortcut %q %q, full %q %q", payload, id, fast.JSON, full.Detection, full.Event.JSON)
		}
	})
}
