package enrich

import (
	"strconv"
	"strings"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/cwalarm"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/human"
)

// culpritFirst rewrites the title of an alarm or GuardDuty alert, once the
// look-ups are done, to name the instance first (its ID, and its Name tag
// when known) and then what it did: "Instance i-0a1b2c3d4e5f60718 (web-1)
// at 99.1% CPU for 15 minutes (threshold 80%)". The alarm's name stays out
// of it (a.Alarm carries it). Without an instance the detection's headline
// stays, which names the alarm or the finding once. For CPU alarms it also
// makes the hottest instance the alert's resource when the detection could
// only name the alarm.
func culpritFirst(a *alert.Alert) {
	if len(a.Instances) == 0 {
		return
	}
	var title string
	switch {
	case a.Alarm != nil:
		title = alarmTitle(a.Alarm, a.Instances)
		if a.What.Resource.Type == "CloudWatch alarm" && (len(a.Instances) == 1 || a.Instances[0].CPU != nil) {
			id := a.Instances[0].ID
			a.What.Resource = detect.Resource{Type: "EC2 instance", Name: id, Region: a.Where.Region,
				ARN: "arn:" + detect.Partition(a.Where.Region) + ":ec2:" + a.Where.Region + ":" + a.Where.AccountID + ":instance/" + id}
		}
	case a.GuardDuty != nil:
		title = guardDutyTitle(a.GuardDuty, a.Instances[0])
	}
	if title != "" {
		a.Title = title
	}
}

// instanceName is "Instance i-0123 (web-1)", or "Instance i-0123".
func instanceName(in alert.Instance) string {
	if in.Name != "" {
		return "Instance " + in.ID + " (" + in.Name + ")"
	}
	return "Instance " + in.ID
}

// alarmTitle says which instance ran hot, how hot and for how long.
func alarmTitle(al *alert.Alarm, instances []alert.Instance) string {
	first := instances[0]
	who := instanceName(first)
	if len(instances) > 1 && first.CPU == nil {
		// A metric math alarm over several instances: the values are the
		// expression's, not one instance's.
		ids := make([]string, 0, 2)
		for _, in := range instances[:min(2, len(instances))] {
			ids = append(ids, strings.TrimPrefix(instanceName(in), "Instance "))
		}
		who = "Instances " + strings.Join(ids, ", ")
		if more := len(instances) - len(ids); more > 0 {
			who += " and " + strconv.Itoa(more) + " more"
		}
	}
	// An alarm the user named may watch another metric than CPU.
	unit, metric := human.Percent, " CPU"
	if !strings.Contains(al.Metric+al.Query, "CPUUtilization") {
		unit, metric = func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }, ""
		if al.Metric != "" {
			metric = " " + al.Metric
		}
	}
	threshold := ""
	if al.Threshold != nil {
		threshold = " (threshold " + unit(*al.Threshold) + ")"
	}
	switch al.State {
	case cwalarm.StateOK:
		if al.Threshold != nil {
			return who + " back below the" + metric + " threshold of " + unit(*al.Threshold)
		}
		return who + " back below its" + metric + " threshold"
	case cwalarm.StateInsufficientData:
		return who + " sends no" + metric + " data (stopped or terminated, or metrics missing)"
	}
	var value string
	switch peak, ok := al.Peak(); {
	case len(instances) == 1 || first.CPU != nil:
		if first.CPU != nil {
			value = " at " + human.Percent(*first.CPU) + " CPU"
		} else if ok {
			value = " at " + unit(peak) + metric
		}
	case ok:
		value = ":" + metric + " at " + unit(peak)
	}
	if value == "" {
		return who + " above the" + metric + " threshold" + threshold
	}
	s := who + value
	if w := al.Window(); w > 0 {
		s += " for " + human.Duration(w)
	}
	s += threshold
	if len(instances) > 1 && first.CPU != nil {
		s += ", the hottest of " + strconv.Itoa(len(instances))
	}
	return s
}

// guardDutyTitle says what the instance did, as GuardDuty saw it:
// "Instance i-0abc (web-1) queried bitcoin domain pool.example (GuardDuty
// CryptoCurrency:EC2/BitcoinTool.B!DNS)".
func guardDutyTitle(g *alert.GuardDuty, in alert.Instance) string {
	var did string
	switch {
	case g.API != "":
		from := "elsewhere"
		switch {
		case g.RemoteAccount != "":
			from = "AWS account " + strings.Fields(g.RemoteAccount)[0]
		case g.Remote != nil:
			from = g.Remote.IP
		}
		did = ": its role credentials used from " + from + " for " + g.API
	case g.Domain != "":
		kind := "domain "
		if strings.Contains(g.Type, "Bitcoin") {
			kind = "bitcoin domain "
		}
		did = " queried " + kind + g.Domain
		if g.Blocked {
			did = " tried to query " + kind + g.Domain + " (blocked)"
		}
	case g.Remote != nil:
		target := g.Remote.IP
		if g.Remote.Port > 0 {
			target += " port " + strconv.Itoa(g.Remote.Port)
		}
		switch {
		case g.Direction == "inbound" && g.Blocked:
			did = " was reached from " + target + " (blocked)"
		case g.Direction == "inbound":
			did = " was reached from " + target
		case g.Blocked:
			did = " tried to connect to " + target + " (blocked)"
		default:
			did = " connected to " + target
		}
	case g.Process != "":
		did = " ran " + g.Process
	case g.Activity == "RUNTIME":
		did = " ran a crypto-currency miner"
	}
	if did == "" {
		return instanceName(in) + ": GuardDuty " + g.Type
	}
	return instanceName(in) + did + " (GuardDuty " + g.Type + ")"
}
