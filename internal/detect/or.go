package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// orKey is EventBridge's operator for alternatives: {"$or": [{...}, {...}]}
// matches when any alternative does, each alternative being conditions on
// fields at the level where "$or" stands.
const orKey = "$or"

// MaxPatternChars is EventBridge's default quota on the size of a rule's
// event pattern, in characters (adjustable up to 4096 per account): a
// narrowed pattern that would be longer is left broad, so a deployment
// never fails on it.
const MaxPatternChars = 2048

// fits reports whether the pattern is within MaxPatternChars.
func (p Pattern) fits() bool {
	j, err := p.JSON()
	return err == nil && len(j) <= MaxPatternChars
}

// maxAlternatives bounds how many plain patterns one pattern with "$or"
// may expand to (EventBridge refuses patterns whose combinations grow too
// many as well).
const maxAlternatives = 256

// Cond is one condition on a detail field for WhereAny: a dotted path
// ("requestParameters.secretId") and the values or operators EventBridge
// accepts there, as in Where.
func Cond(path string, values ...any) map[string]any {
	return withPath(nil, strings.Split(path, "."), values)
}

// WhereAny returns the pattern with a condition that holds when any of the
// alternatives does (EventBridge's "$or" in detail; each alternative is
// built with Cond, or several merged). With no alternative the pattern is
// returned as it is. quamina does not understand "$or": the catalog
// compiles such a pattern as one plain pattern per alternative under the
// same detection (MatcherPatterns), which matches the same events.
func (p Pattern) WhereAny(alternatives ...map[string]any) Pattern {
	if len(alternatives) == 0 {
		return p
	}
	alts := make([]any, len(alternatives))
	for i, a := range alternatives {
		alts[i] = a
	}
	p.Detail = withPath(p.Detail, []string{orKey}, alts)
	return p
}

// MatcherPatterns returns an EventBridge pattern as patterns quamina
// understands: the pattern itself, or for a pattern with "$or" one plain
// pattern per combination of alternatives, which together match exactly
// the events the pattern matches. An alternative that sets a field the
// rest of the pattern sets too (a field compared twice) is an error: a
// plain pattern cannot hold both conditions.
func MatcherPatterns(pattern string) ([]string, error) {
	if !strings.Contains(pattern, `"`+orKey+`"`) {
		return []string{pattern}, nil
	}
	var v map[string]any
	d := json.NewDecoder(strings.NewReader(pattern))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode pattern: %w", err)
	}
	alts, err := expandOr(v)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(alts))
	for _, a := range alts {
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encode pattern: %w", err)
		}
		out = append(out, string(b))
	}
	return out, nil
}

// expandOr returns the plain objects an object with "$or" (at any depth)
// stands for.
func expandOr(m map[string]any) ([]map[string]any, error) {
	out := []map[string]any{{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var parts []map[string]any
		if _, list := m[k].([]any); k == orKey && !list {
			return nil, fmt.Errorf("%s takes a list of alternatives, not %v", orKey, m[k])
		}
		switch v := m[k].(type) {
		case map[string]any:
			inner, err := expandOr(v)
			if err != nil {
				return nil, err
			}
			for _, in := range inner {
				parts = append(parts, map[string]any{k: in})
			}
		case []any:
			if k != orKey {
				parts = []map[string]any{{k: v}}
				break
			}
			if len(v) == 0 {
				return nil, fmt.Errorf("%s with no alternative", orKey)
			}
			for _, alt := range v {
				am, ok := alt.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s alternative %v is not an object", orKey, alt)
				}
				inner, err := expandOr(am)
				if err != nil {
					return nil, err
				}
				parts = append(parts, inner...)
			}
		default:
			parts = []map[string]any{{k: v}}
		}
		var next []map[string]any
		for _, base := range out {
			for _, part := range parts {
				merged, err := mergeConditions(base, part)
				if err != nil {
					return nil, err
				}
				next = append(next, merged)
			}
		}
		if len(next) > maxAlternatives {
			return nil, fmt.Errorf("%s expands to more than %d patterns", orKey, maxAlternatives)
		}
		out = next
	}
	return out, nil
}

// mergeConditions joins two sets of conditions on different fields.
func mergeConditions(a, b map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, bv := range b {
		av, ok := out[k]
		if !ok {
			out[k] = bv
			continue
		}
		am, aok := av.(map[string]any)
		bm, bok := bv.(map[string]any)
		if !aok || !bok {
			return nil, fmt.Errorf("field %q has two conditions (in %s and beside it): a plain pattern cannot hold both", k, orKey)
		}
		merged, err := mergeConditions(am, bm)
		if err != nil {
			return nil, err
		}
		out[k] = merged
	}
	return out, nil
}
