package cwalarm_test

import (
	"slices"
	"strings"
	"testing"

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
		_, _ = sc.Breach()
		_ = sc.Watches("AWS/EC2", "CPUUtilization")
	})
}
