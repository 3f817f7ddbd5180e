package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"quamina.net/go/quamina"
)

// Some patterns are matched in steps: a first step in the first matcher,
// with every other pattern, and what else the pattern needs, a second step
// in a second matcher (which reads an event only when a first step that
// needs it matched) or its top-level leaves, in the first matcher too. A
// pattern matches when all its steps do. What the matchers find together
// is exactly what one matcher of all the patterns finds
// (TestGuardedMatchIsPlain, FuzzGuardedMatch). Two kinds of pattern are
// worth it.
//
// Costly patterns, for matching. quamina reads an event's fields in the
// order of their paths, so a pattern whose first fields match almost every
// call costs every event its whole automaton, however rare the field that
// decides: instance-credentials-outside-aws reads sourceIPAddress (two
// wildcards) before userIdentity.type, and two exists:false leaves make
// quamina look through the event's fields again at each of its steps.
// Matching the built-in catalog on the recorded corpus took 6.7-7.3 us an
// event with that one pattern and 4.2-4.4 us without it. Match in steps
// (and with jsonflat) takes 3.3-3.4 us, one matcher with quamina's own
// flattener 6.8-7.6 (BenchmarkMatchCostly in guard_test.go runs both ways
// side by side). Such a pattern's first step
// is its guard (the pattern with only its exact-value and prefix leaves: a
// necessary condition, since every leaf removed only widens it), and its
// second step the pattern itself.
//
// Patterns that fan out, for compiling (splitTop). quamina builds a
// pattern's automaton field by field in the order of their paths, one
// branch for each value of a field: discovery-burst's 56 event names each
// got their own copy of its 23 sources, 1,288 string automata merged one
// at a time, more than half of compiling the catalog at a cold function's
// first event. A top-level leaf (source, detail-type, resources) shares no
// array with any other leaf, so the pattern matches exactly the events
// that match both the pattern without its top-level leaves of several
// values and those leaves alone: the first is matched as any pattern
// (guarded as above if it is costly), the second is a pattern of its own
// in the first matcher under a topKey, each built once. Compiling the
// built-in catalog went from 28-34 ms to 10.8-11.3 ms and from 12.8 MB in
// 371,000 objects to 5.1 MB in 138,000 (BenchmarkCompile, one matcher
// 25.7-27.8 ms); matching costs about 0.25 us an event more on the corpus
// (the sources' own pattern matches most calls), 8%.

// stepKey names, in both matchers, a pattern matched in steps (n counts a
// detection's plain patterns): its first step in the first matcher and its
// second step, when it has one, in the second.
type stepKey struct {
	id string
	n  int
}

// topKey names, in the first matcher, the top-level leaves of a
// detection's pattern that splitTop took out.
type topKey string

// step says what a pattern matched in steps needs besides its first step:
// its top-level leaves (top), a second step (second), or both; id is its
// detection's ID, made a quamina.X once.
type step struct {
	id          quamina.X
	top, second bool
}

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

// fanOutMin is the number of branches (the product of the values of the
// leaves) from which a pattern is split.
const fanOutMin = 48

// splitTop returns a pattern that fans out as its two steps: rest, the
// pattern without its top-level leaves of several values, and top, those
// leaves alone. ok is false when the pattern is not worth it: it fans out
// less, or nothing inside detail would be left to make its first step
// selective.
func splitTop(p Pattern) (rest, top Pattern, ok bool) {
	branches := leafBranches(p.Detail)
	if branches < 2 {
		return Pattern{}, Pattern{}, false
	}
	rest = p
	if len(p.Source) > 1 {
		top.Source, rest.Source = p.Source, nil
		branches *= len(p.Source)
	}
	if len(p.DetailType) > 1 {
		top.DetailType, rest.DetailType = p.DetailType, nil
		branches *= len(p.DetailType)
	}
	if len(p.Resources) > 1 {
		top.Resources, rest.Resources = p.Resources, nil
		branches *= len(p.Resources)
	}
	if top.Source == nil && top.DetailType == nil && top.Resources == nil || branches < fanOutMin {
		return Pattern{}, Pattern{}, false
	}
	return rest, top, true
}

// leafBranches is the product of the numbers of values of the leaves of a
// pattern's detail (for "$or", of its alternative with the most), capped
// so it cannot overflow.
func leafBranches(m map[string]any) int {
	const most = 1 << 20
	n := 1
	for k, v := range m {
		var f int
		switch v := v.(type) {
		case map[string]any:
			f = leafBranches(v)
		case []string:
			f = len(v)
		case []any:
			f = len(v)
			if k == orKey {
				f = 1
				for _, alt := range v {
					if alt, ok := alt.(map[string]any); ok {
						f = max(f, leafBranches(alt))
					}
				}
			}
		default:
			f = 1
		}
		n = min(n*max(f, 1), most)
	}
	return n
}
