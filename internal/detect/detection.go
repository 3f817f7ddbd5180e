// Package detect is trailwatch's detection catalog: one file per detection,
// each declaring one Detection value. The catalog is the single source of
// truth: infra/ turns every Pattern into an EventBridge rule, the Lambda
// handler and `trailwatch replay` evaluate the same patterns (with quamina,
// an EventBridge-compatible matcher) and then each detection's Go decision.
//
// The EventBridge pattern is a coarse filter that keeps invocations down;
// Evaluate is the truth.
package detect

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// Severity ranks findings. The zero value is invalid.
type Severity int

// Severities, from least to most urgent.
const (
	SeverityInfo Severity = iota + 1
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = []string{"", "info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < SeverityInfo || s > SeverityCritical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// Valid reports whether s is one of the defined severities.
func (s Severity) Valid() bool { return s >= SeverityInfo && s <= SeverityCritical }

// MarshalText encodes the severity as its lower-case name.
func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText parses a severity name, ignoring case.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity parses a severity name, ignoring case.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if i > 0 && strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames[1:], ", "))
}

// Detection is one entry of the catalog.
type Detection struct {
	// ID is stable, lower-case kebab case, and names the file that declares
	// the detection (s3-bucket-policy-public in s3_bucket_policy_public.go).
	ID          string
	Title       string
	Description string
	// Severity is the severity of a real, successful occurrence. Evaluate
	// may report lower (a denied attempt) or higher.
	Severity Severity
	// Pattern becomes the EventBridge rule; it must stay within what quamina
	// understands so tests can prove it against fixtures.
	Pattern Pattern
	// Narrow, when set, adapts Pattern to the deployment's settings (alarm
	// names the user adds, alarm states to report). The CDK rule and the
	// handler's matcher both use the narrowed pattern (Catalog.PatternOf).
	Narrow func(p Pattern, env *Env) Pattern
	// Function names the Lambda function the rule targets: "" for the
	// CloudTrail function, FunctionInstance for the function that enriches
	// EC2 instances (alarms, GuardDuty findings).
	Function string
	// Evaluate is the precise decision on an event the pattern matched. env
	// holds the deployment's settings (never nil).
	Evaluate func(ev *event.Event, env *Env) (Finding, bool)
	// CIS lists the CIS AWS Foundations Benchmark monitoring controls
	// (4.1-4.15; the same numbers from v1.4.0 to v3.0.0) the detection
	// implements.
	CIS []string
	// CISRelated lists other benchmark controls (v3.0.0 numbering) whose
	// protection the event undoes, e.g. 2.1.4 for Block Public Access.
	CISRelated []string
	// MITRE lists ATT&CK technique IDs.
	MITRE          []string
	Runbook        string
	References     []string
	FalsePositives []string
	// NeedsReadOnly marks detections of read-only API calls, which reach
	// EventBridge only on rules enabled for all management events.
	NeedsReadOnly bool
	// GlobalService marks events delivered to EventBridge only in us-east-1
	// (IAM, STS, sign-in, Organizations).
	GlobalService bool
	// Protected marks detections of tampering with the audit trail itself
	// or with trailwatch: an allow-list cannot silence them unless it says
	// so explicitly.
	Protected bool
	// Immediate marks detections whose alerts are never held back for a
	// storm digest: tampering with trailwatch's own delivery (its
	// functions, rules, topic, queue, table, secret, alarms), where the
	// digest would be sent by the very thing being taken away.
	Immediate bool
	// Noisy marks detections that fire on routine mistakes one by one
	// (denied calls, failed sign-ins): they are reported per principal and
	// time window, not per event.
	Noisy bool
	// Broad marks catch-all change monitors (a CIS control's whole list of
	// events): at equal severity a more specific detection of the same
	// event leads the alert.
	Broad bool
	// Tests names fixtures under events/: Positive ones must raise this
	// detection, Negative ones must not. Sigma detections have none: their
	// rule's own values are their tests (internal/sigma).
	Tests Tests
	// Kind says how the detection decides: KindGo (the zero value, a
	// decision written in this package) or KindSigma (a user's Sigma rule,
	// its pattern compiled from the rule's selections and its decision the
	// rule evaluated on the event, see internal/sigma).
	Kind Kind
	// Source is the file a KindSigma detection was loaded from.
	Source string
	// Threshold, when set, makes the detection count its events and alert
	// once a principal's window reaches the count (Kind KindThreshold).
	Threshold *Threshold
	// Scheduled marks a detection that no EventBridge rule feeds: a
	// scheduled check makes the event it decides (trailwatch-member-silent's
	// report of a silent member, from the digest function's heartbeat
	// check). infra makes no rule for it on any bus: a rule would match
	// events that anyone allowed to put events on the bus could forge.
	Scheduled bool
}

