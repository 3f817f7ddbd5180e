package detect

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Costly patterns are matched in two steps. quamina reads an event's
// fields in the order of their paths, so a pattern whose first fields
// match almost every call costs every event its whole automaton, however
// rare the field that decides: instance-credentials-outside-aws reads
// sourceIPAddress (two wildcards) before userIdentity.type, and two
// exists:false leaves make quamina look through the event's fields again
// at each of its steps. Matching the built-in catalog on the recorded
// corpus took 6.7-7.3 us an event with that one pattern and 4.2-4.4 us
// without it; Match in two steps takes 4.5-6.1 us, one matcher 8.5-10.7
// (BenchmarkMatchCostly in guard_test.go runs both ways side by side).
//
// So such a pattern's guard (the pattern with only its exact-value and
// prefix leaves: a necessary condition, since every leaf removed only
// widens it) goes into the first matcher with everything else, and the
// pattern itself into a second one, which reads an event only when a
// guard matched it. What the two find together is exactly what one
// matcher of all the patterns finds (TestGuardedMatchIsPlain).

// guardID is the first matcher's name for a guard: a detection whose
// whole pattern the second matcher decides.
type guardID string

// guardOf returns the guard of a plain pattern (no "$or"), and ok when
// the pattern is worth the second step: it has a costly leaf (one with
// an operator other than prefix), and the guard keeps an exact-value
// leaf inside detail, which rare events have (the envelope's source and
// detail-type alone match nearly every call).
func guardOf(pattern string) (guard string, ok bool, err error) {
	if !strings.Contains(pattern, "[{") {
		// No leaf has an operator, so none is costly: most patterns, not
		// decoded again at every cold start.
		return "", false, nil
	}
	var v map[string]any
	d := json.NewDecoder(strings.NewReader(pattern))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", false, fmt.Errorf("decode pattern: %w", err)
	}
	costly, selective := pruneCostly(v, 0)
	if !costly || !selective {
		return "", false, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false, fmt.Errorf("encode guard: %w", err)
	}
	return string(b), true, nil
}

// pruneCostly removes the costly leaves of m, and objects left empty. It
// reports whether it removed one, and whether an exact-value leaf below
// the top level is left.
func pruneCostly(m map[string]any, depth int) (costly, selective bool) {
	for k, v := range m {
		switch v := v.(type) {
		case map[string]any:
			c, s := pruneCostly(v, depth+1)
			costly = costly || c
			selective = selective || s
			if len(v) == 0 {
				delete(m, k)
			}
		case []any:
			cheap, exact := cheapLeaf(v)
			if !cheap {
				delete(m, k)
				costly = true
				continue
			}
			selective = selective || exact && depth > 0
		}
	}
	return costly, selective
}

// cheapLeaf reports whether every matcher of a leaf is an exact value or
// a prefix, and whether they are all exact values.
func cheapLeaf(matchers []any) (cheap, exact bool) {
	exact = true
	for _, m := range matchers {
		op, isOp := m.(map[string]any)
		if !isOp {
			continue
		}
		exact = false
		if _, prefix := op["prefix"]; !prefix || len(op) != 1 {
			return false, false
		}
		if _, text := op["prefix"].(string); !text {
			return false, false
		}
	}
	return true, exact
}
