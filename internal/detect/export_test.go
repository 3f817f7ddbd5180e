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

// SplitTop is splitTop for the tests.
var SplitTop = splitTop

// CompileAgain compiles the catalog's patterns afresh, in two steps
// (guard.go) with fast or in one matcher without.
func CompileAgain(c *Catalog, fast bool) error {
	_, err := compile(c.detections, c.PatternOf, fast).compiled()
	return err
}
