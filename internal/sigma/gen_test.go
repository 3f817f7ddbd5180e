package sigma

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	sigmago "github.com/bradleyjkemp/sigma-go"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

// The generator builds CloudTrail events from a rule's own values and
// mutates them (case, surrounding text, Unicode look-alikes that Go folds,
// JSON types, arrays, missing fields), so that a good share of them match
// the rule and the rest come close. Every event the rule matches must pass
// its compiled pattern: the pattern is a filter that never misses.

// fieldGen is what the generator may put in one field.
type fieldGen struct {
	field  string
	values []string // the rule's values for the field, as sigma-go reads them
	mods   []string
}

// ruleGen is what the generator knows of a rule: every field with every
// value, and each map of fields, which one event may satisfy at once.
type ruleGen struct {
	fields []fieldGen
	maps   [][]fieldGen
}

func generators(r sigmago.Rule) ruleGen {
	byField := map[string]*fieldGen{}
	var order []string
	var maps [][]fieldGen
	names := make([]string, 0, len(r.Detection.Searches))
	for n := range r.Detection.Searches {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := r.Detection.Searches[n]
		for _, em := range s.EventMatchers {
			var m []fieldGen
			for _, fm := range em {
				var vals []string
				for _, v := range fm.Values {
					if v == nil {
						vals = append(vals, "null")
					} else {
						vals = append(vals, fmt.Sprint(v))
					}
				}
				m = append(m, fieldGen{field: fm.Field, values: vals, mods: fm.Modifiers})
			}
			maps = append(maps, m)
			for _, fm := range em {
				g, ok := byField[fm.Field]
				if !ok {
					g = &fieldGen{field: fm.Field}
					byField[fm.Field] = g
					order = append(order, fm.Field)
				}
				g.mods = append(g.mods, fm.Modifiers...)
				for _, v := range fm.Values {
					if v == nil {
						g.values = append(g.values, "null")
					} else {
						g.values = append(g.values, fmt.Sprint(v))
					}
				}
			}
		}
	}
	// Parents before children, so a child's value lands inside its
	// parent's object.
	slices.SortFunc(order, func(a, b string) int {
		if c := strings.Count(a, ".") - strings.Count(b, "."); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	out := make([]fieldGen, len(order))
	for i, f := range order {
		out[i] = *byField[f]
	}
	return ruleGen{fields: out, maps: maps}
}

// faithful is a value that meets the field matcher, up to case.
func faithful(rng *rand.Rand, g fieldGen) (any, bool) {
	v := g.values[rng.IntN(len(g.values))]
	if slices.Contains(g.mods, "all") {
		v = strings.Join(g.values, " ")
	}
	switch {
	case v == "null":
		return nil, false
	case slices.Contains(g.mods, "base64"):
		return base64.StdEncoding.EncodeToString([]byte(v)), true
	case slices.Contains(g.mods, "re"):
		return "x" + requiredLiteral(v) + "y", true
	case slices.ContainsFunc(g.mods, func(m string) bool { return m == "gt" || m == "gte" }):
		n, _ := strconv.ParseFloat(v, 64)
		return n + 1, true
	case slices.ContainsFunc(g.mods, func(m string) bool { return m == "lt" || m == "lte" }):
		n, _ := strconv.ParseFloat(v, 64)
		return n - 1, true
	case slices.Contains(g.mods, "cidr"):
		ip, _, err := net.ParseCIDR(v)
		if err == nil {
			return ip.String(), true
		}
	}
	if hasWildcard(v) {
		v = strings.NewReplacer(`\*`, "*", `\?`, "?", "*", "zz", "?", "q").Replace(v)
	} else {
		v = unescape(v)
	}
	return swapCase(rng, v), true
}

var lookAlikes = strings.NewReplacer("s", "ſ", "S", "ſ", "k", "\u212a", "K", "\u212a")

// mutate returns a JSON value derived from v, or nil for "leave the field
// out".
func mutate(rng *rand.Rand, v string, mods []string, extra string) (any, bool) {
	if slices.Contains(mods, "base64") && rng.IntN(3) > 0 {
		v = base64.StdEncoding.EncodeToString([]byte(v))
	}
	if slices.Contains(mods, "re") {
		if lit := requiredLiteral(v); lit != "" {
			v = lit
		}
		v = "x" + v + "y"
	}
	if slices.Contains(mods, "cidr") {
		if ip, n, err := net.ParseCIDR(v); err == nil {
			ip = ip.To4()
			if ip != nil && rng.IntN(2) == 0 {
				ip[3] = byte(rng.IntN(256))
			}
			v = ip.String()
			_ = n
		}
	}
	if hasWildcard(v) && !slices.Contains(mods, "re") {
		v = strings.NewReplacer(`\*`, "*", `\?`, "?", "*", "zz", "?", "q").Replace(v)
	}
	switch rng.IntN(16) {
	case 0:
		return nil, false
	case 1:
		return strings.ToUpper(v), true
	case 2:
		return strings.ToLower(v), true
	case 3:
		return "x" + v, true
	case 4:
		return v + "x", true
	case 5:
		return "prefix " + v + " suffix", true
	case 6:
		return lookAlikes.Replace(v), true
	case 7:
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n + float64(rng.IntN(3)-1), true
		}
		if b, err := strconv.ParseBool(strings.ToLower(v)); err == nil {
			return b, true
		}
		return v, true
	case 8:
		return []any{"other", v}, true
	case 9:
		if strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) && len(v) > 1 {
			inner := v[1 : len(v)-1]
			return map[string]any{inner: inner, "Effect": "Allow", "Action": inner}, true
		}
		return map[string]any{"value": v}, true
	case 10:
		return nil, true // JSON null
	case 11:
		if extra != "" {
			return extra, true
		}
		return "", true
	case 12:
		return swapCase(rng, v), true
	}
	return v, true
}

