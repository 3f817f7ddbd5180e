package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"quamina.net/go/quamina"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// cpuAlarms returns the template's alarms named with the CPU prefix, by name.
func cpuAlarms(t *testing.T, tmpl map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, res := range resources(tmpl, "AWS::CloudWatch::Alarm") {
		p := props(res)
		name, _ := p["AlarmName"].(string)
		if strings.HasPrefix(name, detect.CPUAlarmPrefix) {
			out[name] = p
		}
	}
	return out
}

// TestFleetAlarmCoversEveryInstance checks the alarm that follows the
// fleet: a Metrics Insights query over every instance's CPUUtilization,
// with no instance named, so instances launched later are covered.
func TestFleetAlarmCoversEveryInstance(t *testing.T) {
	s := synth(t)
	alarms := cpuAlarms(t, s.json)
	fleet, ok := alarms[detect.CPUAlarmPrefix+"Fleet"]
	if !ok {
		t.Fatalf("no fleet alarm among %v", alarms)
	}
	metrics, _ := fleet["Metrics"].(arr)
	if len(metrics) != 1 {
		t.Fatalf("fleet alarm has %d metric queries, want 1", len(metrics))
	}
	q := metrics[0].(obj)
	expr, _ := q["Expression"].(string)
	if !strings.HasPrefix(expr, "SELECT ") || !strings.Contains(expr, `SCHEMA("AWS/EC2", InstanceId)`) || !strings.Contains(expr, "CPUUtilization") {
		t.Errorf("fleet query = %q, want a Metrics Insights query over AWS/EC2 CPUUtilization by InstanceId", expr)
	}
	if strings.Contains(expr, "WHERE") {
		t.Errorf("fleet query %q filters instances; it must cover all", expr)
	}
	if _, named := q["MetricStat"]; named {
		t.Error("fleet alarm names a metric; it must use the query")
	}
	cfg := s.cfg
	want := map[string]any{
		"Threshold":          float64(cfg.CPUThreshold),
		"EvaluationPeriods":  float64(cfg.CPUDatapoints),
		"DatapointsToAlarm":  float64(cfg.CPUDatapoints),
		"ComparisonOperator": "GreaterThanOrEqualToThreshold",
		"TreatMissingData":   "notBreaching",
	}
	for k, v := range want {
		if !equalJSON(fleet[k], v) {
			t.Errorf("fleet %s = %v, want %v", k, fleet[k], v)
		}
	}
	if !equalJSON(q["Period"], float64(cfg.CPUPeriodMinutes*60)) || q["ReturnData"] != true {
		t.Errorf("fleet query Period/ReturnData = %v/%v, want %d/true", q["Period"], q["ReturnData"], cfg.CPUPeriodMinutes*60)
	}
	if cfg.CPUDatapoints*cfg.CPUPeriodMinutes < 15 {
		t.Errorf("default alarm window is %d minutes; mining is sustained, want at least 15", cfg.CPUDatapoints*cfg.CPUPeriodMinutes)
	}
}

func TestConfiguredInstanceAndGroupAlarms(t *testing.T) {
	s := synth(t)
	alarms := cpuAlarms(t, s.json)
	for name, dim := range map[string][2]string{
		detect.CPUAlarmPrefix + testCPUInstance:       {"InstanceId", testCPUInstance},
		detect.CPUAlarmPrefix + "Asg-" + testCPUGroup: {"AutoScalingGroupName", testCPUGroup},
	} {
		p, ok := alarms[name]
		if !ok {
			t.Errorf("no alarm %s", name)
			continue
		}
		b, _ := json.Marshal(p["Metrics"])
		want := fmt.Sprintf(`"Dimensions":[{"Name":%q,"Value":%q}]`, dim[0], dim[1])
		if !strings.Contains(string(b), want) || !strings.Contains(string(b), `"MetricName":"CPUUtilization"`) {
			t.Errorf("%s metrics = %s, want CPUUtilization with %s", name, b, want)
		}
	}
	if len(alarms) != 3 {
		t.Errorf("%d CPU alarms, want 3 (fleet, one instance, one group)", len(alarms))
	}
}

