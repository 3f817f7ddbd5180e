package enrich

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/cwalarm"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/guardduty"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// InstanceInspector answers questions about EC2 instances
// (ec2lookup.Inspector).
type InstanceInspector interface {
	// HotInstances ranks the region's instances by average CPU.
	HotInstances(ctx context.Context, region string, start, end time.Time, period time.Duration) ([]alert.Instance, error)
	// Describe fills in what EC2 says about the instances.
	Describe(ctx context.Context, region string, instances []alert.Instance) ([]alert.Instance, error)
	// LaunchEvent returns the RunInstances record of the instance, or nil.
	LaunchEvent(ctx context.Context, region, instanceID string) (*cloudtrail.Record, error)
}

// MaxQueryInstances bounds the instances taken from a query's text.
const MaxQueryInstances = 5

var (
	queryInstanceRe = lazyre.New(`\bi-[0-9a-f]{8,17}\b`)
)

// computeAlert builds the alert for a CloudWatch alarm or a GuardDuty
// finding: the instances involved, what they are and who launched them.
func (e *Enricher) computeAlert(ctx context.Context, ev *event.Event, findings []detect.Finding) alert.Alert {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	primary := findings[0]
	a := alert.Alert{
		EventID:      ev.Envelope.ID,
		EnvelopeID:   ev.Envelope.ID,
		Severity:     primary.Severity,
		Title:        primary.Headline,
		SeverityNote: primary.SeverityNote,
		Primary:      primary,
		Others:       findings[1:],
		Resolved:     primary.Resolved,
		What: alert.What{
			Resource: primary.Resource,
			Changes:  primary.Changes,
			Evidence: primary.Evidence,
		},
		When:    alert.When{EventTime: ev.Envelope.Time, ProcessedAt: now().UTC(), Replayed: e.Replay},
		Where:   alert.Where{AccountID: ev.Envelope.Account, Region: ev.Envelope.Region},
		Runbook: primary.Detection.Runbook,
	}
	var candidates []alert.Instance
	var hot bool // candidates must come from GetMetricData
	switch {
	case ev.Alarm != nil:
		al := ev.Alarm
		a.Source = alert.SourceCloudWatch
		// The alarm's name and states are in a.Alarm, once.
		a.Who = alert.Who{Kind: "AWS service", Name: "CloudWatch"}
		a.What.Action = "cloudwatch:AlarmStateChange"
		a.What.Outcome = "reported"
		if !al.State.Timestamp.IsZero() {
			a.When.EventTime = al.State.Timestamp.Time
		}
		a.Alarm = alarmFacts(al)
		for _, id := range al.Dimension("InstanceId") {
			candidates = append(candidates, alert.Instance{ID: id})
		}
		// A query alarm may name its instances: WHERE InstanceId = 'i-...'.
		for _, id := range queryInstanceRe.FindAllString(al.Query(), MaxQueryInstances) {
			if !slices.ContainsFunc(candidates, func(c alert.Instance) bool { return c.ID == id }) {
				candidates = append(candidates, alert.Instance{ID: id})
			}
		}
		if peak, ok := a.Alarm.Peak(); ok && len(candidates) == 1 && al.State.Value == cwalarm.StateAlarm && al.Watches("AWS/EC2", "CPUUtilization") {
			candidates[0].CPU = &peak
		}
		hot = len(candidates) == 0 && (al.Query() != "" || len(al.Dimension("AutoScalingGroupName")) > 0)
	case ev.GuardDuty != nil:
		g := ev.GuardDuty
		a.Source = alert.SourceGuardDuty
		// The finding type is in What.Action and a.GuardDuty.
		a.Who = alert.Who{Kind: "AWS service", Name: "GuardDuty"}
		a.What.Action = "guardduty:" + g.Type
		a.What.Outcome = "reported"
		a.GuardDuty = guardDutyFacts(g)
		if !g.UpdatedAt.IsZero() {
			a.When.EventTime = g.UpdatedAt
		}
		if g.AccountID != "" {
			a.Where.AccountID = g.AccountID
		}
		if g.Region != "" {
			a.Where.Region = g.Region
		}
		if d := g.Resource.InstanceDetails; d != nil && d.InstanceID != "" {
			candidates = append(candidates, fromFinding(d))
		} else if id := g.SessionInstanceID(); id != "" {
			// An IAM finding about an instance's role credentials names
			// the instance only as the session: EC2 describes it.
			candidates = append(candidates, alert.Instance{ID: id})
		}
	}
	if !e.Replay {
		a.When.Delay = a.When.ProcessedAt.Sub(a.When.EventTime).Round(time.Second)
	}
	if a.Resolved {
		// A resolved alarm is a short message: no look-ups.
		a.Instances = candidates
	} else {
		e.lookUpInstances(ctx, &a, candidates, hot)
	}
	culpritFirst(&a)
	a.Links = e.signIn(a.Where.Region, a.Where.AccountID, computeLinks(ev, &a))
	return a
}