// Kind is how a detection decides.
type Kind string

// Detection kinds.
const (
	KindGo    Kind = ""
	KindSigma Kind = "sigma"
)

// String names the kind as `trailwatch rules` shows it: "go" or "sigma".
func (k Kind) String() string {
	if k == KindGo {
		return "go"
	}
	return string(k)
}

// MarshalText encodes the kind as its name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// FunctionInstance is the function for alarm and GuardDuty detections.
const FunctionInstance = "instance"

// Env holds the deployment settings some decisions depend on. The function
// reads them from its configuration; replay uses the zero value plus flags.
type Env struct {
	// TrailBuckets hold CloudTrail logs: shortening their retention is
	// tampering with the trail.
	TrailBuckets []string `json:"trailBuckets,omitempty"`
	// MinRetentionDays is the shortest log retention accepted; zero means 365.
	MinRetentionDays int `json:"minRetentionDays,omitempty"`
	// AllowedRegions are the regions the account uses: launching instances
	// elsewhere is suspicious. Empty: no region check.
	AllowedRegions []string `json:"allowedRegions,omitempty"`
	// AllowedInstanceTypes are instance type patterns ("g5.xlarge", "p4d.*")
	// that are expected even though they are GPU or very large types.
	AllowedInstanceTypes []string `json:"allowedInstanceTypes,omitempty"`
	// AlarmNames are the CloudWatch alarms reported as CPU alarms: names,
	// or prefixes ending in "*". The deployment lists trailwatch's own
	// ("Trailwatch-Cpu-*") and the user's; empty means every alarm that
	// watches EC2 CPU.
	AlarmNames []string `json:"alarmNames,omitempty"`
	// SkipResolved sends no message when an alarm goes back to OK.
	SkipResolved bool `json:"skipResolved,omitempty"`
	// AlarmInsufficientData reports alarms that enter INSUFFICIENT_DATA.
	AlarmInsufficientData bool `json:"alarmInsufficientData,omitempty"`
	// MiningMinSeverity is the lowest severity of a GuardDuty crypto-mining
	// finding, whatever GuardDuty scored it (trailwatch:miningMinSeverity);
	// zero means high (see MiningFloor).
	MiningMinSeverity Severity `json:"miningMinSeverity,omitempty"`
	// OwnNames are the names of trailwatch's own resources (its alert
	// topic, dead-letter queue, state table, Slack secret): deleting or
	// changing them is tampering with trailwatch.
	OwnNames []string `json:"ownNames,omitempty"`
	// OwnPrefixes start the names of trailwatch's own resources: the
	// stack's name followed by "-" ("Trailwatch-"), which begins its
	// detection rules' names and every name CloudFormation generates for
	// the stack (functions, queues, topics, tables), and the forwarder
	// stacks' common beginning ("TrailwatchForwarder-"). When neither
	// OwnNames nor OwnPrefixes is set, trailwatch's naming conventions
	// decide (see OwnsRule and Owns).
	OwnPrefixes []string `json:"ownPrefixes,omitempty"`
	// Thresholds are the deployment's counts and windows of threshold
	// detections, by detection ID (trailwatch:thresholds).
	Thresholds map[string]ThresholdSetting `json:"thresholds,omitempty"`
}

// RetentionDays is MinRetentionDays with its default.
func (e *Env) RetentionDays() int {
	if e == nil || e.MinRetentionDays <= 0 {
		return 365
	}
	return e.MinRetentionDays
}

// MiningFloor is MiningMinSeverity with its default, high.
func (e *Env) MiningFloor() Severity {
	if e == nil || !e.MiningMinSeverity.Valid() {
		return SeverityHigh
	}
	return e.MiningMinSeverity
}

// Tests names the fixtures (paths under events/) that prove a detection.
type Tests struct {
	// Positive fixtures must raise the detection at the given severity.
	Positive []Example
	// Negative fixtures must not raise it. Some should be rejected by the
	// pattern itself, others by the decision.
	Negative []string
}

// Example is a positive fixture and the severity it must produce.
type Example struct {
	File     string
	Severity Severity
}

