package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/trailwatch/trailwatch/internal/jsonscan"
	"github.com/trailwatch/trailwatch/internal/jsonscan/jsonscantest"
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

// TestNewOwnedCutsStringsFromData: an owned decoder reads the same strings
// as New, and a plain one is cut from the document's own bytes (no copy);
// an escaped one is still decoded into a string of its own.
func TestNewOwnedCutsStringsFromData(t *testing.T) {
	for _, tc := range []struct {
		in      string
		aliases bool
	}{
		{`"plain"`, true},
		{`"tab\tand \"quotes\""`, false},
		{`"caf\u00e9"`, false},
		{`"café"`, true},
		{`null`, false},
	} {
		data := []byte(tc.in)
		want, got := "unchanged", "unchanged"
		if d := jsonscan.New(bytes.Clone(data)); !d.String(&want) || !d.End() {
			t.Fatalf("New: String(%q) not read", tc.in)
		}
		d := jsonscan.NewOwned(data)
		if !d.String(&got) || !d.End() || got != want {
			t.Errorf("NewOwned: String(%q) = %q (ok %v), New %q", tc.in, got, d.OK(), want)
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(got)))
		start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
		inside := len(got) > 0 && p >= start && p < start+uintptr(len(data))
		if inside != tc.aliases {
			t.Errorf("NewOwned: String(%q) cut from the data = %v, want %v", tc.in, inside, tc.aliases)
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
	Count   int                    `json:"count"`
	Small   int8                   `json:"small"`
	Ratio   float64                `json:"ratio"`
	Ratio32 float32                `json:"ratio32"`
	Max     *float64               `json:"max"`
	Points  []float64              `json:"points"`
	Items   []fieldsItem           `json:"items"`
	Ptr     *fieldsItem            `json:"ptr"`
	Dims    map[string]string      `json:"dims"`
	ByKey   map[string]*fieldsItem `json:"byKey"`
	Skipped string                 `json:"-"`
}

type fieldsItem struct {
	ID   string   `json:"id"`
	Tags []string `json:"tags"`
	Up   *upper   `json:"up"`
	N    int64    `json:"n"`
}

// textual is an encoding.TextUnmarshaler, which Fields leaves to
// encoding/json.
type textual string

func (t *textual) UnmarshalText(b []byte) error {
	*t = textual("text:" + string(b))
	return nil
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
	`{"count":3,"small":-128,"ratio":1.5e3,"ratio32":0.1,"max":null,"points":[1,2.5,-0],"dims":{"InstanceId":"i-1","a":"b"}}`,
	`{"count":1.5}`, `{"count":1e2}`, `{"small":128}`, `{"ratio":1e400}`, `{"ratio32":1e39}`, `{"count":"1"}`,
	`{"max":2,"max":3}`, `{"max":null}`, `{"points":[]}`, `{"points":null}`, `{"points":[1],"points":[2,3]}`,
	`{"items":[{"id":"a","tags":["x"],"up":"u","n":9},null,{}],"ptr":{"id":"p"},"ptr":{"tags":[]}}`,
	`{"dims":{"a":"1"},"dims":{"b":"2","a":null}}`, `{"dims":{"a":1}}`, `{"dims":[]}`, `{"byKey":{"k":{"id":"x"},"z":null}}`,
	`{"-":"skipped?","Skipped":"no"}`, `{"items":[{"ID":"folded"}]}`, `{"points":[1,]}`,
}

// The seeds FuzzFields starts from include documents Fields reads, so
// that it compares something.
func TestFieldsSeedsAreRead(t *testing.T) {
	read := 0
	for _, s := range fieldsSeeds {
		var v fieldsTarget
		if jsonscan.Fields([]byte(s), &v) {
			read++
		}
	}
	if read < len(fieldsSeeds)/3 {
		t.Errorf("Fields read %d of %d seeds", read, len(fieldsSeeds))
	}
}

// FuzzFields holds Fields, Members and Text to encoding/json.
func FuzzFields(f *testing.F) {
	for _, s := range fieldsSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		jsonscantest.Agree[fieldsTarget](t, in)
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

// The kinds Fields reads, containers included, are read without
// encoding/json (FuzzFields holds them to it).
func TestFieldsReadsNumbersAndContainers(t *testing.T) {
	type target struct {
		Count  int               `json:"count"`
		Ratio  float64           `json:"ratio"`
		Max    *float64          `json:"max"`
		Points []float64         `json:"points"`
		Items  []fieldsItem      `json:"items"`
		Ptr    *fieldsItem       `json:"ptr"`
		Dims   map[string]string `json:"dims"`
		Empty  []string          `json:"empty"`
		Skip   string            `json:"-"`
	}
	in := `{"count":3,"ratio":1.5e3,"max":2,"points":[1,2.5],"items":[{"id":"a","tags":["x"],"n":9},{}],` +
		`"ptr":{"id":"p"},"dims":{"InstanceId":"i-1"},"empty":[]}`
	var got, want target
	if !jsonscan.Fields([]byte(in), &got) {
		t.Fatalf("Fields did not read %s", in)
	}
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fields and encoding/json disagree:\n%+v\n%+v", got, want)
	}
}

func TestFieldsLeavesOtherStructs(t *testing.T) {
	var withUint struct {
		N uint `json:"n"`
	}
	if jsonscan.Fields([]byte(`{"n":1}`), &withUint) {
		t.Error("a struct with an unsigned field was read")
	}
	var withText struct {
		Text textual `json:"text"`
	}
	if jsonscan.Fields([]byte(`{"text":"t"}`), &withText) {
		t.Error("a struct with a TextUnmarshaler field was read")
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
}

// An UnmarshalJSON with a value receiver is called as encoding/json calls
// it (and keeps nothing); its error fails the reading as encoding/json's.
func TestFieldsValueReceiver(t *testing.T) {
	type target struct {
		V valueUnmarshaler `json:"v"`
		S string           `json:"s"`
	}
	for _, in := range []string{`{"v":"x","s":"y"}`, `{"v":null}`, `{"v":"fail"}`} {
		var got, want target
		ok := jsonscan.Fields([]byte(in), &got)
		err := json.Unmarshal([]byte(in), &want)
		if ok != (err == nil) || ok && got != want {
			t.Errorf("%s: Fields %+v (ok %v), encoding/json %+v (%v)", in, got, ok, want, err)
		}
	}
}

// valueUnmarshaler's UnmarshalJSON has a value receiver: it cannot keep
// what it reads.
type valueUnmarshaler string

func (valueUnmarshaler) UnmarshalJSON(b []byte) error {
	if string(b) == `"fail"` {
		return errors.New("refused")
	}
	return nil
}

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