func alarmFacts(al *cwalarm.StateChange) *alert.Alarm {
	f := &alert.Alarm{
		Name:          al.AlarmName,
		State:         al.State.Value,
		PreviousState: al.PreviousState.Value,
		Shape:         al.Shape(),
		Query:         al.Query(),
		Reason:        al.State.Reason,
		Period:        time.Duration(al.Period()) * time.Second,
	}
	f.Threshold, _ = al.Breach()
	for _, p := range al.Points() {
		f.Datapoints = append(f.Datapoints, alert.Datapoint{Time: p.Time, Value: p.Value})
	}
	if d := al.State.Data; d != nil {
		f.Statistic = d.Statistic
	}
	for _, m := range al.Configuration.Metrics {
		if ms := m.MetricStat; ms != nil {
			f.Metric = ms.Metric.Namespace + " " + ms.Metric.Name
			if f.Statistic == "" {
				f.Statistic = ms.Stat
			}
			break
		}
	}
	return f
}

// guardDutyFacts is what the finding says about the activity.
func guardDutyFacts(g *guardduty.Finding) *alert.GuardDuty {
	act := g.Service.Action
	f := &alert.GuardDuty{
		FindingID: g.ID,
		Type:      g.Type,
		Score:     g.Severity,
		Level:     guardduty.Level(g.Severity),
		FirstSeen: g.Service.FirstSeen(),
		LastSeen:  g.Service.LastSeen(),
		Count:     g.Service.Count,
		Activity:  act.ActionType,
	}
	if d := act.DNSRequestAction; d != nil && d.Domain != "" {
		f.Domain, f.Protocol, f.Blocked = d.Domain, d.Protocol, d.Blocked
	}
	if n := act.NetworkConnectionAction; n != nil && n.RemoteIPDetails.IP() != "" {
		r := n.RemoteIPDetails
		org := r.Organization
		f.Remote = &alert.Remote{
			IP: r.IP(), Port: n.RemotePortDetails.Port, PortName: n.RemotePortDetails.PortName,
			ASN: org.Asn, Org: firstOf(org.AsnOrg, org.Org, org.Isp),
			Country: firstOf(r.Country.CountryName, r.Country.CountryCode), City: r.City.CityName,
		}
		f.Direction, f.Protocol, f.Blocked = strings.ToLower(n.ConnectionDirection), n.Protocol, n.Blocked
	}
	if c := act.AWSAPICallAction; c != nil {
		if c.API != "" {
			f.API = strings.TrimSuffix(c.ServiceName, ".amazonaws.com") + ":" + c.API
			if c.ErrorCode != "" {
				f.API += " (" + c.ErrorCode + ")"
			}
		}
		if r := c.RemoteIPDetails; r.IP() != "" {
			org := r.Organization
			f.Remote = &alert.Remote{IP: r.IP(), ASN: org.Asn, Org: firstOf(org.AsnOrg, org.Org, org.Isp),
				Country: firstOf(r.Country.CountryName, r.Country.CountryCode), City: r.City.CityName}
		}
		if ra := c.RemoteAccountDetails; ra != nil && ra.AccountID != "" {
			f.RemoteAccount = ra.AccountID
			if !ra.Affiliated {
				f.RemoteAccount += " (not affiliated with your GuardDuty administrator)"
			}
		}
	}
	if rd := g.Service.RuntimeDetails; rd != nil && rd.Process != nil {
		f.Process = firstOf(rd.Process.ExecutablePath, rd.Process.Name)
		f.ProcessSHA256 = rd.Process.ExecutableSha256
	}
	return f
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func fromFinding(d *guardduty.InstanceDetails) alert.Instance {
	in := alert.Instance{ID: d.InstanceID, Type: d.InstanceType, Zone: d.AvailabilityZone, Image: d.ImageID, State: d.InstanceState}
	if t, err := time.Parse(time.RFC3339, d.LaunchTime); err == nil {
		in.LaunchTime = t.UTC()
	}
	if d.IAMInstanceProfile != nil {
		in.Profile = d.IAMInstanceProfile.ARN
	}
	for i, n := range d.NetworkInterfaces {
		if n.PublicIP != "" && in.PublicIP == "" {
			in.PublicIP = n.PublicIP
		}
		if i == 0 {
			in.PrivateIP, in.VPC, in.Subnet = n.PrivateIPAddress, n.VPCID, n.SubnetID
		}
		for _, g := range n.SecurityGroups {
			sg := alert.SecurityGroup{ID: g.GroupID, Name: g.GroupName}
			if sg.ID != "" && !slices.Contains(in.SecurityGroups, sg) {
				in.SecurityGroups = append(in.SecurityGroups, sg)
			}
		}
	}
	for _, t := range d.Tags {
		if t.Key == "Name" {
			in.Name = t.Value
			continue
		}
		in.Tags = append(in.Tags, alert.Tag{Key: t.Key, Value: t.Value})
	}
	return in
}

// described reports whether the instance's details came with the event (a
// GuardDuty finding describes its instance; an alarm names only its ID).
func described(in alert.Instance) bool {
	return in.Type != "" || in.State != "" || !in.LaunchTime.IsZero()
}

// instanceLabels say what the EC2 and CloudTrail look-ups would have added,
// for "could not check": for instances the finding already described, only
// their state now and their open security group rules, not the details
// shown.
func instanceLabels(instances []alert.Instance) (details, launch string) {
	details = "instance details from EC2"
	if len(instances) > 0 && !slices.ContainsFunc(instances, func(in alert.Instance) bool { return !described(in) }) {
		details = "current state and security group rules open to the internet, from EC2"
	}
	launch = "who launched it"
	if len(instances) > 1 {
		launch = "who launched them"
	}
	return details, launch
}

// lookUpInstances finds the hot instances (when the alarm covers many),
// describes them and finds who launched each, under one deadline, and
// looks up the account alias alongside.
func (e *Enricher) lookUpInstances(ctx context.Context, a *alert.Alert, candidates []alert.Instance, hot bool) {
	a.Instances = candidates
	if e.Offline != "" {
		skipInstances(a, candidates, hot, "not checked ("+e.Offline+")")
		return
	}
	ctx, cancel := e.deadline(ctx)
	defer cancel()
	defer e.place(ctx, a)()
	l, skip := e.lookupsFor(ctx, a.Where.AccountID)
	if skip != "" {
		skipInstances(a, candidates, hot, skip)
		return
	}

	var wg sync.WaitGroup
	setAlias := lookUpAlias(ctx, &wg, a, l.Aliases)
	var unchecked []string
	if l.Instances == nil {
		unchecked = notInspected(candidates, hot, "not looked up (no EC2 and CloudWatch clients here; trailwatch replay has them only when built with -tags ec2lookup)")
	} else {
		wg.Go(func() { unchecked = inspect(ctx, a, hot, l.Instances) })
	}
	wg.Wait()
	setAlias()
	a.Unchecked = append(a.Unchecked, unchecked...)
}

func skipInstances(a *alert.Alert, candidates []alert.Instance, hot bool, skip string) {
	a.Unchecked = append(a.Unchecked, "account alias: "+skip)
	a.Unchecked = append(a.Unchecked, notInspected(candidates, hot, skip)...)
}

// notInspected says what the instance look-ups would have told, and why
// they did not run.
func notInspected(candidates []alert.Instance, hot bool, why string) []string {
	var out []string
	if hot {
		out = append(out, "which instances are hot: "+why)
	}
	if len(candidates) > 0 {
		details, launch := instanceLabels(candidates)
		out = append(out, details+": "+why, launch+": "+why)
	}
	return out
}

// inspect runs the instance look-ups in order: hot instances, then details
// and launch events concurrently. It writes a.Instances only.
func inspect(ctx context.Context, a *alert.Alert, hot bool, instances InstanceInspector) []string {
	var unchecked []string
	region := a.Where.Region
	if hot {
		period := 5 * time.Minute
		points := 3
		if a.Alarm != nil {
			if a.Alarm.Period > 0 {
				period = a.Alarm.Period
			}
			points = max(points, len(a.Alarm.Datapoints))
		}
		end := a.When.EventTime
		found, err := instances.HotInstances(ctx, region, end.Add(-time.Duration(points)*period), end, period)
		if err != nil {
			return append(unchecked, "which instances are hot: "+err.Error())
		}
		if len(found) == 0 {
			return append(unchecked, "which instances are hot: CloudWatch returned no EC2 CPU data for the alarm window")
		}
		a.Instances = found
	}
	if len(a.Instances) == 0 {
		return unchecked
	}
	details, _ := instanceLabels(a.Instances)
	var wg sync.WaitGroup
	var fromEC2 []alert.Instance
	var descErr error
	wg.Go(func() { fromEC2, descErr = instances.Describe(ctx, region, a.Instances) })
	launched := make([]string, len(a.Instances))
	launchErrs := make([]error, len(a.Instances))
	for i, in := range a.Instances {
		wg.Go(func() {
			rec, err := instances.LaunchEvent(ctx, region, in.ID)
			switch {
			case err != nil:
				launchErrs[i] = err
			case rec == nil:
				launched[i] = "not in the last 90 days of CloudTrail event history"
			default:
				launched[i] = launchedBy(rec)
			}
		})
	}
	wg.Wait()
	if fromEC2 != nil {
		a.Instances = fromEC2
	}
	if descErr != nil {
		unchecked = append(unchecked, details+": "+descErr.Error())
	}
	for i := range a.Instances {
		if launchErrs[i] != nil {
			unchecked = append(unchecked, "who launched "+a.Instances[i].ID+": "+launchErrs[i].Error())
			continue
		}
		a.Instances[i].LaunchedBy = launched[i]
	}
	return unchecked
}

// launchedBy describes the principal of a RunInstances record.
func launchedBy(rec *cloudtrail.Record) string {
	w := Principal(rec)
	s := w.Kind
	if w.Name != "" {
		s += " " + w.Name
	}
	if w.Detail != "" {
		s += " (" + w.Detail + ")"
	}
	if rec.UserAgent != "" && w.Via != "" {
		s += " via " + w.Via
	}
	if rec.SourceIPAddress != "" {
		s += " from " + rec.SourceIPAddress
	}
	return s + " at " + rec.EventTime.UTC().Format(time.RFC3339)
}

// computeLinks builds console links to the instances, the alarm and the
// finding from values checked against AWS's naming rules first.
func computeLinks(ev *event.Event, a *alert.Alert) []alert.Link {
	region := a.Where.Region
	if !isRegion(region) {
		return nil
	}
	host := consoleHost(region)
	var out []alert.Link
	for i, in := range a.Instances {
		if i == 3 || !isInstanceID(in.ID) {
			break
		}
		out = append(out, alert.Link{Label: "Instance " + in.ID,
			URL: fmt.Sprintf("https://%s.%s/ec2/home?region=%s#InstanceDetails:instanceId=%s", region, host, region, in.ID)})
	}
	if a.Alarm != nil && isAlarmName(a.Alarm.Name) {
		out = append(out, alert.Link{Label: "Alarm and metric",
			URL: fmt.Sprintf("https://%s.%s/cloudwatch/home?region=%s#alarmsV2:alarm/%s", region, host, region, url.PathEscape(a.Alarm.Name))})
	}
	if len(a.Instances) > 0 && isInstanceID(a.Instances[0].ID) {
		out = append(out, alert.Link{Label: "CPU metric",
			URL: fmt.Sprintf("https://%s.%s/cloudwatch/home?region=%s#metricsV2?graph=~(metrics~(~(~'AWS*2fEC2~'CPUUtilization~'InstanceId~'%s))~period~300~stat~'Average)",
				region, host, region, a.Instances[0].ID)})
	}
	if g := ev.GuardDuty; g != nil && isFindingID(g.ID) {
		out = append(out, alert.Link{Label: "GuardDuty finding",
			URL: fmt.Sprintf("https://%s.%s/guardduty/home?region=%s#/findings?macros=current&fId=%s", region, host, region, g.ID)})
	}
	return out
}