func swapCase(rng *rand.Rand, v string) string {
	b := []rune(v)
	for i, r := range b {
		if rng.IntN(2) == 0 {
			b[i] = []rune(strings.ToUpper(string(r)))[0]
		} else {
			b[i] = []rune(strings.ToLower(string(r)))[0]
		}
	}
	return string(b)
}

// setPath puts v at a dotted path, replacing whatever is not an object on
// the way.
func setPath(m map[string]any, path []string, v any) {
	if len(path) == 1 {
		m[path[0]] = v
		return
	}
	inner, ok := m[path[0]].(map[string]any)
	if !ok {
		inner = map[string]any{}
		m[path[0]] = inner
	}
	setPath(inner, path[1:], v)
}

// generate returns one event for the rule as EventBridge would deliver it.
func generate(rng *rand.Rand, rg ruleGen, extra string) []byte {
	gens := rg.fields
	detail := map[string]any{
		"eventVersion": "1.09",
		"userIdentity": map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333"},
		"eventTime":    "2026-12-03T10:00:00Z",
		"eventSource":  "s3.amazonaws.com",
		"eventName":    "ListBuckets",
		"awsRegion":    "us-east-1",
		"eventID":      fmt.Sprintf("%08x-0000-4000-8000-000000000000", rng.Uint32()),
		"eventType":    "AwsApiCallViaCloudtrail",
	}
	for _, g := range gens {
		if len(g.values) == 0 || rng.IntN(3) == 0 {
			continue
		}
		v, ok := mutate(rng, g.values[rng.IntN(len(g.values))], g.mods, extra)
		path := strings.Split(g.field, ".")
		if !ok {
			deletePath(detail, path)
			continue
		}
		if slices.Contains(g.mods, "all") && len(g.values) > 1 && rng.IntN(2) == 0 {
			// Every value at once, as one text.
			v = strings.Join(g.values, " ")
		}
		setPath(detail, path, v)
	}
	if len(rg.maps) > 0 && rng.IntN(2) == 0 {
		// Meet one map of fields at once.
		for _, g := range rg.maps[rng.IntN(len(rg.maps))] {
			path := strings.Split(g.field, ".")
			if v, ok := faithful(rng, g); ok {
				setPath(detail, path, v)
			} else {
				deletePath(detail, path)
			}
		}
	}
	source := "aws.s3"
	if s, ok := detail["eventSource"].(string); ok {
		source = event.SourceFor(strings.ToLower(s))
	}
	env := map[string]any{
		"version": "0", "id": "7f2a", "detail-type": event.DetailTypeAPICall, "source": source,
		"account": "111122223333", "time": "2026-12-03T10:00:00Z", "region": "us-east-1", "resources": []any{}, "detail": detail,
	}
	if detail["eventName"] == "ConsoleLogin" {
		env["detail-type"] = event.DetailTypeConsoleSignIn
	}
	b, err := json.Marshal(env)
	if err != nil {
		panic(err)
	}
	return b
}

