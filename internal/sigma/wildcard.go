package sigma

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	sigmago "github.com/bradleyjkemp/sigma-go"
)

// Sigma values may hold wildcards: * for any text, ? for one character,
// \* \? and \\ for the characters themselves. sigma-go v0.6.6 compares
// values literally, so a rule's wildcards would never match; trailwatch
// rewrites a field whose values hold wildcards into the evaluator's own re
// modifier with the equivalent case-insensitive expression, and unescapes
// the values of the others.

// hasWildcard reports an unescaped * or ? in v.
func hasWildcard(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if i+1 < len(v) && strings.IndexByte(`*?\`, v[i+1]) >= 0 {
				i++
			}
		case '*', '?':
			return true
		}
	}
	return false
}

// unescape turns \* \? and \\ into the characters; other backslashes stay.
func unescape(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && strings.IndexByte(`*?\`, v[i+1]) >= 0 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// globRegexp is the case-insensitive expression of a wildcard value under
// a comparison ("" for equality, contains, startswith, endswith).
func globRegexp(v, comparison string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v) && strings.IndexByte(`*?\`, v[i+1]) >= 0:
			i++
			b.WriteString(regexp.QuoteMeta(v[i : i+1]))
		case c == '*':
			b.WriteString(".*")
		case c == '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(v[i : i+1]))
		}
	}
	s := b.String()
	switch comparison {
	case "":
		s = "^" + s + "$"
	case "startswith":
		s = "^" + s
	case "endswith":
		s = s + "$"
	}
	return "(?is)" + s
}

// literalComparisons are the comparisons whose values Sigma reads with
// wildcards.
var literalComparisons = []string{"", "contains", "startswith", "endswith"}

// withWildcards returns the field matcher as the evaluator must see it.
func withWildcards(fm sigmago.FieldMatcher) (sigmago.FieldMatcher, error) {
	mods := slices.Clone(fm.Modifiers)
	all := len(mods) > 0 && mods[len(mods)-1] == "all"
	if all {
		mods = mods[:len(mods)-1]
	}
	comparison := ""
	if len(mods) > 0 {
		comparison = mods[len(mods)-1]
	}
	if len(mods) > 1 || !slices.Contains(literalComparisons, comparison) {
		return fm, nil // re, cidr, numbers, base64: no wildcards
	}
	wild := slices.ContainsFunc(fm.Values, func(v any) bool { s, ok := v.(string); return ok && hasWildcard(s) })
	out := fm
	out.Values = make([]any, len(fm.Values))
	if !wild {
		for i, v := range fm.Values {
			if s, ok := v.(string); ok {
				v = unescape(s)
			}
			out.Values[i] = v
		}
		return out, nil
	}
	for i, v := range fm.Values {
		switch v := v.(type) {
		case nil:
			return fm, fmt.Errorf("field %q: null beside wildcard values", fm.Field)
		case string:
			out.Values[i] = globRegexp(v, comparison)
		default:
			out.Values[i] = globRegexp(fmt.Sprint(v), comparison)
		}
	}
	out.Modifiers = []string{"re"}
	if all {
		out.Modifiers = append(out.Modifiers, "all")
	}
	return out, nil
}
