package detect

import (
	"encoding/json"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// eventOf encodes v (an event's envelope, as maps) and decodes it as an
// event, failing the test on either.
func eventOf(t testing.TB, v any) *event.Event {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Decode(b)
	if err != nil {
		t.Fatalf("decode test event: %v\n%s", err, b)
	}
	return ev
}

// EventOf is eventOf for the tests outside the package.
var EventOf = eventOf

// Unguarded returns the catalog matching every pattern with one matcher
// and quamina's own flattener, as it did before guards (guard.go) and
// jsonflat: what the tests compare Match with.
func Unguarded(c *Catalog) *Catalog {
	cp := *c
	cp.m = compile(c.detections, c.PatternOf, false)
	return &cp
}

// GuardOf is guardOf for the tests.
var GuardOf = guardOf

// SplitTop is splitTop for the tests.
var SplitTop = splitTop

// CompileAgain compiles the catalog's patterns afresh, in two steps
// (guard.go) with fast or in one matcher without.
func CompileAgain(c *Catalog, fast bool) error {
	_, err := compile(c.detections, c.PatternOf, fast).compiled()
	return err
}
