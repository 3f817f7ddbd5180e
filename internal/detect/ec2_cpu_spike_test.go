package detect_test

import (
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// TestCPUAlarmSettings runs alarm fixtures through catalogs with the
// settings a deployment gives the function: the narrowed patterns and the
// decision must agree on which alarms and states are reported.
func TestCPUAlarmSettings(t *testing.T) {
	deployed := []string{detect.CPUAlarmPrefix + "*", "web-cpu-high"}
	tests := []struct {
		name    string
		env     detect.Env
		fixture string
		want    detect.Severity // 0: no finding
		// rule: the narrowed pattern (the deployed rule) matches.
		rule bool
	}{
		{"replay: any EC2 CPU alarm", detect.Env{}, "cloudwatch/ec2-cpu-spike-user-alarm.json", detect.SeverityHigh, true},
		{"replay: an RDS alarm is not CPU", detect.Env{}, "cloudwatch/ec2-cpu-spike-other-alarm.json", 0, true},
		{"deployed: trailwatch's alarm", detect.Env{AlarmNames: deployed}, "cloudwatch/ec2-cpu-spike-insights-query-alarm.json", detect.SeverityHigh, true},
		{"deployed: a configured alarm", detect.Env{AlarmNames: deployed}, "cloudwatch/ec2-cpu-spike-user-alarm.json", detect.SeverityHigh, true},
		{"deployed: a CPU alarm nobody configured", detect.Env{AlarmNames: deployed[:1]}, "cloudwatch/ec2-cpu-spike-user-alarm.json", 0, false},
		{"resolved messages on", detect.Env{AlarmNames: deployed}, "cloudwatch/ec2-cpu-spike-single-metric-ok.json", detect.SeverityInfo, true},
		{"resolved messages off", detect.Env{AlarmNames: deployed, SkipResolved: true}, "cloudwatch/ec2-cpu-spike-single-metric-ok.json", 0, false},
		{"insufficient data off", detect.Env{AlarmNames: deployed}, "cloudwatch/ec2-cpu-spike-insufficient-data.json", 0, false},
		{"insufficient data on", detect.Env{AlarmNames: deployed, AlarmInsufficientData: true}, "cloudwatch/ec2-cpu-spike-insufficient-data.json", detect.SeverityLow, true},
		{"OK after INSUFFICIENT_DATA is no resolution", detect.Env{AlarmNames: deployed}, "cloudwatch/ec2-cpu-spike-ok-from-insufficient-data.json", 0, true},
	}
	base, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := base.WithEnv(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			ev := decodeFixture(t, tt.fixture)
			fs, err := c.Evaluate(ev)
			if err != nil {
				t.Fatal(err)
			}
			var got detect.Severity
			resolved := false
			for _, f := range fs {
				if f.Detection.ID == "ec2-cpu-spike" {
					got, resolved = f.Severity, f.Resolved
				}
			}
			if got != tt.want {
				t.Errorf("severity = %v, want %v", got, tt.want)
			}
			if resolved != (tt.want == detect.SeverityInfo) {
				t.Errorf("Resolved = %t", resolved)
			}
			// The rule (narrowed pattern) invokes the function exactly for
			// the names and states the settings report.
			matched, err := c.Match(ev)
			if err != nil {
				t.Fatal(err)
			}
			hit := false
			for _, d := range matched {
				hit = hit || d.ID == "ec2-cpu-spike"
			}
			if hit != tt.rule {
				t.Errorf("rule matches = %t, want %t", hit, tt.rule)
			}
		})
	}
}
