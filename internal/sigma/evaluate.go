package sigma

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// ruleEvaluator is a rule's decision: the rule evaluated by sigma-go on the
// event's CloudTrail record, seen through field mappings.
//
// Sigma's CloudTrail rules name nested fields with dots
// (requestParameters.bucketName, userIdentity.arn). The record is handed to
// sigma-go as a flat map holding, under each field the rule names, that
// field's value in the record: a string as it is, a number as its JSON
// text, a boolean as itself, null or a missing field as nil, an object as
// its JSON text (so `requestParameters|contains` reads the parameters as a
// SIEM does), and through arrays the values of every element, which
// sigma-go's field mappings compare one by one. Only the fields the rule
// names are read, so a large event costs what the rule reads of it.
type ruleEvaluator struct {
	eval *evaluator.RuleEvaluator
	// fields are the view's keys (see nullSuffix, numericSuffix), names
	// the CloudTrail fields the rule reads.
	fields    []string
	names     []string
	rule      sigmago.Rule
	detection *detect.Detection
}

func newEvaluator(r sigmago.Rule) (*ruleEvaluator, error) {
	// sigma-go reads a YAML null as no value at all and fails on it; its
	// comparison of the string "null" is the Sigma meaning (the field is
	// missing or null). Give it that, on a copy of the searches.
	searches := make(map[string]sigmago.Search, len(r.Detection.Searches))
	var fields, names []string
	for name, s := range r.Detection.Searches {
		cp := sigmago.Search{Keywords: s.Keywords}
		for _, em := range s.EventMatchers {
			var out sigmago.EventMatcher
			for _, fm := range em {
				if strings.HasPrefix(fm.Field, "$") {
					return nil, fmt.Errorf("field %q: JSONPath field names are not supported", fm.Field)
				}
				if !slices.Contains(names, fm.Field) {
					names = append(names, fm.Field)
				}
				fm, err := withWildcards(fm)
				if err != nil {
					return nil, err
				}
				if slices.ContainsFunc(fm.Modifiers, func(m string) bool { return slices.Contains(numericComparisons, m) }) {
					fm.Field = numericCheck(fm.Field)
				}
				vals := make([]any, len(fm.Values))
				for i, v := range fm.Values {
					if v == nil {
						v = "null"
						// A null check reads the field where missing
						// is nil (see viewKey).
						fm.Field = nullCheck(fm.Field)
					}
					vals[i] = v
				}
				fm.Values = vals
				out = append(out, fm)
				if !slices.Contains(fields, fm.Field) {
					fields = append(fields, fm.Field)
				}
			}
			cp.EventMatchers = append(cp.EventMatchers, out)
		}
		searches[name] = cp
	}
	r.Detection.Searches = searches
	slices.Sort(fields)
	slices.Sort(names)
	// Each field maps to itself: with a mapping, sigma-go compares each
	// element of an array value on its own.
	mappings := make(map[string]sigmago.FieldMapping, len(fields))
	for _, f := range fields {
		mappings[f] = sigmago.FieldMapping{TargetNames: []string{f}}
	}
	ev := evaluator.ForRule(r, evaluator.WithConfig(sigmago.Config{Title: "trailwatch CloudTrail fields", FieldMappings: mappings}))
	return &ruleEvaluator{eval: ev, fields: fields, names: names, rule: r}, nil
}

// Matches reports whether the rule matches the CloudTrail record (its JSON).
func (e *ruleEvaluator) matches(record []byte) (evaluator.Result, error) {
	// The record's top level is read once for all the rule's fields.
	var top map[string]json.RawMessage
	if json.Unmarshal(record, &top) != nil {
		return evaluator.Result{}, fmt.Errorf("the CloudTrail record is not a JSON object")
	}
	view := make(map[string]any, len(e.fields))
	for _, f := range e.fields {
		name, null := strings.CutSuffix(f, nullSuffix)
		name, numeric := strings.CutSuffix(name, numericSuffix)
		var v any
		keys := strings.Split(name, ".")
		if child, ok := top[keys[0]]; ok {
			v = valueAt(child, keys[1:])
		}
		if numeric {
			v = numbersOnly(v)
		}
		if v == nil && !null {
			// No value at all: sigma-go would compare nil as the text
			// "<nil>", which a wildcard, re or contains could match.
			v = []any{}
		}
		view[f] = v
	}
	return e.safeMatches(view)
}

