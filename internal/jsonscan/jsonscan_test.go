package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
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

type fieldsTarget struct {
	Name    string          `json:"name"`
	Enabled bool            `json:"enabled,omitempty"`
	Rule    json.RawMessage `json:"rule"`
	Kebab   string          `json:"kebab-case"`
	Custom  upper           `json:"custom"`
	Nested  struct {
		A string          `json:"a"`
		R json.RawMessage `json:"r"`
		U upper           `json:"u"`
	} `json:"nested"`
}

// upper is a json.Unmarshaler that keeps the value in capitals and
// refuses lists.
type upper []byte

func (u *upper) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		return errors.New("no lists")
	}
	*u = append((*u)[:0], bytes.ToUpper(b)...)
	return nil
}

var fieldsSeeds = []string{
	`{"name":"a","enabled":true,"rule":{"x":[1]},"kebab-case":"k"}`,
	`{"name":null,"enabled":null,"rule":null}`,
	`{"NAME":"folded"}`,
	`{"name":1}`,
	`{"enabled":"true"}`,
	`{"other":{"name":"nested"},"name":"n","name":"last"}`,
	`[]`,
	`{"name":"a\u0062"}`,
	`{"custom":"x","nested":{"a":"b","r":[1],"u":{"k":true}},"nested":null}`,
	`{"custom":[1],"name":"after"}`,
	`{"nested":{"A":"folded"}}`,
	`{"nested":"not an object"}`,
	`{"custom":null,"nested":{"u":null}}`,
}

// FuzzFields holds Fields, Members and Text to encoding/json.
func FuzzFields(f *testing.F) {
	for _, s := range fieldsSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var got fieldsTarget
		if jsonscan.Fields(in, &got) {
			var want fieldsTarget
			if err := json.Unmarshal(in, &want); err != nil {
				t.Fatalf("Fields read %q, which encoding/json rejects: %v", in, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Fields and encoding/json disagree on %q:\n%+v\n%+v", in, got, want)
			}
		}
		var want map[string]json.RawMessage
		err := json.Unmarshal(in, &want)
		if got, ok := jsonscan.Members(in); ok != (err == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("Members(%q) = %v, %v; encoding/json %v, %v", in, got, ok, want, err)
		}
		var s string
		err = json.Unmarshal(in, &s)
		if got, ok := jsonscan.Text(in); ok != (err == nil) || got != s {
			t.Fatalf("Text(%q) = %q, %v; encoding/json %q, %v", in, got, ok, s, err)
		}
	})
}

func TestFieldsLeavesOtherStructs(t *testing.T) {
	var withInt struct {
		N int `json:"n"`
	}
	if jsonscan.Fields([]byte(`{"n":1}`), &withInt) {
		t.Error("a struct with an int field was read")
	}
	var target fieldsTarget
	if jsonscan.Fields([]byte(`{"NAME":"x"}`), &target) {
		t.Error("a key that matches only case-insensitively was read")
	}
	var quoted struct {
		B bool `json:"b,string"`
	}
	if jsonscan.Fields([]byte(`{"b":"true"}`), &quoted) {
		t.Error("a field with the string option was read")
	}
	var byValue struct {
		V valueUnmarshaler `json:"v"`
	}
	if jsonscan.Fields([]byte(`{"v":"x"}`), &byValue) {
		t.Error("a field whose UnmarshalJSON has a value receiver was read")
	}
}

// valueUnmarshaler's UnmarshalJSON has a value receiver: it cannot keep
// what it reads, and Fields leaves such types to encoding/json.
type valueUnmarshaler string

func (valueUnmarshaler) UnmarshalJSON([]byte) error { return nil }

// TestStringEveryByteAtEveryOffset puts each byte value, alone and as the
// lead of a two-byte UTF-8 sequence, at every offset of strings long enough
// for the word-at-a-time scan and its tail, and holds String and Skip to
// encoding/json.
func TestStringEveryByteAtEveryOffset(t *testing.T) {
	for n := range 20 {
		for c := range 256 {
			for _, tail := range []string{"", "\xa9", "é", "\\n", "é\"", "\x01"} {
				in := `"` + strings.Repeat("a", n) + string(rune(0)) + tail + strings.Repeat("b", 19-n) + `"`
				in = strings.Replace(in, "\x00", string([]byte{byte(c)}), 1)
				var want string
				wantErr := json.Unmarshal([]byte(in), &want)
				var got string
				d := jsonscan.New([]byte(in))
				ok := d.String(&got) && d.End()
				switch {
				case ok && wantErr != nil:
					t.Fatalf("String(%q) accepted what encoding/json rejects: %v", in, wantErr)
				case ok && got != want:
					t.Fatalf("String(%q) = %q, want %q", in, got, want)
				}
				if skip := jsonscan.New([]byte(in)); (skip.Skip() && skip.End()) != (wantErr == nil) {
					t.Fatalf("Skip(%q) = %v, encoding/json error %v", in, !(wantErr == nil), wantErr)
				}
			}
		}
	}
}