// Finding is what a detection reports about one event.
type Finding struct {
	Detection *Detection
	Severity  Severity
	// SeverityNote explains a severity the decision set apart from its
	// source's own, e.g. "raised from medium: crypto-mining findings are at
	// least high (trailwatch:miningMinSeverity)"; the alert shows it.
	SeverityNote string
	// Headline says what happened in one line, e.g. "Bucket policy of
	// acme-data lets everyone read objects". It may hold attacker-chosen
	// names: renderers escape it.
	Headline string
	Resource Resource
	Changes  []Change
	Evidence []Evidence
	// Attempt is set when AWS rejected the request: nothing changed.
	Attempt bool
	// Resolved is set when the finding reports the end of a condition an
	// earlier alert announced (an alarm back to OK).
	Resolved bool
	// Counted are what the event adds to a threshold detection's window
	// (the secrets it read); empty counts the event itself.
	Counted []string
}

// Resource is what the event acted on.
type Resource struct {
	Type   string // "S3 bucket", "AWS account"
	Name   string
	ARN    string
	Region string
}

// Change is one setting the event changed. Before is empty when a previous
// value does not apply (a replaced policy is shown by its new content), and
// NotRecorded when it applies but the event does not carry it.
type Change struct {
	Setting string
	Before  string
	After   string
}

// NotRecorded is the Before of a change whose previous value the event
// does not record.
const NotRecorded = "?"

// Evidence is a labelled excerpt that shows why the detection fired, such as
// the policy statement that grants public access. Label is a heading
// written by the detection; event text belongs in Text.
type Evidence struct {
	Label string
	Text  string
}