// safeMatches runs the evaluator; a panic in it (a bug the event should
// not be able to reach, see numbersOnly) is an error, never a crash.
func (e *ruleEvaluator) safeMatches(view map[string]any) (res evaluator.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sigma evaluator panicked: %v", p)
		}
	}()
	return e.eval.Matches(context.Background(), view)
}

// numericComparisons are sigma-go's number comparisons.
var numericComparisons = []string{"gt", "gte", "lt", "lte"}

// numericSuffix marks the view's key of a field a rule compares as a
// number. sigma-go v0.6.6 parses such values with a YAML parser and
// panics on an empty string (github.com/bradleyjkemp/sigma-go
// evaluator/modifiers coerceNumeric); every value of the event is the
// caller's, so only decimal numbers reach it: anything else is no number,
// which is what it would decide.
const numericSuffix = "\x00number"

func numericCheck(field string) string { return field + numericSuffix }

var decimal = lazyre.New(`^-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?$`)

func numbersOnly(v any) any {
	switch v := v.(type) {
	case string:
		if decimal.MatchString(v) {
			return v
		}
	case []any:
		var out []any
		for _, x := range v {
			if s, ok := x.(string); ok && decimal.MatchString(s) {
				out = append(out, s)
			}
		}
		return out
	}
	return []any{}
}

// nullSuffix marks the view's key of a field a rule compares with null:
// there a missing field or a JSON null is nil, which sigma-go's equality
// takes for "null". Everywhere else a missing field has no value at all.
const nullSuffix = "\x00null"

func nullCheck(field string) string { return field + nullSuffix }

func (e *ruleEvaluator) decide(ev *event.Event, _ *detect.Env) (detect.Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || len(rec.Raw) == 0 {
		return detect.Finding{}, false
	}
	res, err := e.matches(rec.Raw)
	if err != nil || !res.Match {
		// The checks at load leave the evaluator no error to give but a
		// malformed record, which matches nothing.
		return detect.Finding{}, false
	}
	var matched []string
	for name, ok := range res.SearchResults {
		if ok {
			matched = append(matched, name)
		}
	}
	slices.Sort(matched)
	var read []string
	for _, f := range e.names {
		read = append(read, f+" = "+shown(valueAt(rec.Raw, strings.Split(f, "."))))
	}
	name := rec.EventName
	if name == "" {
		name = "an event"
	}
	service, _, _ := strings.Cut(rec.EventSource, ".")
	return detect.Finding{
		Headline: fmt.Sprintf("%s: %s", e.rule.Title, name),
		Resource: detect.Resource{Type: "API call", Name: service + ":" + rec.EventName, Region: rec.AWSRegion},
		Evidence: []detect.Evidence{
			{Label: "Sigma rule", Text: fmt.Sprintf("%s (%s), level %s; searches that matched: %s", e.rule.ID, e.detection.Source,
				e.detection.Severity, strings.Join(matched, ", "))},
			{Label: "Fields the rule reads", Text: strings.Join(read, "; ")},
		},
	}, true
}

// maxShown bounds one field's value in the evidence.
const maxShown = 300

func shown(v any) string {
	var s string
	switch v := v.(type) {
	case nil:
		return "(missing)"
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = shown(x)
		}
		s = "[" + strings.Join(parts, ", ") + "]"
	default:
		s = fmt.Sprint(v)
	}
	if len(s) > maxShown {
		s = strings.ToValidUTF8(s[:maxShown], "") + "…"
	}
	return s
}

// valueAt is the value of a dotted field in raw JSON, as the evaluator
// sees it (see ruleEvaluator). Malformed JSON reads as missing.
func valueAt(raw []byte, keys []string) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '{':
		if len(keys) == 0 {
			var b bytes.Buffer
			if json.Compact(&b, raw) != nil {
				return nil
			}
			return b.String()
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		child, ok := m[keys[0]]
		if !ok {
			return nil
		}
		return valueAt(child, keys[1:])
	case '[':
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return nil
		}
		var out []any
		for _, el := range elems {
			switch v := valueAt(el, keys).(type) {
			case nil:
				if len(keys) == 0 {
					out = append(out, nil)
				}
			case []any:
				out = append(out, v...)
			default:
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if len(keys) > 0 {
		return nil
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		return s
	case 't', 'f':
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil
		}
		return b
	case 'n':
		return nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return nil
	}
	return string(n)
}
