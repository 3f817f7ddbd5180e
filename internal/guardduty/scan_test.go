package guardduty_test

import (
	"testing"

	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/guardduty"
	"github.com/trailwatch/trailwatch/internal/jsonscan/jsonscantest"
)

// Every recorded finding is read in one pass (jsonscan), as encoding/json
// reads it.
func TestFixturesReadInOnePass(t *testing.T) {
	for _, name := range fixture.OfDetailType(t, guardduty.DetailType) {
		if !jsonscantest.Agree[guardduty.Finding](t, fixture.Detail(t, name)) {
			t.Errorf("%s: not read in one pass", name)
		}
	}
}