var (
	idPattern         = lazyre.New(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	monitoringControl = lazyre.New(`^4\.([1-9]|1[0-5])$`)
	// techniqueID is the form of an ATT&CK technique ID; a Sigma rule may
	// cite techniques Techniques does not name.
	techniqueID = lazyre.New(`^T[0-9]{4}(\.[0-9]{3})?$`)
)

// Validate checks that the detection is complete: the catalog refuses
// detections without metadata, fixtures, a decision or a usable pattern.
func (d *Detection) Validate() error {
	if d.Kind == KindSigma {
		return d.validateSigma()
	}
	if d.Kind != KindGo && d.Kind != KindThreshold {
		return fmt.Errorf("detection %q: unknown kind %q", d.ID, string(d.Kind))
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch t := d.Threshold; {
	case (d.Kind == KindThreshold) != (t != nil):
		add("a threshold detection has kind %q and a Threshold, both or neither", KindThreshold)
	case t != nil && (t.Count < MinThresholdCount || t.Count > MaxThresholdCount):
		add("threshold count %d out of range %d-%d", t.Count, MinThresholdCount, MaxThresholdCount)
	case t != nil && (t.Window < time.Minute || t.Window > MaxThresholdWindow):
		add("threshold window %s out of range 1m-24h", t.Window)
	case t != nil && (t.Noun == "" || t.Verb == ""):
		add("threshold without Noun or Verb")
	}
	if !idPattern.MatchString(d.ID) {
		add("ID %q is not lower-case kebab case", d.ID)
	}
	if d.Description == "" {
		add("no Description")
	}
	d.essentials(add)
	if len(d.References) == 0 {
		add("no References")
	}
	if len(d.CIS) == 0 && len(d.MITRE) == 0 {
		add("neither CIS nor MITRE references")
	}
	for _, c := range d.CIS {
		if !monitoringControl.MatchString(c) {
			add("CIS control %q is not a monitoring control 4.1-4.15 (list others in CISRelated)", c)
		}
	}
	for _, c := range d.CISRelated {
		if _, ok := CISControls[c]; !ok {
			add("unknown CIS control %q", c)
		}
	}
	if len(d.MITRE) == 0 {
		add("no MITRE ATT&CK technique")
	}
	for _, m := range d.MITRE {
		if _, ok := Techniques[m]; !ok {
			add("unknown ATT&CK technique %q", m)
		}
	}
	if len(d.Tests.Positive) == 0 || len(d.Tests.Negative) == 0 {
		add("needs at least one positive and one negative fixture")
	}
	for _, ex := range d.Tests.Positive {
		if !ex.Severity.Valid() {
			add("positive fixture %q has no valid severity", ex.File)
		}
	}
	if _, err := d.Pattern.JSON(); err != nil {
		add("pattern: %v", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("detection %q: %s", d.ID, strings.Join(problems, "; "))
	}
	return nil
}

// essentials are what every detection needs, whatever its kind: a title,
// a severity, a decision and a runbook.
func (d *Detection) essentials(add func(format string, args ...any)) {
	if d.Title == "" {
		add("no Title")
	}
	if !d.Severity.Valid() {
		add("invalid Severity %d", int(d.Severity))
	}
	if d.Evaluate == nil {
		add("no Evaluate")
	}
	if d.Runbook == "" {
		add("no Runbook")
	}
}

// validateSigma checks a detection loaded from a Sigma rule: what a rule
// author must give (a title, a level, a decision, a usable pattern) and the
// file it came from. References, techniques and fixtures are the rule's
// own business; techniques it cites must still look like ATT&CK IDs.
func (d *Detection) validateSigma() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !strings.HasPrefix(d.ID, "sigma-") || !idPattern.MatchString(d.ID) {
		add("ID %q is not sigma- and the rule's id in lower-case kebab case", d.ID)
	}
	if d.Source == "" {
		add("no Source file")
	}
	d.essentials(add)
	for _, m := range d.MITRE {
		if !techniqueID.MatchString(m) {
			add("ATT&CK technique %q is not an ID like T1562 or T1562.008", m)
		}
	}
	if len(d.CIS) > 0 || len(d.CISRelated) > 0 {
		add("a Sigma detection cites no CIS control")
	}
	if d.Narrow != nil || d.Function != "" {
		add("a Sigma detection neither narrows its pattern nor targets another function")
	}
	if _, err := d.Pattern.JSON(); err != nil {
		add("pattern: %v", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("detection %q (%s): %s", d.ID, d.Source, strings.Join(problems, "; "))
	}
	return nil
}

// Pattern is an EventBridge event pattern, built as a Go value so it can be
// marshalled into the CDK rule and tested.
type Pattern struct {
	Source     []any          `json:"source,omitempty"`
	DetailType []string       `json:"detail-type,omitempty"`
	Resources  []any          `json:"resources,omitempty"`
	Detail     map[string]any `json:"detail,omitempty"`
}

// APICall matches CloudTrail API calls of the given event sources
// ("s3.amazonaws.com") and names.
func APICall(eventSources []string, eventNames ...string) Pattern {
	sources := make([]any, len(eventSources))
	for i, s := range eventSources {
		sources[i] = event.SourceFor(s)
	}
	p := Pattern{
		Source:     sources,
		DetailType: []string{event.DetailTypeAPICall},
		Detail:     map[string]any{"eventName": eventNames},
	}
	// The event's source names its service as eventSource does
	// (event.SourceFor), so eventSource only repeats it. It stays for one
	// service; for several it is left out: the matcher builds the event
	// names once per pair of source and eventSource values, and five
	// services made one pattern take 7 ms of every cold start (quamina
	// v1.5.1), for no event of a different match.
	if len(eventSources) == 1 {
		p.Detail["eventSource"] = eventSources
	}
	return p
}

// AnyCloudTrail matches CloudTrail events of the given detail types from
// every AWS service (source prefix "aws.", which custom events cannot use).
// Narrow it with Where.
func AnyCloudTrail(detailTypes ...string) Pattern {
	return Pattern{
		Source:     []any{map[string]any{"prefix": "aws."}},
		DetailType: detailTypes,
		Detail:     map[string]any{},
	}
}

// Where returns the pattern with a condition on a detail field, given as a
// dotted path ("userIdentity.type") and the values or operators EventBridge
// accepts there (strings, numbers, booleans, nil, or operator objects such
// as map[string]any{"prefix": "AccessDenied"}). It copies the pattern's
// detail, so patterns built from a shared base stay independent.
func (p Pattern) Where(path string, values ...any) Pattern {
	p.Detail = withPath(p.Detail, strings.Split(path, "."), values)
	return p
}

func withPath(m map[string]any, keys []string, values []any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	if len(keys) == 1 {
		out[keys[0]] = values
		return out
	}
	inner, _ := out[keys[0]].(map[string]any)
	out[keys[0]] = withPath(inner, keys[1:], values)
	return out
}

// JSON renders the pattern as EventBridge expects it.
func (p Pattern) JSON() (string, error) {
	if len(p.Source) == 0 && len(p.DetailType) == 0 && len(p.Resources) == 0 && len(p.Detail) == 0 {
		return "", fmt.Errorf("empty pattern matches everything")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode pattern: %w", err)
	}
	return string(b), nil
}
