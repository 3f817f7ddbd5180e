package guardduty_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/guardduty"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// Every recorded finding is read in one pass (jsonscan), not by
// encoding/json.
func TestFixturesReadInOnePass(t *testing.T) {
	for _, name := range fixture.OfDetailType(t, guardduty.DetailType) {
		var f guardduty.Finding
		if !jsonscan.Fields(fixture.Detail(t, name), &f) {
			t.Errorf("%s: not read in one pass", name)
		}
	}
}

// agree holds the one-pass reading of a finding to encoding/json's.
func agree(t *testing.T, b []byte) {
	t.Helper()
	var got, want guardduty.Finding
	if !jsonscan.Fields(b, &got) {
		return
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("read %q, which encoding/json rejects: %v", b, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("one pass and encoding/json disagree on %q:\n%+v\n%+v", b, got, want)
	}
}
