package detect

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"

	"quamina.net/go/quamina"

	"github.com/trailwatch/trailwatch/internal/event"
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
// in their Env.
type matcher struct {
	mu sync.Mutex // quamina instances are not safe for concurrent matching
	q  *quamina.Quamina
}

// WithEnv returns the catalog deciding with the given settings. When some
// detection narrows its pattern to the settings, the patterns are compiled
// again, so the matcher stays what the deployed rules are.
func (c *Catalog) WithEnv(env Env) (*Catalog, error) {
	cp := *c
	cp.env = env
	if !slices.ContainsFunc(c.detections, func(d *Detection) bool { return d.Narrow != nil }) {
		return &cp, nil
	}
	m, err := compile(c.detections, func(d *Detection) Pattern { return cp.PatternOf(d) })
	if err != nil {
		return nil, err
	}
	cp.m = m
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

func compile(detections []*Detection, pattern func(*Detection) Pattern) (*matcher, error) {
	q, err := quamina.New()
	if err != nil {
		return nil, fmt.Errorf("new matcher: %w", err)
	}
	for _, d := range detections {
		p, err := pattern(d).JSON()
		if err != nil {
			return nil, fmt.Errorf("detection %q: %w", d.ID, err)
		}
		if err := q.AddPattern(d.ID, p); err != nil {
			return nil, fmt.Errorf("detection %q: pattern not understood by the matcher: %w", d.ID, err)
		}
	}
	return &matcher{q: q}, nil
}

// Env returns the settings the catalog decides with.
func (c *Catalog) Env() Env { return c.env }

// Builtin returns the catalog of every detection trailwatch ships.
func Builtin() (*Catalog, error) { return New(builtin...) }

// BuiltinWith returns the catalog of every detection trailwatch ships plus
// extra ones (the user's Sigma rules, see internal/sigma).
func BuiltinWith(extra ...*Detection) (*Catalog, error) {
	return New(append(slices.Clone(builtin), extra...)...)
}

// New validates the detections and compiles their patterns.
func New(detections ...*Detection) (*Catalog, error) {
	q, err := quamina.New()
	if err != nil {
		return nil, fmt.Errorf("new matcher: %w", err)
	}
	c := &Catalog{byID: make(map[string]*Detection, len(detections)), m: &matcher{q: q}}
	var errs []error
	for _, d := range detections {
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := c.byID[d.ID]; dup {
			errs = append(errs, fmt.Errorf("detection %q declared twice", d.ID))
			continue
		}
		p, _ := d.Pattern.JSON()
		if err := q.AddPattern(d.ID, p); err != nil {
			errs = append(errs, fmt.Errorf("detection %q: pattern not understood by the matcher: %w", d.ID, err))
			continue
		}
		c.byID[d.ID] = d
		c.detections = append(c.detections, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(c.detections, func(a, b *Detection) int { return cmp.Compare(a.ID, b.ID) })
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
	c.m.mu.Lock()
	ids, err := c.m.q.MatchesForEvent(ev.JSON)
	if err != nil {
		// The matcher cannot read some valid JSON (see matchable): read it
		// again in a form it can, so odd bytes in one field cannot keep
		// every detection from running.
		if b, rewritten := matchable(ev.JSON); rewritten {
			ids, err = c.m.q.MatchesForEvent(b)
		}
	}
	c.m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("match event patterns: %w", err)
	}
	out := make([]*Detection, 0, len(ids))
	for _, id := range ids {
		if d, ok := c.byID[id.(string)]; ok {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *Detection) int { return cmp.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b *Detection) bool { return a == b }), nil
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

// SortFindings orders findings most severe first. At equal severity a
// specific detection comes before a broad change monitor, which comes before
// a noisy one (a denied call), so the alert leads with what matters most;
// then by detection ID.
func SortFindings(fs []Finding) {
	rank := func(d *Detection) int {
		switch {
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
