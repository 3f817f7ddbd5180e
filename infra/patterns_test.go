package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"quamina.net/go/quamina"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/eventfile"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/sigma"
)

// templateMatcher compiles the EventPattern of every rule in the template,
// as synthesized, with quamina (an EventBridge-compatible matcher), each
// under the ID of the detection the rule serves.
func templateMatcher(t *testing.T, rules map[string]templateRule) *quamina.Quamina {
	t.Helper()
	q, err := quamina.New()
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range rules {
		p, err := json.Marshal(r.Props["EventPattern"])
		if err != nil {
			t.Fatal(err)
		}
		// quamina does not know "$or": a pattern with it compiles as its
		// alternatives, which match the same events.
		plain, err := detect.MatcherPatterns(string(p))
		if err != nil {
			t.Errorf("rule for %s: pattern %s: %v", id, p, err)
			continue
		}
		for _, pp := range plain {
			if err := q.AddPattern(id, pp); err != nil {
				// quamina understands a subset of EventBridge's operators
				// (shared/TOOLCHAIN.md); say which rule could not be checked.
				t.Errorf("rule for %s: pattern %s not understood by quamina, so it is NOT checked against fixtures: %v", id, pp, err)
			}
		}
	}
	return q
}

// TestTemplatePatternsMatchCatalog runs every fixture under events/ through
// the rules of the synthesized template and through the Go catalog: both
// must pick the same detections, so what EventBridge will do is what the
// catalog's tests prove.
func TestTemplatePatternsMatchCatalog(t *testing.T) {
	s := synth(t)
	rules := templateRules(t, s.json, s.catalog)
	q := templateMatcher(t, rules)
	// The rules are the patterns under the deployment's settings.
	deployed, err := s.catalog.WithEnv(s.stack.Settings.Env)
	if err != nil {
		t.Fatal(err)
	}

	names := fixture.All(t)
	if len(names) == 0 {
		t.Fatal("no fixtures under events/")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			raw := fixture.Read(t, name)
			ev, err := event.Decode(raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			matched, err := q.MatchesForEvent(ev.JSON)
			if err != nil {
				t.Fatalf("template patterns: %v", err)
			}
			var got []string
			for _, x := range matched {
				got = append(got, x.(string))
			}
			slices.Sort(got)
			got = slices.Compact(got)

			ds, err := deployed.Match(ev)
			if err != nil {
				t.Fatalf("catalog: %v", err)
			}
			var want []string
			for _, d := range ds {
				if !d.Scheduled { // no rule ever feeds it
					want = append(want, d.ID)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("template rules matching %s = %v, catalog.Match = %v", name, got, want)
			}
		})
	}
}

// TestPositiveFixturesReachTheirDetection checks, for every detection, that
// its positive fixtures match its rule in the template, and that what the
// rule's target sends (the input template applied by EventBridge) decodes
// to an invocation for that detection carrying the same event.
func TestPositiveFixturesReachTheirDetection(t *testing.T) {
	s := synth(t)
	rules := templateRules(t, s.json, s.catalog)
	q := templateMatcher(t, rules)

	for _, d := range s.catalog.All() {
		r, ok := rules[d.ID]
		if d.Scheduled {
			if ok {
				t.Errorf("scheduled detection %s has a rule %s: anyone who may put events on the bus could forge its events", d.ID, r.LogicalID)
			}
			continue
		}
		if !ok {
			t.Errorf("no rule for %s", d.ID)
			continue
		}
		for _, ex := range d.Tests.Positive {
			t.Run(d.ID+"/"+ex.File, func(t *testing.T) {
				raw := fixture.Read(t, ex.File)
				ev, err := event.Decode(raw)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				matched, err := q.MatchesForEvent(ev.JSON)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(matched, any(d.ID)) {
					t.Errorf("rule for %s does not match its positive fixture (matched %v)", d.ID, matched)
				}

				payload, err := event.ApplyRuleInputTemplate(r.InputTemplate(), raw)
				if err != nil {
					t.Fatalf("apply input template: %v", err)
				}
				inv, err := event.DecodeInvocation(payload)
				if err != nil {
					t.Fatalf("function input does not decode: %v\n%s", err, payload)
				}
				if inv.Detection != d.ID {
					t.Errorf("function is told detection %q, want %q", inv.Detection, d.ID)
				}
				if inv.Event == nil || inv.Event.ID() != ev.ID() {
					t.Errorf("function receives event %v, want %s", inv.Event, ev.ID())
				}
			})
		}
	}
}

// TestSigmaRulesInTemplate: the second test stack is synthesized with
// trailwatch:sigmaRules: each loaded rule has its EventBridge rule, and on
// the crafted Sigma events and every fixture under events/, the rule as
// synthesized (checked with quamina) matches every event the Sigma rule
// matches (its evaluator alone).
func TestSigmaRulesInTemplate(t *testing.T) {
	s := synth(t)
	set, err := sigma.LoadDir(testSigmaRules)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) == 0 {
		t.Fatal("no Sigma rule loaded")
	}
	rules := templateRules(t, s.existingJSON, s.existingCatalog)
	q := templateMatcher(t, rules)
	for _, r := range set.Rules {
		if _, ok := rules[r.Detection.ID]; !ok {
			t.Errorf("no EventBridge rule for %s (%s)", r.Detection.ID, r.File)
		}
	}
	for _, ref := range set.Refused {
		if _, ok := rules["sigma-"+strings.ToLower(ref.ID)]; ok && ref.ID != "" {
			t.Errorf("refused rule %s has an EventBridge rule", ref.File)
		}
	}
	crafted := filepath.Join("..", "internal", "sigma", "testdata", "events")
	matches := 0
	err = eventfile.ReadPaths([]string{crafted, fixture.Dir(t)}, func(it eventfile.Item) error {
		if it.Err != nil {
			return it.Err
		}
		if it.Event.CloudTrail == nil {
			return nil
		}
		got, err := q.MatchesForEvent(it.Event.JSON)
		if err != nil {
			return err
		}
		for _, r := range set.Rules {
			ok, err := r.Matches(it.Event.CloudTrail.Raw)
			if err != nil {
				return err
			}
			if ok {
				matches++
				if !slices.Contains(got, any(r.Detection.ID)) {
					t.Errorf("%s: the synthesized rule for %s misses an event the Sigma rule matches", it.Where, r.Detection.ID)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if matches == 0 {
		t.Error("no event matches any Sigma rule: the test checks nothing")
	}
}
