package cwalarm_test

import (
	"encoding/json"
	"testing"

	"github.com/trailwatch/trailwatch/internal/cwalarm"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/jsonscan/jsonscantest"
)

// Every recorded alarm state change, its reasonData included, is read in
// one pass (jsonscan), as encoding/json reads it.
func TestFixturesReadInOnePass(t *testing.T) {
	for _, name := range fixture.OfDetailType(t, cwalarm.DetailType) {
		detail := fixture.Detail(t, name)
		if !jsonscantest.Agree[cwalarm.StateChange](t, detail) {
			t.Errorf("%s: not read in one pass", name)
		}
		var sc cwalarm.StateChange
		if err := json.Unmarshal(detail, &sc); err != nil {
			t.Fatal(err)
		}
		for _, s := range []cwalarm.State{sc.State, sc.PreviousState} {
			if s.ReasonData != "" && !jsonscantest.Agree[cwalarm.ReasonData](t, []byte(s.ReasonData)) {
				t.Errorf("%s: reasonData not read in one pass", name)
			}
		}
	}
}

// agree holds the one-pass reading of an alarm state change and of its
// reasonData to encoding/json's.
func agree(t *testing.T, b []byte) {
	t.Helper()
	jsonscantest.Agree[cwalarm.StateChange](t, b)
	var raw struct {
		State struct {
			ReasonData string `json:"reasonData"`
		} `json:"state"`
	}
	if json.Unmarshal(b, &raw) == nil {
		jsonscantest.Agree[cwalarm.ReasonData](t, []byte(raw.State.ReasonData))
	}
}
