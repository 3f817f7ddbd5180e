package sigma

import (
	"encoding/base64"
	"errors"
	"fmt"
	"path"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	sigmago "github.com/bradleyjkemp/sigma-go"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

// The compiler over-approximates the rule's condition: it computes, for
// each field, a set of EventBridge values that every event the rule matches
// must satisfy, and leaves a field out whenever it cannot be sure. Leaving
// out only ever widens the filter, so the pattern never rejects an event
// the rule matches; the decision (the evaluator) is the truth.
//
//   - A selection (a map of fields) is a conjunction: each field it can
//     express is kept.
//   - A list of maps, `or` and `1 of`: a field is kept only when every
//     alternative constrains it, with the union of their values.
//   - `and` and `all of`: the fields of every operand; a field two operands
//     constrain keeps the first operand's values (either is a superset).
//   - `not`: nothing (the negated part is left to the decision).
//
// quamina (the test matcher, shared/TOOLCHAIN.md) and EventBridge set the
// operators used: equals-ignore-case for equality, booleans for "true" and
// "false", prefix and wildcard for startswith and endswith only when the
// value has no letter (both are case-sensitive, Sigma is not).

// approx is what every event matching an expression satisfies.
type approx struct {
	// never: no event matches (an `1 of` naming no search).
	never bool
	// fields maps a dotted CloudTrail field to EventBridge values, one of
	// which the field must match.
	fields map[string][]any
	order  []string
}

func (a *approx) set(field string, values []any) {
	if a.fields == nil {
		a.fields = map[string][]any{}
	}
	if _, ok := a.fields[field]; ok {
		return
	}
	a.fields[field] = values
	a.order = append(a.order, field)
}

func and(parts []approx) approx {
	var out approx
	for _, p := range parts {
		if p.never {
			return approx{never: true}
		}
		for _, f := range p.order {
			out.set(f, p.fields[f])
		}
	}
	return out
}

func or(parts []approx) approx {
	var live []approx
	for _, p := range parts {
		if !p.never {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return approx{never: true}
	}
	var out approx
	for _, f := range live[0].order {
		var union []any
		everywhere := true
		for _, p := range live {
			vs, ok := p.fields[f]
			if !ok {
				everywhere = false
				break
			}
			for _, v := range vs {
				if !slices.ContainsFunc(union, func(u any) bool { return sameValue(u, v) }) {
					union = append(union, v)
				}
			}
		}
		if everywhere {
			out.set(f, union)
		}
	}
	return out
}

func sameValue(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// compiled is a rule's pattern and what it could not filter on.
type compiled struct {
	pattern detect.Pattern
	loose   []string
	global  bool
}

// maxPatternValues bounds the values of one field: EventBridge limits a
// pattern's size, and quamina's automaton grows with them.
const maxPatternValues = 100

// escapedLen is the length of JSON text with every non-ASCII character
// written as a \u escape, the longest form a template may carry it in.
func escapedLen(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			n++
		case r > 0xffff:
			n += 12 // a surrogate pair
		default:
			n += 6
		}
	}
	return n
}

// maxPatternChars is EventBridge's default limit on an event pattern's
// size (adjustable to 4096 by a quota increase).
const maxPatternChars = 2048

func compile(d sigmago.Detection) (compiled, error) {
	c := &compiler{d: d, search: map[string]approx{}}
	var conds []approx
	for _, cond := range d.Conditions {
		conds = append(conds, c.expr(cond.Search))
	}
	a := or(conds)
	if a.never {
		return compiled{}, errors.New("the condition can never be true")
	}
	var keep []string
	for _, f := range a.order {
		if vs := a.fields[f]; len(vs) > maxPatternValues {
			c.loose = append(c.loose, fmt.Sprintf("%s: %d values, more than the %d a pattern keeps", f, len(vs), maxPatternValues))
			continue
		}
		keep = append(keep, f)
	}
	build := func() detect.Pattern {
		p := detect.AnyCloudTrail(event.DetailTypeAPICall, event.DetailTypeConsoleSignIn, event.DetailTypeServiceEvent, event.DetailTypeConsoleAction)
		for _, f := range keep {
			p = p.Where(f, a.fields[f]...)
		}
		return p
	}
	p := build()
	for len(keep) > 0 {
		s, err := p.JSON()
		if err != nil || escapedLen(s) <= maxPatternChars {
			break
		}
		// Leave out the field with the most values until the pattern
		// fits EventBridge's limit.
		most := 0
		for i, f := range keep {
			if len(a.fields[f]) > len(a.fields[keep[most]]) {
				most = i
			}
		}
		c.loose = append(c.loose, fmt.Sprintf("%s: left out so the pattern fits EventBridge's %d characters", keep[most], maxPatternChars))
		keep = slices.Delete(keep, most, most+1)
		p = build()
	}
	if len(keep) == 0 {
		return compiled{}, fmt.Errorf("no field the condition requires can be filtered by EventBridge without missing events "+
			"(the rule would run on every CloudTrail event); left to the evaluator: %s", strings.Join(c.loose, "; "))
	}
	global := true
	if vs, ok := a.fields["eventSource"]; ok {
		global = slices.ContainsFunc(vs, func(v any) bool {
			m, _ := v.(map[string]any)
			s, _ := m["equals-ignore-case"].(string)
			return slices.Contains(globalSources, strings.ToLower(s))
		})
	}
	slices.Sort(c.loose)
	return compiled{pattern: p, loose: slices.Compact(c.loose), global: global}, nil
}

// globalSources deliver their events to EventBridge in us-east-1 only.
var globalSources = []string{"iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com", "organizations.amazonaws.com"}

type compiler struct {
	d      sigmago.Detection
	search map[string]approx
	loose  []string
}

func (c *compiler) names(pattern string) []string {
	var out []string
	for name := range c.d.Searches {
		if ok, _ := path.Match(pattern, name); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (c *compiler) expr(e sigmago.SearchExpr) approx {
	switch e := e.(type) {
	case sigmago.And:
		parts := make([]approx, len(e))
		for i, x := range e {
			parts[i] = c.expr(x)
		}
		return and(parts)
	case sigmago.Or:
		parts := make([]approx, len(e))
		for i, x := range e {
			parts[i] = c.expr(x)
		}
		return or(parts)
	case sigmago.Not:
		return approx{}
	case sigmago.SearchIdentifier:
		return c.named(e.Name)
	case sigmago.OneOfThem:
		return or(c.each(c.names("*")))
	case sigmago.AllOfThem:
		return and(c.each(c.names("*")))
	case sigmago.OneOfPattern:
		return or(c.each(c.names(e.Pattern)))
	case sigmago.AllOfPattern:
		return and(c.each(c.names(e.Pattern)))
	}
	// checkNames refused every other construct.
	return approx{}
}

func (c *compiler) each(names []string) []approx {
	out := make([]approx, len(names))
	for i, n := range names {
		out[i] = c.named(n)
	}
	return out
}

func (c *compiler) named(name string) approx {
	if a, ok := c.search[name]; ok {
		return a
	}
	s, ok := c.d.Searches[name]
	if !ok {
		return approx{never: true}
	}
	alts := make([]approx, len(s.EventMatchers))
	for i, em := range s.EventMatchers {
		var a approx
		for _, fm := range em {
			vs, why := fieldValues(fm)
			if why != "" {
				c.loose = append(c.loose, fmt.Sprintf("%s: %s", fm.Field, why))
				continue
			}
			a.set(fm.Field, vs)
		}
		alts[i] = a
	}
	a := or(alts)
	c.search[name] = a
	return a
}

// stringFields are the CloudTrail record's fields that are always strings
// (cloudtrail.Record types them so: a record where one is not fails to
// decode and reaches no decision).
var stringFields = []string{
	"eventVersion", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "errorMessage",
	"requestID", "eventID", "eventType", "apiVersion", "recipientAccountId", "sharedEventID", "vpcEndpointId", "eventCategory",
	"userIdentity.type", "userIdentity.principalId", "userIdentity.arn", "userIdentity.accountId", "userIdentity.accessKeyId",
	"userIdentity.userName", "userIdentity.invokedBy",
}

// requiredLiteral is the longest case-sensitive text every match of the
// regular expression contains (as Go's regexp, sigma-go's re, reads it),
// or "" when there is none to be sure of.
func requiredLiteral(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	for re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	best := ""
	for _, p := range parts {
		for p.Op == syntax.OpCapture && len(p.Sub) == 1 {
			p = p.Sub[0]
		}
		if p.Op == syntax.OpLiteral && p.Flags&syntax.FoldCase == 0 && len(string(p.Rune)) > len(best) {
			best = string(p.Rune)
		}
	}
	return best
}

// fieldValues returns the EventBridge values, one of which the field must
// match when the field matcher does, or why none can be given.
func fieldValues(fm sigmago.FieldMatcher) ([]any, string) {
	mods := fm.Modifiers
	if len(mods) > 0 && mods[len(mods)-1] == "all" {
		// Every value must match: any one of them is a filter.
		mods = mods[:len(mods)-1]
	}
	b64 := false
	comparator := ""
	for _, m := range mods {
		switch m {
		case "base64":
			b64 = true
		default:
			comparator = m
		}
	}
	var out []any
	for _, raw := range fm.Values {
		var v string
		switch raw := raw.(type) {
		case nil:
			return nil, "null (a missing field): EventBridge cannot match a missing field and a value with one pattern"
		case bool:
			v = strconv.FormatBool(raw)
		case int, float64:
			return nil, fmt.Sprintf("number %v: the event may hold it as a number or as text", raw)
		case string:
			v = raw
		}
		if comparator != "re" && comparator != "cidr" && !b64 {
			if hasWildcard(v) {
				return nil, fmt.Sprintf("%q holds Sigma wildcards", v)
			}
			v = unescape(v)
		}
		if b64 {
			v = base64.StdEncoding.EncodeToString([]byte(v))
		}
		switch comparator {
		case "":
			vs, why := equality(v)
			if why != "" {
				return nil, why
			}
			out = append(out, vs...)
		case "startswith", "endswith", "contains":
			vs, why := partial(comparator, v, slices.Contains(stringFields, fm.Field))
			if why != "" {
				return nil, why
			}
			out = append(out, vs...)
		case "re":
			lit := requiredLiteral(v)
			if lit == "" || !slices.Contains(stringFields, fm.Field) {
				return nil, fmt.Sprintf("re %q: no case-sensitive text every match contains, on a field that is always a string", v)
			}
			out = append(out, map[string]any{"wildcard": "*" + escapeWildcard(lit) + "*"})
		default:
			return nil, comparator + ": EventBridge cannot express it exactly"
		}
	}
	return out, ""
}

func equality(v string) ([]any, string) {
	lower := strings.ToLower(v)
	switch {
	case lower == "null" || v == "<nil>":
		return nil, fmt.Sprintf("%q also matches a missing field, which EventBridge cannot match beside a value", v)
	case strings.HasPrefix(v, "{") || strings.HasPrefix(v, "["):
		return nil, fmt.Sprintf("%q may be an object's or array's JSON text", v)
	case looksNumeric(v):
		return nil, fmt.Sprintf("%q: the event may hold it as a number", v)
	}
	variants, ok := foldVariants(v)
	if !ok {
		return nil, fmt.Sprintf("%q: non-ASCII text or more than %d letters k and s, whose case variants EventBridge and Go's case folding (the evaluator's) may not agree on", v, maxFoldLetters)
	}
	var out []any
	for _, x := range variants {
		out = append(out, map[string]any{"equals-ignore-case": x})
	}
	if lower == "true" || lower == "false" {
		out = append(out, lower == "true")
	}
	return out, ""
}

// maxFoldLetters bounds the k and s letters of one value: each doubles
// its variants.
const maxFoldLetters = 4

// foldVariants returns v and, for each letter k or s in it, the spellings
// with U+212A KELVIN SIGN for k and U+017F LONG S for s: Go's
// strings.EqualFold (the evaluator's equality) takes those for k and s,
// EventBridge's equals-ignore-case (and quamina's) does not, so each
// spelling is a value of its own. Other ASCII letters fold alike in both;
// non-ASCII values are refused (ok false).
func foldVariants(v string) ([]string, bool) {
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			return nil, false
		}
		if c := v[i] | 0x20; c == 'k' || c == 's' {
			n++
		}
	}
	if n > maxFoldLetters {
		return nil, false
	}
	out := []string{""}
	for i := 0; i < len(v); i++ {
		alt := ""
		switch v[i] | 0x20 {
		case 'k':
			alt = "\u212a"
		case 's':
			alt = "\u017f"
		}
		var next []string
		for _, prefix := range out {
			next = append(next, prefix+v[i:i+1])
			if alt != "" {
				next = append(next, prefix+alt)
			}
		}
		out = next
	}
	return out, true
}

func looksNumeric(v string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return err == nil
}

// windowLen is how many characters of a startswith, endswith or contains
// value the pattern matches in every case spelling: each letter doubles
// the values (k and i treble them).
const windowLen = 3

// partial is the pattern of startswith, endswith and contains. Sigma
// compares them on strings.ToLower of both sides. A value whose lowercase
// holds w holds, at the same place, characters that lower to w's: a
// letter's two ASCII cases, and for k and i U+212A KELVIN SIGN and U+0130
// (capital I with dot above), the only non-ASCII characters Go lowers to
// ASCII. So a prefix, a suffix or an infix of a few characters in every
// such spelling is a filter that misses nothing: prefix and wildcard
// patterns, case-sensitive, over at most windowLen characters.
//
// A field that may hold a number or an object is compared by the
// evaluator on its JSON text, which EventBridge cannot see: there a
// prefix or suffix is used only when it cannot be a number's or an
// object's, and contains only on fields that are always strings.
func partial(comparator, v string, stringField bool) ([]any, string) {
	if v == "" {
		return nil, comparator + " of nothing: every value matches"
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			return nil, fmt.Sprintf("%s %q: non-ASCII text, whose case spellings are not bounded", comparator, v)
		}
	}
	var w string
	switch comparator {
	case "startswith":
		w = v[:min(len(v), windowLen)]
	case "endswith":
		w = v[max(0, len(v)-windowLen):]
	case "contains":
		if !stringField {
			return nil, fmt.Sprintf("contains %q: the field may hold an object, which the evaluator reads as its JSON text and EventBridge cannot", v)
		}
		// The window with the fewest letters has the fewest spellings.
		best := -1
		for i := 0; i+min(len(v), windowLen) <= len(v); i++ {
			c := v[i : i+min(len(v), windowLen)]
			if best < 0 || letters(c) < letters(v[best:best+len(c)]) {
				best = i
			}
		}
		w = v[best : best+min(len(v), windowLen)]
	}
	if !stringField && strings.ContainsAny(w, "0123456789.-+{}[]\"") {
		return nil, fmt.Sprintf("%s %q: the field may hold a number or an object, which the evaluator reads as JSON text and EventBridge cannot", comparator, v)
	}
	var out []any
	for _, x := range lowerSpellings(w) {
		switch comparator {
		case "startswith":
			out = append(out, map[string]any{"prefix": x})
		case "endswith":
			out = append(out, map[string]any{"wildcard": "*" + escapeWildcard(x)})
		default:
			out = append(out, map[string]any{"wildcard": "*" + escapeWildcard(x) + "*"})
		}
	}
	return out, ""
}

func letters(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; 'a' <= c && c <= 'z' {
			n++
		}
	}
	return n
}

// lowerSpellings are the strings whose strings.ToLower is ASCII w's.
func lowerSpellings(w string) []string {
	out := []string{""}
	for i := 0; i < len(w); i++ {
		c := w[i]
		alts := []string{w[i : i+1]}
		if l := c | 0x20; 'a' <= l && l <= 'z' {
			alts = []string{string(rune(l)), string(rune(l &^ 0x20))}
			switch l {
			case 'k':
				alts = append(alts, "\u212a")
			case 'i':
				alts = append(alts, "\u0130")
			}
		}
		var next []string
		for _, p := range out {
			for _, a := range alts {
				next = append(next, p+a)
			}
		}
		out = next
	}
	return out
}

func escapeWildcard(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`)
	return r.Replace(v)
}
