// Package cwalarm decodes the detail of "CloudWatch Alarm State Change"
// events that CloudWatch sends to EventBridge. Three metric shapes appear in
// the wild for metric alarms: a single metric (one entry with metricStat), a
// metric math expression (several entries, one returning data), and a
// Metrics Insights query (one entry whose expression is a SELECT). Composite
// alarms carry an alarm rule instead of metrics. All decode into StateChange;
// unknown fields are ignored.
package cwalarm

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/jsonerr"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// DetailType and Source identify alarm state changes on EventBridge.
const (
	DetailType = "CloudWatch Alarm State Change"
	Source     = "aws.cloudwatch"
)

// Alarm states.
const (
	StateAlarm            = "ALARM"
	StateOK               = "OK"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Shapes of the alarm's configuration.
const (
	ShapeSingleMetric    = "single metric"
	ShapeMetricMath      = "metric math"
	ShapeMetricsInsights = "Metrics Insights query"
	ShapeComposite       = "composite alarm"
	ShapeUnknown         = "unknown"
)

// StateChange is the detail of an alarm state change event.
type StateChange struct {
	AlarmName     string        `json:"alarmName"`
	State         State         `json:"state"`
	PreviousState State         `json:"previousState"`
	Configuration Configuration `json:"configuration"`
}

// State is one alarm state with CloudWatch's reason for it.
type State struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
	// ReasonData is a JSON document inside a string; Data holds it decoded
	// when it could be read.
	ReasonData string    `json:"reasonData"`
	Timestamp  Timestamp `json:"timestamp"`
	// ActionsSuppressedBy is set when a suppressor alarm held actions back.
	ActionsSuppressedBy string `json:"actionsSuppressedBy"`

	Data *ReasonData `json:"-"`
}

// ReasonData is the machine-readable reason of a threshold crossing.
type ReasonData struct {
	Version             string      `json:"version"`
	QueryDate           Timestamp   `json:"queryDate"`
	StartDate           Timestamp   `json:"startDate"`
	Statistic           string      `json:"statistic"`
	Unit                string      `json:"unit"`
	Period              int         `json:"period"`
	RecentDatapoints    []float64   `json:"recentDatapoints"`
	Threshold           *float64    `json:"threshold"`
	EvaluatedDatapoints []Datapoint `json:"evaluatedDatapoints"`
}

// Datapoint is one evaluated datapoint.
type Datapoint struct {
	Timestamp   Timestamp `json:"timestamp"`
	SampleCount float64   `json:"sampleCount"`
	Value       *float64  `json:"value"`
}

// Configuration is what the alarm watches.
type Configuration struct {
	Description string   `json:"description"`
	Metrics     []Metric `json:"metrics"`
	// AlarmRule is set for composite alarms.
	AlarmRule string `json:"alarmRule"`
}

// Metric is one entry of the alarm's metrics: a metric with a statistic,
// or an expression (metric math or a Metrics Insights query).
type Metric struct {
	ID         string      `json:"id"`
	Label      string      `json:"label"`
	Expression string      `json:"expression"`
	ReturnData bool        `json:"returnData"`
	Period     int         `json:"period"`
	MetricStat *MetricStat `json:"metricStat"`
}

// MetricStat is a metric and how it is aggregated.
type MetricStat struct {
	Metric struct {
		Namespace  string            `json:"namespace"`
		Name       string            `json:"name"`
		Dimensions map[string]string `json:"dimensions"`
	} `json:"metric"`
	Period int    `json:"period"`
	Stat   string `json:"stat"`
	Unit   string `json:"unit"`
}

// Timestamp reads the time formats CloudWatch uses in these events
// ("2026-11-20T03:12:44.123+0000", RFC 3339). An unreadable time is left
// zero rather than failing the event.
type Timestamp struct{ time.Time }

