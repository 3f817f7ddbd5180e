// Package sigma turns users' Sigma rules for CloudTrail into catalog
// detections: a rule with `logsource: {product: aws, service: cloudtrail}`
// becomes the detection sigma-<the rule's id>, whose EventBridge pattern is
// compiled from the rule's selections (a coarse filter that never rejects an
// event the rule matches) and whose decision is the rule evaluated on the
// event by github.com/bradleyjkemp/sigma-go.
//
// A rule that uses what cannot be supported (aggregations, correlations,
// keyword searches, fieldref and other modifiers the evaluator lacks,
// placeholders, another logsource) is refused with its file and the reason.
package sigma

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator/modifiers"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// maxRuleBytes bounds one rule file: Sigma rules are a few kilobytes, and
// a folder is read whole at synth and in the CLI.
const maxRuleBytes = 1 << 20

// Rule is a Sigma rule loaded as a detection.
type Rule struct {
	// File is the path the rule was read from.
	File string
	// Sigma is the parsed rule.
	Sigma sigmago.Rule
	// Detection is the catalog entry: pattern, decision and metadata.
	Detection *detect.Detection
	// Loose lists what the pattern could not express exactly and so left
	// unfiltered (the decision still checks it), for `rules --sigma`.
	Loose []string
}

// Refusal is a rule that was not loaded, and why.
type Refusal struct {
	File string
	// ID and Title are the rule's, when the file got far enough to say.
	ID, Title string
	Reason    string
}

func (r Refusal) String() string {
	name := r.ID
	switch {
	case r.Title != "" && r.ID != "":
		name = fmt.Sprintf("%s (%s)", r.ID, r.Title)
	case r.Title != "":
		name = fmt.Sprintf("%q", r.Title)
	}
	if name == "" {
		return fmt.Sprintf("%s: %s", r.File, r.Reason)
	}
	return fmt.Sprintf("%s: rule %s: %s", r.File, name, r.Reason)
}

// Set is what a folder of rules gave.
type Set struct {
	Rules   []*Rule
	Refused []Refusal
}

// Detections returns the loaded rules' detections.
func (s *Set) Detections() []*detect.Detection {
	out := make([]*detect.Detection, len(s.Rules))
	for i, r := range s.Rules {
		out[i] = r.Detection
	}
	return out
}

// RefusedError joins the refusals into one error, or nil.
func (s *Set) RefusedError() error {
	var errs []error
	for _, r := range s.Refused {
		errs = append(errs, errors.New(r.String()))
	}
	return errors.Join(errs...)
}

// LoadDir reads every .yml and .yaml file under dir (subfolders included),
// in lexical order. It fails only when the folder cannot be read; a file
// that is not a usable rule is a Refusal.
func LoadDir(dir string) (*Set, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("sigma rules: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("sigma rules: %s is not a folder", dir)
	}
	var files []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sigma rules: read %s: %w", dir, err)
	}
	slices.Sort(files)
	set := &Set{}
	seen := map[string]string{}
	for _, f := range files {
		b, err := readBounded(f)
		if err != nil {
			set.Refused = append(set.Refused, Refusal{File: f, Reason: err.Error()})
			continue
		}
		r, ref := Parse(f, b)
		if ref != nil {
			set.Refused = append(set.Refused, *ref)
			continue
		}
		if first, dup := seen[r.Detection.ID]; dup {
			set.Refused = append(set.Refused, Refusal{File: f, ID: r.Sigma.ID, Title: r.Sigma.Title,
				Reason: "id already used by " + first})
			continue
		}
		seen[r.Detection.ID] = f
		set.Rules = append(set.Rules, r)
	}
	return set, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRuleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(b) > maxRuleBytes {
		return nil, fmt.Errorf("file is larger than %d bytes", maxRuleBytes)
	}
	return b, nil
}

var timeframe = lazyre.New(`(?m)^\s+timeframe\s*:`)

