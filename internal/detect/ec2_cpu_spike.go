package detect

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/cwalarm"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/human"
)

// CPUAlarmPrefix starts the names of the CPU alarms trailwatch creates.
const CPUAlarmPrefix = "Trailwatch-Cpu-"

func init() {
	register(&Detection{
		ID:    "ec2-cpu-spike",
		Title: "Sustained CPU spike on EC2 instances (possible crypto-mining)",
		Description: "A CloudWatch alarm on EC2 CPUUtilization went to ALARM: one or more instances ran hot for the " +
			"alarm's whole evaluation window. trailwatch's own alarms (named " + CPUAlarmPrefix + "...) cover every " +
			"instance of the region through a Metrics Insights query, plus the instances and Auto Scaling groups named in " +
			"the configuration; alarms listed in trailwatch:alarmNames are reported the same way. Replayed without " +
			"settings, every alarm on AWS/EC2 CPUUtilization is reported. Crypto-mining on a " +
			"compromised instance shows as a long plateau near 100%, which CloudTrail cannot see. High when the alarm " +
			"fires; the return to OK after an alarm is reported as resolved (info, unless turned off); INSUFFICIENT_DATA " +
			"is reported at low severity only when configured.",
		Severity: SeverityHigh,
		Pattern: Pattern{
			Source:     []any{cwalarm.Source},
			DetailType: []string{cwalarm.DetailType},
			Detail: map[string]any{
				"state": map[string]any{"value": []any{cwalarm.StateAlarm, cwalarm.StateOK}},
			},
		},
		Narrow:   narrowAlarmPattern,
		Function: FunctionInstance,
		Evaluate: evaluateCPUAlarm,
		MITRE:    []string{"T1496.001"},
		Runbook: "Treat the hot instance as compromised until shown otherwise: isolate it (replace its security groups " +
			"with one that allows no traffic: aws ec2 modify-instance-attribute --instance-id ID --groups sg-ISOLATION), " +
			"snapshot its volumes for forensics (aws ec2 create-snapshots --instance-specification InstanceId=ID), then " +
			"investigate (unknown processes, outbound connections to mining pools on ports 3333/4444/5555/14444, new " +
			"users or keys, who launched it and with which role), and stop it (aws ec2 stop-instances) once evidence is " +
			"kept. Rotate the credentials of its instance profile if anything was found.",
		References: []string{
			"https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-alarms.html",
			"https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html",
			"https://attack.mitre.org/techniques/T1496/001/",
		},
		FalsePositives: []string{
			"Batch, build or machine-learning jobs that legitimately run at full CPU for long stretches: raise the " +
				"threshold, or leave those instances out through per-group alarms.",
		},
		Tests: Tests{
			Positive: []Example{
				{"cloudwatch/ec2-cpu-spike-single-metric-alarm.json", SeverityHigh},
				{"cloudwatch/ec2-cpu-spike-metric-math-alarm.json", SeverityHigh},
				{"cloudwatch/ec2-cpu-spike-insights-query-alarm.json", SeverityHigh},
				{"cloudwatch/ec2-cpu-spike-single-metric-ok.json", SeverityInfo},
				{"cloudwatch/ec2-cpu-spike-metric-math-ok.json", SeverityInfo},
				{"cloudwatch/ec2-cpu-spike-insights-query-ok.json", SeverityInfo},
				// An alarm the user already had, named in trailwatch:alarmNames.
				{"cloudwatch/ec2-cpu-spike-user-alarm.json", SeverityHigh},
			},
			Negative: []string{
				"cloudwatch/ec2-cpu-spike-ok-from-insufficient-data.json",
				"cloudwatch/ec2-cpu-spike-insufficient-data.json",
				"cloudwatch/ec2-cpu-spike-insights-query-insufficient-data.json",
				"cloudwatch/ec2-cpu-spike-other-alarm.json",
			},
		},
	})
}

