package cwalarm_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/trailwatch/trailwatch/internal/cwalarm"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// Every recorded alarm state change, its reasonData included, is read in
// one pass (jsonscan), not by encoding/json.
func TestFixturesReadInOnePass(t *testing.T) {
	for _, name := range fixture.OfDetailType(t, cwalarm.DetailType) {
		var sc cwalarm.StateChange
		if !jsonscan.Fields(fixture.Detail(t, name), &sc) {
			t.Errorf("%s: not read in one pass", name)
			continue
		}
		for _, s := range []cwalarm.State{sc.State, sc.PreviousState} {
			var rd cwalarm.ReasonData
			if s.ReasonData != "" && !jsonscan.Fields([]byte(s.ReasonData), &rd) {
				t.Errorf("%s: reasonData not read in one pass", name)
			}
		}
	}
}

// agree holds the one-pass reading of an alarm state change and of its
// reasonData to encoding/json's.
func agree(t *testing.T, b []byte) {
	t.Helper()
	var got, want cwalarm.StateChange
	if jsonscan.Fields(b, &got) {
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("read %q, which encoding/json rejects: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("one pass and encoding/json disagree on %q:\n%+v\n%+v", b, got, want)
		}
	}
	var raw struct {
		State struct {
			ReasonData string `json:"reasonData"`
		} `json:"state"`
	}
	if json.Unmarshal(b, &raw) != nil {
		return
	}
	var gotRD, wantRD cwalarm.ReasonData
	if jsonscan.Fields([]byte(raw.State.ReasonData), &gotRD) {
		if err := json.Unmarshal([]byte(raw.State.ReasonData), &wantRD); err != nil {
			t.Fatalf("read reasonData %q, which encoding/json rejects: %v", raw.State.ReasonData, err)
		}
		if !reflect.DeepEqual(gotRD, wantRD) {
			t.Fatalf("one pass and encoding/json disagree on reasonData %q:\n%+v\n%+v", raw.State.ReasonData, gotRD, wantRD)
		}
	}
}
