package detect

import (
	"encoding/json"
	"reflect"
	"testing"

	"quamina.net/go/quamina"
)

var matchableCases = []string{
	`{"a":"\u001b\\x"}`,
	`{"a":"\u001b]8;;https://e\u001b\\click\u001b]8;;\u001b\\"}`,
	`{"a":"\u0041\"\u0042\/\u0043\b\f\n\r\t"}`,
	`{"a":"\\x","b":"\u00e9"}`,
	"{\"a\":\"\xff\xfe\xc3(\"}",
	"{\"a\":\"ok \xe2\x82\",\"b\":[1,2,{\"c\":\"\\u0000\\\\\"}]}",
	`{"a\u0041\\":"x"}`,
	`{}`,
}

// matchable changes nothing encoding/json reads, and quamina reads what it
// returns.
func TestMatchable(t *testing.T) {
	for _, in := range matchableCases {
		checkMatchable(t, []byte(in))
	}
	if _, rewritten := matchable([]byte(`{"a":"plain \\ text","b":"\u00e9"}`)); rewritten {
		t.Error("an event quamina reads was rewritten")
	}
}

func checkMatchable(t *testing.T, in []byte) {
	t.Helper()
	var want any
	if json.Unmarshal(in, &want) != nil {
		return // event.Decode refuses it before matching
	}
	if _, object := want.(map[string]any); !object {
		return // and anything but an object
	}
	out, _ := matchable(in)
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("matchable(%q) = %q: %v", in, out, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("matchable(%q) = %q, reads %#v, want %#v", in, out, got, want)
	}
	q, err := quamina.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := q.AddPattern("p", `{"a":[{"exists":true}]}`); err != nil {
		t.Fatal(err)
	}
	if _, err := q.MatchesForEvent(out); err != nil {
		t.Fatalf("quamina cannot read matchable(%q) = %q: %v", in, out, err)
	}
}

func FuzzMatchable(f *testing.F) {
	for _, c := range matchableCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkMatchable(t, in) })
}