func deletePath(m map[string]any, path []string) {
	if len(path) == 1 {
		delete(m, path[0])
		return
	}
	if inner, ok := m[path[0]].(map[string]any); ok {
		deletePath(inner, path[1:])
	}
}

// check runs one generated event: when the rule matches it, the pattern
// must, and the catalog's decision must be the evaluator's. It returns
// whether the rule matched.
func check(t testing.TB, r *Rule, cat *detect.Catalog, raw []byte) bool {
	t.Helper()
	ev, err := event.Decode(raw)
	if err != nil || ev.CloudTrail == nil {
		return false // trailwatch cannot read it: no decision is made
	}
	return checkEvent(t, r, cat, ev, raw)
}

// checkEvent is check on an event decoded once for many rules.
func checkEvent(t testing.TB, r *Rule, cat *detect.Catalog, ev *event.Event, raw []byte) bool {
	t.Helper()
	e := evaluatorOf(t, r)
	res, err := e.matches(ev.CloudTrail.Raw)
	if err != nil {
		t.Fatalf("%s: evaluator: %v", r.Detection.ID, err)
	}
	matched, err := cat.Match(ev)
	if err != nil {
		t.Fatalf("%s: match: %v", r.Detection.ID, err)
	}
	passed := slices.Contains(matched, r.Detection)
	if res.Match && !passed {
		p, _ := r.Detection.Pattern.JSON()
		t.Errorf("%s (%s): the pattern misses an event the rule matches\npattern %s\nevent %s", r.Detection.ID, r.File, p, raw)
	}
	if !passed {
		return res.Match // the pattern rejected it: no decision is made
	}
	findings, err := cat.Evaluate(ev)
	if err != nil {
		t.Fatalf("%s: evaluate: %v", r.Detection.ID, err)
	}
	found := slices.ContainsFunc(findings, func(f detect.Finding) bool { return f.Detection == r.Detection })
	if found != (res.Match && passed) {
		t.Errorf("%s: catalog finding %t, evaluator %t (pattern %t) on %s", r.Detection.ID, found, res.Match, passed, raw)
	}
	return res.Match
}

// evaluators caches each rule's evaluator for the tests.
var evaluators sync.Map

func evaluatorOf(t testing.TB, r *Rule) *ruleEvaluator {
	t.Helper()
	if e, ok := evaluators.Load(r); ok {
		return e.(*ruleEvaluator)
	}
	e, err := newEvaluator(r.Sigma)
	if err != nil {
		t.Fatal(err)
	}
	evaluators.Store(r, e)
	return e
}

// eventsPerRule is how many events the generator makes for each rule.
const eventsPerRule = 400

// checkAgainstOwnValues runs generated events through every loaded rule.
func checkAgainstOwnValues(t *testing.T, set *Set) {
	t.Helper()
	total, matched := 0, 0
	defer func() { t.Logf("%d generated events, %d matched by their rule", total, matched) }()
	for _, r := range set.Rules {
		cat, err := detect.New(r.Detection)
		if err != nil {
			t.Fatalf("%s: %v", r.File, err)
		}
		gens := generators(r.Sigma)
		rng := rand.New(rand.NewPCG(1, uint64(len(r.File))))
		positives := 0
		for range eventsPerRule {
			total++
			if check(t, r, cat, generate(rng, gens, "")) {
				positives++
				matched++
			}
		}
		if positives == 0 {
			t.Errorf("%s: none of %d generated events matches the rule: the generator does not exercise it", r.File, eventsPerRule)
		}
	}
}