// TestCPUAlarmsReachTheirRule sends a state change of every CPU alarm in
// the template, and of the configured existing alarm, through the
// template's ec2-cpu-spike rule: each must match, in ALARM and in OK, and
// an unrelated alarm must not.
func TestCPUAlarmsReachTheirRule(t *testing.T) {
	s := synth(t)
	rules := templateRules(t, s.json, s.catalog)
	r, ok := rules["ec2-cpu-spike"]
	if !ok {
		t.Fatal("no rule for ec2-cpu-spike")
	}
	pattern, _ := json.Marshal(r.Props["EventPattern"])
	q, err := quamina.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := q.AddPattern("cpu", string(pattern)); err != nil {
		t.Fatalf("pattern %s: %v", pattern, err)
	}
	names := []string{testUserAlarm}
	for n := range cpuAlarms(t, s.json) {
		names = append(names, n)
	}
	change := func(name, state string) []byte {
		return fmt.Appendf(nil, `{"version":"0","id":"1","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","account":"111122223333","time":"2026-11-20T03:15:04Z","region":"eu-west-1","resources":[],"detail":{"alarmName":%q,"state":{"value":%q}}}`, name, state)
	}
	for _, n := range names {
		for _, state := range []string{"ALARM", "OK"} {
			m, err := q.MatchesForEvent(change(n, state))
			if err != nil || len(m) != 1 {
				t.Errorf("%s %s: rule matched %v (%v), want a match", n, state, m, err)
			}
		}
		if m, _ := q.MatchesForEvent(change(n, "INSUFFICIENT_DATA")); len(m) != 0 {
			t.Errorf("%s INSUFFICIENT_DATA reaches the function, but the default configuration does not report it", n)
		}
	}
	if m, _ := q.MatchesForEvent(change("rds-free-storage-low", "ALARM")); len(m) != 0 {
		t.Error("an alarm neither trailwatch's nor configured reaches the function")
	}
}

// TestInstanceRulesTargetInstanceFunction checks the alarm and GuardDuty
// rules: the instance function, the retry policy, the dead-letter queue.
func TestInstanceRulesTargetInstanceFunction(t *testing.T) {
	s := synth(t)
	rules := templateRules(t, s.json, s.catalog)
	fn := logicalID(t, s.stack.Stack, s.stack.Instance.Function)
	queue := logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue)
	for _, id := range []string{"ec2-cpu-spike", "guardduty-crypto-mining"} {
		r, ok := rules[id]
		if !ok {
			t.Errorf("no rule for %s", id)
			continue
		}
		if !equalJSON(r.Target["Arn"], getAtt(fn, "Arn")) {
			t.Errorf("%s targets %v, want the instance function", id, r.Target["Arn"])
		}
		if !equalJSON(r.Target["DeadLetterConfig"], obj{"Arn": getAtt(queue, "Arn")}) {
			t.Errorf("%s has no dead-letter queue: %v", id, r.Target["DeadLetterConfig"])
		}
		if r.Target["RetryPolicy"] == nil {
			t.Errorf("%s has no retry policy", id)
		}
	}
}

// TestGroupsDifferingInPunctuation: groups whose names differ only in
// characters a construct ID cannot hold ("web.asg", "webasg") each get
// their alarm, instead of the synth failing on a duplicate construct.
func TestGroupsDifferingInPunctuation(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("GroupsProbe"), nil)
	a := NewCPUAlarms(stack, "Cpu", &CPUAlarmsProps{ThresholdPercent: 80, PeriodMinutes: 5, Datapoints: 3, Groups: []string{"web.asg", "webasg", "web_asg"}})
	if len(a.Groups) != 3 {
		t.Fatalf("%d group alarms, want 3", len(a.Groups))
	}
	names := map[string]bool{}
	for _, al := range a.Groups {
		names[*al.AlarmName()] = true
	}
	if len(names) != 3 {
		t.Errorf("alarm names %v, want 3 distinct", names)
	}
}
