package jsonscan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

var validity = []struct {
	in string
	ok bool
}{
	{`0`, true}, {`-0.5e+10`, true}, {`1E9`, true}, {`"a\u00e9\n"`, true}, {`[]`, true}, {`{}`, true},
	{` {"a" : [ true , false , null ] } `, true}, {`"é"`, true},
	{`01`, false}, {`1.`, false}, {`.5`, false}, {`-`, false}, {`1e`, false}, {`+1`, false},
	{`tru`, false}, {`nulll`, false}, {`"\x"`, false}, {`"\u12g4"`, false}, {"\"\x01\"", false},
	{`[1,]`, false}, {`{"a":1,}`, false}, {`{"a" 1}`, false}, {`{1:2}`, false}, {`"abc`, false},
	{`[1] [2]`, false}, {``, false}, {strings.Repeat("[", jsonscan.MaxDepth+1) + strings.Repeat("]", jsonscan.MaxDepth+1), false},
}

// Skip accepts only what encoding/json accepts; it may leave input to
// encoding/json (deep nesting), never the reverse.
func TestSkipValidates(t *testing.T) {
	for _, tc := range validity {
		d := jsonscan.New([]byte(tc.in))
		got := d.Skip() && d.End()
		if got != tc.ok {
			t.Errorf("Skip(%q) = %v, want %v", tc.in, got, tc.ok)
		}
		if got && !json.Valid([]byte(tc.in)) {
			t.Errorf("Skip accepted %q, which encoding/json rejects", tc.in)
		}
	}
}

func FuzzSkip(f *testing.F) {
	for _, tc := range validity {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := jsonscan.New(in)
		if d.Skip() && d.End() && !json.Valid(in) {
			t.Fatalf("Skip accepted %q, which encoding/json rejects", in)
		}
	})
}

func TestStringReadsAsEncodingJSON(t *testing.T) {
	for _, in := range []string{`"plain"`, `"tab\tand \"quotes\""`, `"\ud83d\ude00"`, `"\udc00 lone"`, "\"bad \xff byte\"", `null`} {
		want := "unchanged"
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		got := "unchanged"
		d := jsonscan.New([]byte(in))
		if !d.String(&got) || !d.End() || got != want {
			t.Errorf("String(%q) = %q (ok %v), encoding/json %q", in, got, d.OK(), want)
		}
	}
}