// narrowAlarmPattern limits the rule to the alarm names of the settings
// (trailwatch's own, "Trailwatch-Cpu-*", and the user's) and the states
// the configuration wants reported. Without names (replay of recorded
// events) every alarm reaches the decision, which keeps those that watch
// EC2 CPU.
func narrowAlarmPattern(p Pattern, env *Env) Pattern {
	if len(env.AlarmNames) > 0 {
		names := make([]any, 0, len(env.AlarmNames))
		for _, n := range env.AlarmNames {
			if prefix, ok := strings.CutSuffix(n, "*"); ok {
				names = append(names, map[string]any{"prefix": prefix})
			} else {
				names = append(names, n)
			}
		}
		p = p.Where("alarmName", names...)
	}
	states := []any{cwalarm.StateAlarm}
	if !env.SkipResolved {
		states = append(states, cwalarm.StateOK)
	}
	if env.AlarmInsufficientData {
		states = append(states, cwalarm.StateInsufficientData)
	}
	return p.Where("state.value", states...)
}

// reportsAlarm says whether the alarm is one the settings name, or, when
// they name none, whether it watches EC2 CPU.
func reportsAlarm(a *cwalarm.StateChange, env *Env) bool {
	if len(env.AlarmNames) == 0 {
		return strings.HasPrefix(a.AlarmName, CPUAlarmPrefix) || a.Watches("AWS/EC2", "CPUUtilization")
	}
	for _, n := range env.AlarmNames {
		if prefix, ok := strings.CutSuffix(n, "*"); ok && strings.HasPrefix(a.AlarmName, prefix) || n == a.AlarmName {
			return true
		}
	}
	return false
}

func evaluateCPUAlarm(ev *event.Event, env *Env) (Finding, bool) {
	a := ev.Alarm
	if a == nil {
		return Finding{}, false
	}
	if !reportsAlarm(a, env) {
		return Finding{}, false
	}
	// The state change, CloudWatch's reason and the query are the alarm's
	// facts (the alert carries them once, with the datapoints' times); the
	// finding names the alarm and what crossed.
	f := Finding{Resource: alarmResource(ev)}
	switch a.State.Value {
	case cwalarm.StateAlarm:
		f.Severity = SeverityHigh
		f.Headline = fmt.Sprintf("CPU alarm %s: %s", a.AlarmName, breachPhrase(a))
	case cwalarm.StateOK:
		if env.SkipResolved || a.PreviousState.Value != cwalarm.StateAlarm {
			return Finding{}, false
		}
		f.Severity = SeverityInfo
		f.Resolved = true
		f.Headline = fmt.Sprintf("CPU alarm %s is back to OK", a.AlarmName)
	case cwalarm.StateInsufficientData:
		if !env.AlarmInsufficientData {
			return Finding{}, false
		}
		f.Severity = SeverityLow
		f.Headline = fmt.Sprintf("CPU alarm %s has insufficient data (instance stopped or terminated, or metrics missing)", a.AlarmName)
	default:
		return Finding{}, false
	}
	return f, true
}

// alarmResource is the instance when the alarm watches exactly one, else
// the alarm itself.
func alarmResource(ev *event.Event) Resource {
	a := ev.Alarm
	region := ev.Envelope.Region
	if ids := a.Dimension("InstanceId"); len(ids) == 1 {
		return Resource{Type: "EC2 instance", Name: ids[0], ARN: partitionARN(region, "ec2", region, ev.Envelope.Account, "instance/"+ids[0]), Region: region}
	}
	res := Resource{Type: "CloudWatch alarm", Name: a.AlarmName, Region: region}
	for _, r := range ev.Envelope.Resources {
		if strings.Contains(r, ":alarm:") {
			res.ARN = r
		}
	}
	return res
}

// breachPhrase says what crossed the threshold: "CPU at 97.3% for 15
// minutes (threshold 80%)", or "for 3 datapoints" when the period is not
// known.
func breachPhrase(a *cwalarm.StateChange) string {
	threshold, points := a.Breach()
	if len(points) == 0 {
		return "CPU above its threshold"
	}
	s := "CPU at " + human.Percent(slices.Max(points))
	if p := a.Period(); p > 0 {
		s += " for " + human.Duration(time.Duration(p*len(points))*time.Second)
	} else {
		s += " for " + countPhrase(len(points), "datapoint", "datapoints")
	}
	if threshold != nil {
		s += " (threshold " + human.Percent(*threshold) + ")"
	}
	return s
}
