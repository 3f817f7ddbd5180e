// Package jsonscantest holds a decoder's one-pass reading to encoding/json
// in tests and fuzz targets.
package jsonscantest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// Agree decodes raw into a T with jsonscan.Fields and, when Fields reads
// it, fails the test unless encoding/json accepts raw and decodes the same
// T. It reports whether Fields read raw.
func Agree[T any](t testing.TB, raw []byte) bool {
	t.Helper()
	var got, want T
	if !jsonscan.Fields(raw, &got) {
		return false
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("jsonscan read %q into %T, which encoding/json rejects: %v", raw, got, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("jsonscan and encoding/json disagree on %q:\n%+v\n%+v", raw, got, want)
	}
	return true
}
