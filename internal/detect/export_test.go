package detect

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