var timeLayouts = []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s, ok := jsonscan.Text(b)
	if !ok || s == "" {
		return nil
	}
	for _, l := range timeLayouts {
		if v, err := time.Parse(l, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return nil
}

// Decode reads an alarm state change detail. It fails only when the detail
// is not a JSON object or names no alarm or state; an unreadable reasonData
// leaves State.Data nil.
func Decode(detail []byte) (*StateChange, error) {
	if len(bytes.TrimSpace(detail)) == 0 {
		return nil, errors.New("empty alarm state change")
	}
	var sc StateChange
	if err := jsonscan.Unmarshal(detail, &sc); err != nil {
		return nil, fmt.Errorf("alarm state change: %w", jsonerr.Describe(err))
	}
	if sc.AlarmName == "" {
		return nil, errors.New("alarm state change has no alarmName")
	}
	if sc.State.Value == "" {
		return nil, errors.New("alarm state change has no state.value")
	}
	sc.State.Data = reasonData(sc.State.ReasonData)
	sc.PreviousState.Data = reasonData(sc.PreviousState.ReasonData)
	return &sc, nil
}

func reasonData(s string) *ReasonData {
	if s == "" {
		return nil
	}
	var rd ReasonData
	if err := jsonscan.Unmarshal([]byte(s), &rd); err != nil {
		return nil
	}
	return &rd
}

// Shape says which kind of alarm this is.
func (s *StateChange) Shape() string {
	switch {
	case s.Configuration.AlarmRule != "":
		return ShapeComposite
	case s.Query() != "":
		return ShapeMetricsInsights
	case len(s.Configuration.Metrics) == 1 && s.Configuration.Metrics[0].MetricStat != nil:
		return ShapeSingleMetric
	case len(s.Configuration.Metrics) > 0:
		return ShapeMetricMath
	}
	return ShapeUnknown
}

// Query returns the Metrics Insights query the alarm evaluates, if any.
func (s *StateChange) Query() string {
	for _, m := range s.Configuration.Metrics {
		if IsQuery(m.Expression) {
			return m.Expression
		}
	}
	return ""
}

// IsQuery reports whether an expression is a Metrics Insights query.
func IsQuery(expr string) bool {
	return strings.HasPrefix(strings.ToUpper(strings.TrimSpace(expr)), "SELECT ")
}

// Dimension returns the distinct values of a dimension ("InstanceId")
// across the alarm's metrics, in order of appearance.
func (s *StateChange) Dimension(name string) []string {
	var out []string
	for _, m := range s.Configuration.Metrics {
		if m.MetricStat == nil {
			continue
		}
		if v := m.MetricStat.Metric.Dimensions[name]; v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Watches reports whether the alarm watches the metric namespace/name, as
// a metric or inside a Metrics Insights query.
func (s *StateChange) Watches(namespace, name string) bool {
	for _, m := range s.Configuration.Metrics {
		if ms := m.MetricStat; ms != nil && ms.Metric.Namespace == namespace && ms.Metric.Name == name {
			return true
		}
		if IsQuery(m.Expression) && strings.Contains(m.Expression, name) && strings.Contains(m.Expression, namespace) {
			return true
		}
	}
	return false
}

// Period is the evaluation period in seconds: from the reason, else from
// the metric that returns data.
func (s *StateChange) Period() int {
	if s.State.Data != nil && s.State.Data.Period > 0 {
		return s.State.Data.Period
	}
	for _, m := range s.Configuration.Metrics {
		if !m.ReturnData && len(s.Configuration.Metrics) > 1 {
			continue
		}
		if m.Period > 0 {
			return m.Period
		}
		if m.MetricStat != nil && m.MetricStat.Period > 0 {
			return m.MetricStat.Period
		}
	}
	return 0
}

// Point is one evaluated datapoint: the start of its period (zero when the
// reason does not give it) and its value.
type Point struct {
	Time  time.Time
	Value float64
}

// Points are the datapoints CloudWatch evaluated, oldest first: from
// reasonData's evaluatedDatapoints, which carry their times (those without
// a value, periods with missing data, are left out), else from its
// recentDatapoints, without times.
func (s *StateChange) Points() []Point {
	d := s.State.Data
	if d == nil {
		return nil
	}
	var out []Point
	timed := true
	for _, p := range d.EvaluatedDatapoints {
		if p.Value == nil {
			continue
		}
		out = append(out, Point{Time: p.Timestamp.Time, Value: *p.Value})
		timed = timed && !p.Timestamp.IsZero()
	}
	if len(out) == 0 {
		for _, v := range d.RecentDatapoints {
			out = append(out, Point{Value: v})
		}
		return out
	}
	if timed {
		slices.SortStableFunc(out, func(a, b Point) int { return a.Time.Compare(b.Time) })
	}
	return out
}

// Breach is what crossed the threshold: the threshold and the datapoints
// CloudWatch evaluated, most recent first as CloudWatch lists them.
func (s *StateChange) Breach() (threshold *float64, datapoints []float64) {
	d := s.State.Data
	if d == nil {
		return nil, nil
	}
	datapoints = d.RecentDatapoints
	if len(datapoints) == 0 {
		for _, p := range d.EvaluatedDatapoints {
			if p.Value != nil {
				datapoints = append(datapoints, *p.Value)
			}
		}
	}
	return d.Threshold, datapoints
}
