package detect

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"

	"quamina.net/go/quamina"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/jsonflat"
)

// builtin holds the detections declared in this package. Each detection's
// file appends to it from init; nothing writes to it afterwards.
var builtin []*Detection

func register(d *Detection) { builtin = append(builtin, d) }

// Catalog is a validated set of detections with their patterns compiled.
// It is safe for concurrent use.
type Catalog struct {
	detections []*Detection
	byID       map[string]*Detection
	env        Env
	m          *matcher
}

// matcher holds the compiled patterns, shared by catalogs that differ only
// in their Env. It compiles them when first asked to match (or by
// Compile): compiling the built-in catalog takes about 11 ms on the
// development machine (BenchmarkCompile), twice a cold function's start,
// and a function builds a catalog, then the same one under its settings
// (WithEnv), of which only the second ever matches.
type matcher struct {
	fast  bool
	once  sync.Once
	build func() (*matchers, error)
	err   error
	c     *matchers
	// copies are instances for matching: one quamina instance must not
	// match on two goroutines at once (its flattener keeps state), while
	// copies share the compiled automaton and match side by side.
	copies sync.Pool
}

// matchers are the two matchers of a catalog (see guard.go): first holds
// every pattern, those matched in two steps by their first step; second,
// nil when no pattern takes two steps, their second steps.
type matchers struct {
	first, second *quamina.Quamina
	// steps says what else each pattern matched in steps needs.
	steps map[stepKey]step
}

// compiled returns the compiled patterns, compiling them the first time.
func (m *matcher) compiled() (*matchers, error) {
	m.once.Do(func() {
		m.c, m.err = m.build()
		m.build = nil
		if m.err == nil {
			c := m.c
			m.copies.New = func() any {
				cp := &matchers{first: c.first.Copy(), steps: c.steps}
				if c.second != nil {
					cp.second = c.second.Copy()
				}
				return cp
			}
		}
	})
	return m.c, m.err
}

// WithEnv returns the catalog deciding with the given settings. When some
// detection narrows its pattern to the settings, the patterns are compiled
// again, so the matcher stays what the deployed rules are.
func (c *Catalog) WithEnv(env Env) (*Catalog, error) {
	if err := CheckThresholds(env.Thresholds, c.detections); err != nil {
		return nil, fmt.Errorf("thresholds: %w", err)
	}
	cp := *c
	cp.env = env
	if !slices.ContainsFunc(c.detections, func(d *Detection) bool { return d.Narrow != nil }) {
		return &cp, nil
	}
	cp.m = compile(c.detections, func(d *Detection) Pattern { return cp.PatternOf(d) }, c.m.fast)
	return &cp, nil
}

// PatternOf returns the detection's EventBridge pattern under the
// catalog's settings.
func (c *Catalog) PatternOf(d *Detection) Pattern {
	if d.Narrow == nil {
		return d.Pattern
	}
	return d.Narrow(d.Pattern, &c.env)
}

// compile returns the matcher of the detections' patterns, compiled when
// first used; its error names every detection whose pattern the matcher
// does not understand. With fast, costly patterns are matched in two
// steps (guard.go) and events read by jsonflat; without, by one matcher
// with quamina's own flattener (what the tests compare with).
func compile(detections []*Detection, pattern func(*Detection) Pattern, fast bool) *matcher {
	newQuamina := func() (*quamina.Quamina, error) {
		if fast {
			return quamina.New(quamina.WithFlattener(jsonflat.New()))
		}
		return quamina.New()
	}
	return &matcher{fast: fast, build: func() (*matchers, error) {
		first, err := newQuamina()
		if err != nil {
			return nil, fmt.Errorf("new matcher: %w", err)
		}
		b := &builder{matchers: matchers{first: first}, newQuamina: newQuamina}
		for _, d := range detections {
			if err := b.add(d, pattern(d), fast); err != nil {
				b.errs = append(b.errs, fmt.Errorf("detection %q: %w", d.ID, err))
			}
		}
		if err := errors.Join(b.errs...); err != nil {
			return nil, err
		}
		return &b.matchers, nil
	}}
}

// builder compiles detections' patterns into matchers.
type builder struct {
	matchers
	newQuamina func() (*quamina.Quamina, error)
	errs       []error
}

