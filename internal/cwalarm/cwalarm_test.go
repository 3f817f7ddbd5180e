package cwalarm_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/cwalarm"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// TestShapes decodes the three metric-alarm shapes EventBridge delivers.
func TestShapes(t *testing.T) {
	for _, tt := range []struct {
		fixture, shape, state string
		instances             []string
		threshold             float64
		points                []float64
		period                int
		query                 bool
	}{
		{"cloudwatch/ec2-cpu-spike-single-metric-alarm.json", cwalarm.ShapeSingleMetric, "ALARM", []string{"i-0a1b2c3d4e5f60718"}, 80, []float64{97.9, 99.1, 98.7}, 300, false},
		{"cloudwatch/ec2-cpu-spike-metric-math-alarm.json", cwalarm.ShapeMetricMath, "ALARM", []string{"i-0f1e2d3c4b5a69788", "i-07a8b9c0d1e2f3a4b"}, 80, []float64{91.2, 95.4, 96}, 300, false},
		{"cloudwatch/ec2-cpu-spike-insights-query-alarm.json", cwalarm.ShapeMetricsInsights, "ALARM", nil, 80, []float64{99.6, 99.8, 99.7}, 300, true},
		{"cloudwatch/ec2-cpu-spike-single-metric-ok.json", cwalarm.ShapeSingleMetric, "OK", []string{"i-0a1b2c3d4e5f60718"}, 80, []float64{6.2}, 300, false},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			sc, err := cwalarm.Decode(fixture.Detail(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if got := sc.Shape(); got != tt.shape {
				t.Errorf("Shape = %q, want %q", got, tt.shape)
			}
			if sc.State.Value != tt.state {
				t.Errorf("state = %q, want %q", sc.State.Value, tt.state)
			}
			if got := sc.Dimension("InstanceId"); !slices.Equal(got, tt.instances) {
				t.Errorf("instances = %v, want %v", got, tt.instances)
			}
			th, points := sc.Breach()
			if th == nil || *th != tt.threshold || !slices.Equal(points, tt.points) {
				t.Errorf("Breach = %v %v, want %v %v", th, points, tt.threshold, tt.points)
			}
			if got := sc.Period(); got != tt.period {
				t.Errorf("Period = %d, want %d", got, tt.period)
			}
			if (sc.Query() != "") != tt.query || !sc.Watches("AWS/EC2", "CPUUtilization") {
				t.Errorf("Query = %q, Watches = %t", sc.Query(), sc.Watches("AWS/EC2", "CPUUtilization"))
			}
			if sc.State.Timestamp.IsZero() {
				t.Error("state timestamp not read")
			}
		})
	}
}

// TestPoints: the evaluated datapoints with their times, oldest first (as
// CloudWatch's reason text lists them newest first, in its own date
// format); periods with missing data are left out; without
// evaluatedDatapoints the recent values come without times.
func TestPoints(t *testing.T) {
	sc, err := cwalarm.Decode(fixture.Detail(t, "cloudwatch/ec2-cpu-spike-single-metric-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range sc.Points() {
		got = append(got, p.Time.Format(time.RFC3339)+"="+strconv.FormatFloat(p.Value, 'f', -1, 64))
	}
	if want := []string{"2026-11-20T03:00:00Z=97.9", "2026-11-20T03:05:00Z=99.1", "2026-11-20T03:10:00Z=98.7"}; !slices.Equal(got, want) {
		t.Errorf("Points = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		name, reasonData string
		want             []cwalarm.Point
	}{
		{"missing data left out", `{"evaluatedDatapoints":[{"timestamp":"2026-11-20T03:10:00.000+0000","value":90},{"timestamp":"2026-11-20T03:05:00.000+0000"}]}`,
			[]cwalarm.Point{{Time: time.Date(2026, 11, 20, 3, 10, 0, 0, time.UTC), Value: 90}}},
		{"recent only", `{"recentDatapoints":[1.5,2]}`, []cwalarm.Point{{Value: 1.5}, {Value: 2}}},
		{"unreadable time keeps the order", `{"evaluatedDatapoints":[{"timestamp":"later","value":2},{"timestamp":"2026-11-20T03:05:00.000+0000","value":1}]}`,
			[]cwalarm.Point{{Value: 2}, {Time: time.Date(2026, 11, 20, 3, 5, 0, 0, time.UTC), Value: 1}}},
		{"none", `{}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := json.Marshal(tt.reasonData)
			sc, err := cwalarm.Decode([]byte(`{"alarmName":"a","state":{"value":"ALARM","reasonData":` + string(raw) + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := sc.Points(); !slices.Equal(got, tt.want) {
				t.Errorf("Points = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestComposite(t *testing.T) {
	sc, err := cwalarm.Decode([]byte(`{"alarmName":"both","state":{"value":"ALARM","reason":"x"},"configuration":{"alarmRule":"ALARM(a) AND ALARM(b)"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Shape() != cwalarm.ShapeComposite || sc.Watches("AWS/EC2", "CPUUtilization") {
		t.Errorf("Shape = %q", sc.Shape())
	}
	if th, points := sc.Breach(); th != nil || points != nil {
		t.Error("a composite alarm has no breach data")
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"empty", ``, "empty"},
		{"not an object", `[1]`, "want an object"},
		{"no name", `{"state":{"value":"ALARM"}}`, "no alarmName"},
		{"no state", `{"alarmName":"a"}`, "no state.value"},
		{"wrong type", `{"alarmName":3,"state":{"value":"ALARM"}}`, `field "alarmName"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cwalarm.Decode([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one naming %q", err, tt.want)
			}
		})
	}
	// An unreadable reasonData is not fatal: the alarm still decodes.
	sc, err := cwalarm.Decode([]byte(`{"alarmName":"a","state":{"value":"ALARM","reasonData":"{not json","timestamp":"yesterday"}}`))
	if err != nil || sc.State.Data != nil || !sc.State.Timestamp.IsZero() {
		t.Errorf("lenient decode = %+v, %v", sc, err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"cloudwatch/ec2-cpu-spike-insights-query-alarm.json", "cloudwatch/ec2-cpu-spike-metric-math-alarm.json"} {
		f.Add(fixture.Detail(f, name))
	}
	f.Add([]byte(`{"alarmName":"a","state":{"value":"ALARM","reasonData":"{\"threshold\":null,\"recentDatapoints\":[]}"},"configuration":{"metrics":[{}]}}`))
	f.Add([]byte(`{"alarmName":"a","state":{"value":"ALARM","reasonData":"{\"period\":1.5,\"recentDatapoints\":[1,1e999]}"},"configuration":{"metrics":[{"metricStat":{"metric":{"dimensions":{"a":"b"}}}}],"metrics":[]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		agree(t, b)
		sc, err := cwalarm.Decode(b)
		if err != nil {
			return
		}
		_ = sc.Shape()
		_ = sc.Dimension("InstanceId")
		_ = sc.Period()
		_ = sc.Points()
		_, _ = sc.Breach()
		_ = sc.Watches("AWS/EC2", "CPUUtilization")
	})
}