var ruleID = lazyre.New(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`)

// Parse turns one rule file into a detection, or says why it cannot.
// It never panics on bad input: a panic inside the YAML or condition
// parsers becomes a refusal.
func Parse(file string, data []byte) (r *Rule, refusal *Refusal) {
	refuse := func(id, title, format string, args ...any) (*Rule, *Refusal) {
		return nil, &Refusal{File: file, ID: id, Title: title, Reason: fmt.Sprintf(format, args...)}
	}
	defer func() {
		if p := recover(); p != nil {
			r, refusal = refuse("", "", "the rule could not be parsed: %v", p)
		}
	}()
	if isCorrelation(data) {
		return refuse("", "", "correlation rules are not supported (they relate several rules' matches over time)")
	}
	rule, err := sigmago.ParseRule(data)
	if err != nil {
		if timeframe.Match(data) {
			// sigma-go v0.6.6 cannot even read a timeframe; say why
			// the rule could not be used rather than its YAML error.
			return refuse("", "", "timeframe (an aggregation over time) is not supported")
		}
		return refuse("", "", "not a Sigma rule: %v", strings.Join(strings.Fields(err.Error()), " "))
	}
	id, title := rule.ID, rule.Title
	switch {
	case title == "":
		return refuse(id, title, "no title")
	case id == "":
		return refuse(id, title, "no id: the detection is named sigma-<id>")
	case !ruleID.MatchString(id) || len(id) > 40:
		return refuse(id, title, "id %q is not letters, digits and single dashes of at most 40 characters (a UUID)", id)
	}
	if !strings.EqualFold(rule.Logsource.Product, "aws") || !strings.EqualFold(rule.Logsource.Service, "cloudtrail") {
		return refuse(id, title, "logsource is product %q service %q category %q; only product aws, service cloudtrail is supported",
			rule.Logsource.Product, rule.Logsource.Service, rule.Logsource.Category)
	}
	if rule.Logsource.Category != "" || rule.Logsource.Definition != "" || len(rule.Logsource.AdditionalFields) > 0 {
		return refuse(id, title, "logsource narrows product aws, service cloudtrail further (category, definition or other keys), which is not supported")
	}
	sev, err := severity(rule.Level)
	if err != nil {
		return refuse(id, title, "%v", err)
	}
	if err := checkDetection(rule.Detection); err != nil {
		return refuse(id, title, "%v", err)
	}
	c, err := compile(rule.Detection)
	if err != nil {
		return refuse(id, title, "%v", err)
	}
	ev, err := newEvaluator(rule)
	if err != nil {
		return refuse(id, title, "%v", err)
	}
	d := &detect.Detection{
		ID:             "sigma-" + strings.ToLower(id),
		Title:          title,
		Description:    description(rule),
		Severity:       sev,
		Pattern:        c.pattern,
		Evaluate:       ev.decide,
		MITRE:          techniques(rule.Tags),
		References:     rule.References,
		FalsePositives: falsePositives(rule),
		Runbook:        runbook(rule),
		NeedsReadOnly:  true,
		GlobalService:  c.global,
		Kind:           detect.KindSigma,
		Source:         file,
	}
	ev.detection = d
	if err := d.Validate(); err != nil {
		return refuse(id, title, "%v", err)
	}
	return &Rule{File: file, Sigma: rule, Detection: d, Loose: c.loose}, nil
}

// isCorrelation spots Sigma correlation rules (a top-level correlation
// key), which sigma-go would read as a rule without detection.
func isCorrelation(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "correlation:") {
			return true
		}
	}
	return false
}

// checkDetection refuses what the evaluator cannot decide or the compiler
// cannot filter without missing events.
func checkDetection(d sigmago.Detection) error {
	if len(d.Conditions) == 0 {
		return errors.New("detection has no condition")
	}
	if d.Timeframe != 0 {
		return errors.New("timeframe is not supported (aggregations over time)")
	}
	if len(d.Searches) == 0 {
		return errors.New("detection has no search")
	}
	for _, c := range d.Conditions {
		if c.Aggregation != nil {
			return errors.New("aggregations (count, min, max, avg, sum, near) are not supported")
		}
		if err := checkNames(c.Search, d.Searches); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(d.Searches))
	for n := range d.Searches {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		s := d.Searches[name]
		if len(s.Keywords) > 0 {
			return fmt.Errorf("search %s: keyword searches (a list of values without fields) are not supported", name)
		}
		if len(s.EventMatchers) == 0 {
			return fmt.Errorf("search %s: no field to match", name)
		}
		for _, em := range s.EventMatchers {
			if len(em) == 0 {
				return fmt.Errorf("search %s: an empty map of fields", name)
			}
			for _, fm := range em {
				if err := checkField(name, fm); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkField(search string, fm sigmago.FieldMatcher) error {
	where := fmt.Sprintf("search %s, field %q", search, fm.Field)
	if fm.Field == "" || strings.HasPrefix(fm.Field, ".") || strings.HasSuffix(fm.Field, ".") || strings.Contains(fm.Field, "..") {
		return fmt.Errorf("%s: not a CloudTrail field name", where)
	}
	mods := fm.Modifiers
	for _, m := range mods {
		if m == "fieldref" {
			return fmt.Errorf("%s: the fieldref modifier (comparing two fields of the event) is not supported", where)
		}
	}
	if len(mods) > 0 && mods[len(mods)-1] == "all" {
		mods = mods[:len(mods)-1]
	}
	if _, err := modifiers.GetComparator(fm.Field, modifiers.Comparators, mods...); err != nil {
		return fmt.Errorf("%s: %v (supported: contains, startswith, endswith, re, cidr, base64, gt, gte, lt, lte, all)", where, err)
	}
	if len(fm.Values) == 0 {
		return fmt.Errorf("%s: no value (an empty list)", where)
	}
	for _, v := range fm.Values {
		switch v := v.(type) {
		case nil:
			if len(mods) > 0 {
				return fmt.Errorf("%s: null with a modifier", where)
			}
		case string:
			if strings.HasPrefix(v, "%") && strings.HasSuffix(v, "%") && len(v) > 1 {
				return fmt.Errorf("%s: placeholder %s is not supported", where, v)
			}
		case int, float64, bool:
		default:
			return fmt.Errorf("%s: value %v is a %T, not a string, number, boolean or null", where, v, v)
		}
	}
	return nil
}

// checkNames refuses conditions that name searches the rule lacks: the
// evaluator would silently read them as false.
func checkNames(e sigmago.SearchExpr, searches map[string]sigmago.Search) error {
	switch e := e.(type) {
	case sigmago.And:
		for _, x := range e {
			if err := checkNames(x, searches); err != nil {
				return err
			}
		}
	case sigmago.Or:
		for _, x := range e {
			if err := checkNames(x, searches); err != nil {
				return err
			}
		}
	case sigmago.Not:
		return checkNames(e.Expr, searches)
	case sigmago.SearchIdentifier:
		if _, ok := searches[e.Name]; !ok {
			return fmt.Errorf("condition names %q, which the detection does not define", e.Name)
		}
	case sigmago.OneOfPattern, sigmago.AllOfPattern, sigmago.OneOfThem, sigmago.AllOfThem:
	case nil:
		return errors.New("empty condition")
	default:
		return fmt.Errorf("condition construct %T is not supported", e)
	}
	return nil
}

// severity maps a Sigma level to a severity; a rule without level is
// medium, Sigma's own default.
func severity(level string) (detect.Severity, error) {
	switch strings.ToLower(level) {
	case "informational":
		return detect.SeverityInfo, nil
	case "", "medium":
		return detect.SeverityMedium, nil
	case "low":
		return detect.SeverityLow, nil
	case "high":
		return detect.SeverityHigh, nil
	case "critical":
		return detect.SeverityCritical, nil
	}
	return 0, fmt.Errorf("level %q is not informational, low, medium, high or critical", level)
}

var attackTag = lazyre.New(`^attack\.(t[0-9]{4}(\.[0-9]{3})?)$`)

// techniques picks the ATT&CK technique tags (attack.t1562.008); tactic
// tags (attack.defense-evasion) are not techniques.
func techniques(tags []string) []string {
	var out []string
	for _, t := range tags {
		if m := attackTag.FindStringSubmatch(strings.ToLower(t)); m != nil {
			id := strings.ToUpper(m[1])
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

func description(r sigmago.Rule) string {
	if r.Description != "" {
		return r.Description
	}
	return r.Title
}

func falsePositives(r sigmago.Rule) []string {
	var out []string
	switch v := r.AdditionalFields["falsepositives"].(type) {
	case string:
		out = append(out, v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// runbook is the alert's what-to-do line: the rule's description and its
// known false positives.
func runbook(r sigmago.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Sigma rule %s: %s", r.ID, description(r))
	if fp := falsePositives(r); len(fp) > 0 {
		fmt.Fprintf(&b, " Known false positives: %s.", strings.Join(fp, "; "))
	}
	return b.String()
}

// Matches reports whether the rule matches a CloudTrail record (its JSON),
// by the evaluator alone: no pattern first. Tests hold the catalog's
// decisions, patterns included, to it.
func (r *Rule) Matches(record []byte) (bool, error) {
	e, err := newEvaluator(r.Sigma)
	if err != nil {
		return false, err
	}
	res, err := e.matches(record)
	return res.Match, err
}