// add compiles one detection's pattern: in the first matcher under the
// detection's ID or, with fast, when it is worth matching in steps
// (guard.go), as its steps under a stepKey.
func (b *builder) add(d *Detection, pattern Pattern, fast bool) error {
	split := false
	if fast {
		if rest, top, ok := splitTop(pattern); ok {
			topJSON, err := top.JSON()
			if err != nil {
				return err
			}
			if err := b.addPattern(b.firstMatcher, topKey(d.ID), topJSON); err != nil {
				return err
			}
			pattern, split = rest, true
		}
	}
	p, err := pattern.JSON()
	if err != nil {
		return err
	}
	plain, err := MatcherPatterns(p)
	if err != nil {
		return err
	}
	for n, p := range plain {
		st := step{id: d.ID, top: split}
		first := p
		if fast {
			guard, ok, err := guardOf(p)
			if err != nil {
				return err
			}
			if ok {
				first, st.second = guard, true
			}
		}
		if !st.top && !st.second {
			if err := b.addPattern(b.firstMatcher, d.ID, p); err != nil {
				return err
			}
			continue
		}
		key := stepKey{id: d.ID, n: n}
		if err := b.addPattern(b.firstMatcher, key, first); err != nil {
			return err
		}
		if st.second {
			if err := b.addPattern(b.secondMatcher, key, p); err != nil {
				return err
			}
		}
		if b.steps == nil {
			b.steps = make(map[stepKey]step)
		}
		b.steps[key] = st
	}
	return nil
}

// addPattern adds a plain pattern to the matcher q returns.
func (b *builder) addPattern(q func() (*quamina.Quamina, error), x quamina.X, pattern string) error {
	m, err := q()
	if err != nil {
		return err
	}
	if err := m.AddPattern(x, pattern); err != nil {
		return fmt.Errorf("pattern not understood by the matcher: %w", err)
	}
	return nil
}

// firstMatcher and secondMatcher return the matchers, making the second
// when first asked for.
func (b *builder) firstMatcher() (*quamina.Quamina, error) { return b.first, nil }

func (b *builder) secondMatcher() (*quamina.Quamina, error) {
	if b.second == nil {
		q, err := b.newQuamina()
		if err != nil {
			return nil, fmt.Errorf("new matcher: %w", err)
		}
		b.second = q
	}
	return b.second, nil
}

// Compile compiles the catalog's patterns now, if they were not yet, and
// reports the patterns the matcher does not understand: what a command
// that deploys or replays calls first, so such an error stops it at once
// rather than at the first event.
func (c *Catalog) Compile() error {
	_, err := c.m.compiled()
	return err
}

// Env returns the settings the catalog decides with.
func (c *Catalog) Env() Env { return c.env }

// Builtin returns the catalog of every detection trailwatch ships. Its
// patterns are compiled when it first matches (see Compile); the tests
// hold every built-in pattern to the matcher, and every built-in
// detection to Validate (TestBuiltinDetectionsValidate), so a cold start
// does not check again what the build already proved (it was a twentieth
// of the functions' start).
func Builtin() (*Catalog, error) { return newCatalog(builtin, nil, false) }

// BuiltinWith returns the catalog of every detection trailwatch ships plus
// extra ones (the user's Sigma rules, see internal/sigma). Like Builtin it
// compiles the patterns when first matching: callers that deploy or replay
// the extra ones call Compile first, so a pattern the matcher does not
// understand stops them at once.
func BuiltinWith(extra ...*Detection) (*Catalog, error) {
	return newCatalog(builtin, extra, false)
}

// New validates the detections and compiles their patterns.
func New(detections ...*Detection) (*Catalog, error) { return newCatalog(nil, detections, true) }

