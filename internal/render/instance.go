package render

import (
	"strconv"
	"strings"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/human"
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

// alarmFacts lists what the alarm saw: its name and states (which nothing
// else in the alert repeats), the threshold, the datapoints that crossed it
// with their times, the metric or query. CloudWatch's reason text is shown
// only when it says more than the datapoints: when the event gave none, or
// when it is not CloudWatch's own "Threshold Crossed: ..." summary of them
// (which has dates in CloudWatch's format), e.g. the reason someone gave
// with SetAlarmState.
func alarmFacts(al *alert.Alarm) []fact {
	var out []fact
	unit := ""
	if strings.Contains(al.Metric+al.Query, "CPUUtilization") {
		unit = "%"
	}
	if al.Threshold != nil {
		out = append(out, fact{"Threshold", number(*al.Threshold) + unit})
	}
	if len(al.Datapoints) > 0 {
		vals := make([]string, len(al.Datapoints))
		for i, p := range al.Datapoints {
			vals[i] = number(p.Value) + unit
			if !p.Time.IsZero() {
				vals[i] += " at " + human.Time(p.Time)
			}
		}
		how := ""
		switch {
		case al.Statistic != "" && al.Period > 0:
			how = " (" + al.Statistic + " per " + human.Duration(al.Period) + ")"
		case al.Period > 0:
			how = " (per " + human.Duration(al.Period) + ")"
		}
		out = append(out, fact{"Datapoints", strings.Join(vals, ", ") + how})
	}
	if al.Reason != "" && (len(al.Datapoints) == 0 || !strings.HasPrefix(al.Reason, thresholdCrossed)) {
		out = append(out, fact{"Reason", al.Reason})
	}
	switch {
	case al.Query != "":
		out = append(out, fact{"Query", al.Query})
	case al.Metric != "":
		out = append(out, fact{"Metric", al.Metric + " (" + al.Shape + ")"})
	}
	return out
}

// thresholdCrossed starts the reason CloudWatch writes when datapoints
// cross an alarm's threshold.
const thresholdCrossed = "Threshold Crossed:"

// guardDutyFacts lists what a GuardDuty finding saw besides the instance:
// GuardDuty's own severity, when and how often, the other end of the query
// or connection and whether it was blocked, the process.
func guardDutyFacts(g *alert.GuardDuty) []fact {
	var out []fact
	if g.Score > 0 {
		out = append(out, fact{"GuardDuty score", number(g.Score) + " (" + g.Level + ")"})
	}
	if !g.FirstSeen.IsZero() {
		out = append(out, fact{"First seen", human.Time(g.FirstSeen)})
	}
	if !g.LastSeen.IsZero() {
		out = append(out, fact{"Last seen", human.Time(g.LastSeen)})
	}
	if g.Count > 0 {
		out = append(out, fact{"Count", strconv.Itoa(g.Count)})
	}
	switch {
	case g.API != "":
		out = append(out, fact{"API call", g.API})
		if g.Remote != nil {
			out = append(out, fact{"Caller", remoteText(g.Remote)})
		}
		if g.RemoteAccount != "" {
			out = append(out, fact{"Caller account", g.RemoteAccount})
		}
	case g.Domain != "":
		out = append(out, fact{"Remote", "domain " + g.Domain})
		out = append(out, fact{"Connection", strings.TrimSpace("DNS query " + over(g.Protocol))})
	case g.Remote != nil:
		out = append(out, fact{"Remote", remoteText(g.Remote)})
		if c := strings.TrimSpace(g.Direction + " " + g.Protocol); c != "" {
			out = append(out, fact{"Connection", c})
		}
	}
	if g.API == "" && (g.Domain != "" || g.Remote != nil) {
		out = append(out, fact{"Blocked", yesNo(g.Blocked)})
	}
	if g.Process != "" {
		p := g.Process
		if g.ProcessSHA256 != "" {
			p += " (SHA-256 " + g.ProcessSHA256 + ")"
		}
		out = append(out, fact{"Process", p})
	}
	return out
}

func over(protocol string) string {
	if protocol == "" {
		return ""
	}
	return "over " + protocol
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// remoteText is "198.51.100.94 port 3333, AS64501 Example Hosting BV,
// Amsterdam, Netherlands".
func remoteText(r *alert.Remote) string {
	parts := []string{r.IP}
	if r.Port > 0 {
		parts[0] += " port " + strconv.Itoa(r.Port)
		if r.PortName != "" && r.PortName != "Unknown" {
			parts[0] += " (" + r.PortName + ")"
		}
	}
	if org := strings.TrimSpace(asn(r.ASN) + " " + r.Org); org != "" {
		parts = append(parts, org)
	}
	if place := strings.Join(nonEmpty(r.City, r.Country), ", "); place != "" {
		parts = append(parts, place)
	}
	return strings.Join(parts, ", ")
}

func asn(n string) string {
	if n == "" {
		return ""
	}
	return "AS" + n
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
		out = append(out, fact{"Launched", human.Time(in.LaunchTime)})
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
	if in.PrivateIP != "" {
		out = append(out, fact{"Private IP", in.PrivateIP})
	}
	if in.VPC != "" {
		out = append(out, fact{"VPC", in.VPC})
	}
	if in.Subnet != "" {
		out = append(out, fact{"Subnet", in.Subnet})
	}
	if len(in.SecurityGroups) > 0 {
		groups := make([]string, len(in.SecurityGroups))
		for i, g := range in.SecurityGroups {
			groups[i] = g.ID
			if g.Name != "" {
				groups[i] += " (" + g.Name + ")"
			}
		}
		out = append(out, fact{"Security groups", strings.Join(groups, ", ")})
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
