package cloudtrail

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/trailwatch/trailwatch/internal/fixture"
)

// scanCases are records whose reading differs between a naive decoder and
// encoding/json; each must come out of scanRecord as encoding/json stores
// it, or send Decode to encoding/json (ok=false).
var scanCases = []struct {
	name, in string
	ok       bool
}{
	{"empty object", `{}`, true},
	{"escapes", `{"eventName":"Put\u0042ucket\n\"x\"","userAgent":"a\/b"}`, true},
	{"lone surrogate", `{"userAgent":"\ud800x"}`, true},
	{"invalid UTF-8", "{\"userAgent\":\"a\xffb\"}", true},
	{"valid UTF-8", `{"userAgent":"aws-cli/2 ünïcödé"}`, true},
	{"null string keeps nothing", `{"eventName":null}`, true},
	{"null pointers and raw", `{"readOnly":null,"tlsDetails":null,"requestParameters":null,"resources":null}`, true},
	{"empty list", `{"resources":[]}`, true},
	{"null element", `{"resources":[null,{"ARN":"x"}]}`, true},
	{"repeated scalar: last wins", `{"eventName":"A","eventName":"B"}`, true},
	{"repeated object merges", `{"userIdentity":{"type":"A","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}},"userIdentity":{"arn":"x","sessionContext":{"sourceIdentity":"s"}}}`, true},
	{"unknown keys skipped", `{"x":[1,-2.5e+3,true,false,null,{"y":"z"}],"addendum":{}}`, true},
	{"case-insensitive key", `{"EVENTNAME":"x"}`, false},
	{"folded Unicode key", "{\"eventſource\":\"x\"}", false},
	{"escaped key", `{"event\u004eame":"x"}`, false},
	{"wrong type", `{"eventName":1}`, false},
	{"wrong bool", `{"readOnly":"true"}`, false},
	{"repeated list", `{"resources":[{"ARN":"a"}],"resources":[{"type":"t"}]}`, false},
	{"trailing data", `{} x`, false},
	{"trailing comma", `{"eventName":"x",}`, false},
	{"bad number", `{"x":01}`, false},
	{"bad literal", `{"x":nul}`, false},
	{"control character", "{\"eventName\":\"a\tb\"}", false},
	{"not an object", `[]`, false},
	{"truncated", `{"eventName":"x"`, false},
}

func TestScanRecordAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range scanCases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, ok := scanRecord([]byte(tc.in), false)
			if ok != tc.ok {
				t.Errorf("ok = %v, want %v", ok, tc.ok)
			}
			agree(t, []byte(tc.in))
		})
	}
	for _, name := range fixture.All(t) {
		detail := fixture.Detail(t, name)
		if detail == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if _, _, ok := scanRecord(detail, false); !ok {
				t.Errorf("a recorded event's detail is not read without reflection")
			}
			agree(t, detail)
		})
	}
}

// FuzzScanRecord holds scanRecord to encoding/json: whatever it reads, it
// reads as encoding/json does.
func FuzzScanRecord(f *testing.F) {
	for _, tc := range scanCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		agree(t, in)
	})
}

func agree(t *testing.T, in []byte) {
	t.Helper()
	got, gotTime, ok := scanRecord(bytes.Clone(in), false)
	if !ok {
		return
	}
	want, wantTime, err := unmarshalRecord(in)
	if err != nil {
		t.Fatalf("scanRecord read input encoding/json rejects (%v): %q", err, in)
	}
	if !reflect.DeepEqual(got, want) || !bytes.Equal(gotTime, wantTime) || (gotTime == nil) != (wantTime == nil) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("scanRecord and encoding/json disagree on %q:\n scan %s time %q\n json %s time %q", in, g, gotTime, w, wantTime)
	}
}
