package render

import (
	"strconv"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
)

// fact is one labelled line of an alarm or instance section. Values are
// raw: each renderer escapes them for its medium.
type fact struct {
	Label string
	Value string
}

// maxInstancesShown bounds the instances one message lists.
const maxInstancesShown = 3

// isCompute reports whether the alert is about instances (an alarm or a
// GuardDuty finding) rather than an API call.
func isCompute(a alert.Alert) bool {
	return a.Source == alert.SourceCloudWatch || a.Source == alert.SourceGuardDuty
}

func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// alarmFacts lists what the alarm saw: the threshold, the datapoints that
// crossed it, the metric or query.
func alarmFacts(al *alert.Alarm) []fact {
	var out []fact
	out = append(out, fact{"Alarm", al.Name})
	if al.PreviousState != "" {
		out = append(out, fact{"State", al.PreviousState + " -> " + al.State})
	} else {
		out = append(out, fact{"State", al.State})
	}
	unit := ""
	if strings.Contains(al.Metric+al.Query, "CPUUtilization") {
		unit = "%"
	}
	if al.Threshold != nil {
		out = append(out, fact{"Threshold", number(*al.Threshold) + unit})
	}
	if len(al.Datapoints) > 0 {
		vals := make([]string, len(al.Datapoints))
		for i, v := range al.Datapoints {
			vals[i] = number(v) + unit
		}
		how := ""
		switch {
		case al.Statistic != "" && al.Period > 0:
			how = " (" + al.Statistic + " per " + al.Period.String() + ")"
		case al.Period > 0:
			how = " (per " + al.Period.String() + ")"
		}
		out = append(out, fact{"Datapoints", strings.Join(vals, ", ") + how})
	}
	switch {
	case al.Query != "":
		out = append(out, fact{"Query", al.Query})
	case al.Metric != "":
		out = append(out, fact{"Metric", al.Metric + " (" + al.Shape + ")"})
	}
	return out
}

// instanceTitle is "i-0123 (web-1)".
func instanceTitle(in alert.Instance) string {
	if in.Name != "" {
		return in.ID + " (" + in.Name + ")"
	}
	return in.ID
}

// instanceFacts describes one instance.
func instanceFacts(in alert.Instance) []fact {
	var out []fact
	if in.Missing != "" {
		out = append(out, fact{"Details", in.Missing})
	}
	if in.CPU != nil {
		out = append(out, fact{"CPU", strconv.FormatFloat(*in.CPU, 'f', 1, 64) + "% in the alarm window"})
	}
	if in.Type != "" || in.Zone != "" || in.State != "" {
		out = append(out, fact{"Type", strings.Join(nonEmpty(in.Type, in.Zone, in.State), ", ")})
	}
	if !in.LaunchTime.IsZero() {
		out = append(out, fact{"Launched", in.LaunchTime.UTC().Format(time.RFC3339)})
	}
	if in.LaunchedBy != "" {
		out = append(out, fact{"Launched by", in.LaunchedBy})
	}
	if in.Image != "" {
		out = append(out, fact{"Image", in.Image})
	}
	if in.Profile != "" {
		out = append(out, fact{"Instance role", in.Profile})
	}
	if in.PublicIP != "" {
		out = append(out, fact{"Public IP", in.PublicIP})
	}
	if len(in.OpenIngress) > 0 {
		out = append(out, fact{"Open to internet", strings.Join(in.OpenIngress, "; ")})
	}
	if len(in.Tags) > 0 {
		tags := make([]string, 0, len(in.Tags))
		for i, t := range in.Tags {
			if i == 10 {
				tags = append(tags, "and "+strconv.Itoa(len(in.Tags)-10)+" more")
				break
			}
			tags = append(tags, t.Key+"="+t.Value)
		}
		out = append(out, fact{"Tags", strings.Join(tags, ", ")})
	}
	return out
}

func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