// newCatalog makes the catalog of valid, which are already validated (the
// built-in detections), and detections, which it validates; with now it
// compiles the patterns at once.
func newCatalog(valid, detections []*Detection, now bool) (*Catalog, error) {
	c := &Catalog{byID: make(map[string]*Detection, len(valid)+len(detections))}
	var errs []error
	for i, d := range slices.Concat(valid, detections) {
		if i >= len(valid) {
			if err := d.Validate(); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if _, dup := c.byID[d.ID]; dup {
			errs = append(errs, fmt.Errorf("detection %q declared twice", d.ID))
			continue
		}
		c.byID[d.ID] = d
		c.detections = append(c.detections, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(c.detections, func(a, b *Detection) int { return cmp.Compare(a.ID, b.ID) })
	c.m = compile(c.detections, func(d *Detection) Pattern { return d.Pattern }, true)
	if now {
		if err := c.Compile(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// All returns the detections sorted by ID.
func (c *Catalog) All() []*Detection { return slices.Clone(c.detections) }

// Get returns the detection with the given ID.
func (c *Catalog) Get(id string) (*Detection, bool) {
	d, ok := c.byID[id]
	return d, ok
}

// Match returns the detections whose EventBridge pattern matches the event,
// sorted by ID: exactly the rules EventBridge would fire.
func (c *Catalog) Match(ev *event.Event) ([]*Detection, error) {
	if _, err := c.m.compiled(); err != nil {
		return nil, fmt.Errorf("compile event patterns: %w", err)
	}
	q := c.m.copies.Get().(*matchers)
	defer c.m.copies.Put(q)
	ids, err := matchEvent(q.first, ev.JSON)
	if err != nil {
		return nil, err
	}
	var keys []stepKey // the patterns matched in steps whose first matched
	needSecond := false
	for _, id := range ids {
		if k, ok := id.(stepKey); ok {
			keys = append(keys, k)
			needSecond = needSecond || q.steps[k].second
		}
	}
	var second []quamina.X
	if needSecond {
		if second, err = matchEvent(q.second, ev.JSON); err != nil {
			return nil, err
		}
	}
	found := len(ids)
	for _, k := range keys {
		st := q.steps[k]
		if st.top && !slices.ContainsFunc(ids[:found], func(x quamina.X) bool { t, ok := x.(topKey); return ok && string(t) == k.id }) ||
			st.second && !slices.ContainsFunc(second, func(x quamina.X) bool { s, ok := x.(stepKey); return ok && s == k }) {
			continue
		}
		ids = append(ids, st.id)
	}
	out := make([]*Detection, 0, len(ids))
	for _, id := range ids {
		if id, ok := id.(string); ok {
			if d, ok := c.byID[id]; ok {
				out = append(out, d)
			}
		}
	}
	slices.SortFunc(out, func(a, b *Detection) int { return cmp.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b *Detection) bool { return a == b }), nil
}

// matchEvent returns what q matches in the event.
func matchEvent(q *quamina.Quamina, event []byte) ([]quamina.X, error) {
	ids, err := q.MatchesForEvent(event)
	if err != nil {
		// The matcher cannot read some valid JSON (see matchable): read it
		// again in a form it can, so odd bytes in one field cannot keep
		// every detection from running.
		if b, rewritten := matchable(event); rewritten {
			ids, err = q.MatchesForEvent(b)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("match event patterns: %w", err)
	}
	return ids, nil
}

// Evaluate runs the patterns and then each matching detection's decision.
// Findings come most severe first, ties broken by detection ID. When a
// decision fails, the others still report and the error says which failed.
func (c *Catalog) Evaluate(ev *event.Event) ([]Finding, error) {
	matched, err := c.Match(ev)
	if err != nil {
		return nil, err
	}
	var findings []Finding
	var errs []error
	for _, d := range matched {
		f, ok, err := evaluate(d, ev, &c.env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		f.Detection = d
		if !f.Severity.Valid() {
			f.Severity = d.Severity
		}
		findings = append(findings, f)
	}
	SortFindings(findings)
	return findings, errors.Join(errs...)
}

// evaluate runs one decision. A decision that panics on some input is a bug,
// but it must not cost the other detections their say on the same event, so
// the panic becomes an error naming the detection.
func evaluate(d *Detection, ev *event.Event, env *Env) (f Finding, ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("detection %q panicked on event %q: %v", d.ID, ev.ID(), r)
		}
	}()
	f, ok = d.Evaluate(ev, env)
	return f, ok, nil
}

// SortFindings orders findings most severe first. At equal severity
// tampering with trailwatch itself (an Immediate detection: its runbook
// restores trailwatch) comes first, then a threshold detection (when it
// crossed, its alert names the whole burst; when it did not, the pipeline
// drops it), then a specific detection, a broad change monitor, and a noisy
// one (a denied call), so the alert leads with what matters most; then by
// detection ID.
func SortFindings(fs []Finding) {
	rank := func(d *Detection) int {
		switch {
		case d.Immediate:
			return -2
		case d.Threshold != nil:
			return -1
		case d.Noisy:
			return 2
		case d.Broad:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		if c := cmp.Compare(rank(a.Detection), rank(b.Detection)); c != 0 {
			return c
		}
		return cmp.Compare(a.Detection.ID, b.Detection.ID)
	})
}
