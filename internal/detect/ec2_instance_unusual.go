package detect

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

func init() {
	register(&Detection{
		ID:    "ec2-instance-unusual",
		Title: "GPU or very large EC2 instances launched, or instances in an unused region",
		Description: "RunInstances launched (or tried to launch) accelerated instances (GPU, FPGA and machine-learning " +
			"families p2-p6, g3-g6, gr6, inf1/inf2, trn1/trn2, dl1/dl2q, vt1, f1/f2) or very large ones (metal sizes or " +
			"24xlarge and up), the favourite targets of crypto-mining with stolen credentials, or launched any instance in " +
			"a region outside the deployment's allowed regions, where nobody looks. Instance types matching the " +
			"deployment's AllowedInstanceTypes patterns (\"g5.*\") are expected and do not fire. The type is read from " +
			"the request, or from the launched instances when it came from a launch template; a launch-template " +
			"request that failed records no type and fires only for its region. Spot fleets, EC2 Fleet, Auto Scaling " +
			"groups and AWS Batch launch through RunInstances too and are covered that way; CreateFleet and " +
			"RequestSpotFleet calls themselves are not. DryRun requests are not reported: AWS only checks permissions for them. " +
			"A failed launch is low, except one refused by a vCPU or instance quota or by capacity (VcpuLimitExceeded, " +
			"InstanceLimitExceeded, MaxSpotInstanceCountExceeded, InsufficientInstanceCapacity), which is medium: IAM " +
			"allowed it, and the principal can try another region or type.",
		Severity: SeverityHigh,
		Pattern:  unusualInstancesPattern(nil),
		Narrow:   narrowUnusualInstances,
		Evaluate: evaluateUnusualInstances,
		MITRE:    []string{"T1496.001", "T1535"},
		Runbook: "Ask the principal (and the owner of the account) whether the launch was intended. List what was " +
			"started (aws ec2 describe-instances --region REGION --filters Name=instance-type,Values=INSTANCE_TYPE " +
			"Name=instance-state-name,Values=pending,running) and, if it is not yours, stop it and keep the volumes for " +
			"forensics (aws ec2 stop-instances --region REGION --instance-ids INSTANCE_ID), then revoke the " +
			"credentials that launched it. Check every region: mining campaigns launch in many at once. Prevent " +
			"recurrences with an SCP that denies ec2:RunInstances for unused regions and instance types.",
		References: []string{
			"https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html",
			"https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html",
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-ec2.html",
		},
		FalsePositives: []string{
			"Machine-learning, rendering and HPC teams: list their instance types in AllowedInstanceTypes.",
			"Disaster-recovery tests in a region that is not in AllowedRegions.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/ec2-instance-unusual-gpu-fleet.json", SeverityHigh},
				{"ec2/ec2-instance-unusual-unused-region.json", SeverityHigh},
				{"ec2/ec2-instance-unusual-metal-launch-template.json", SeverityHigh},
				{"ec2/ec2-instance-unusual-gpu-vcpu-limit.json", SeverityMedium},
			},
			Negative: []string{
				"ec2/ec2-instance-unusual-t3-micro.json",
				"ec2/ec2-user-data-modified-instance-type.json",
			},
		},
	})
}

// usualInstanceTypes are common instance types the decision never reports
// for their type (a test holds each to unusualInstanceType): launches of
// only these types in an allowed region do not invoke the function. The
// list is short because the pattern carries it twice within EventBridge's
// size quota (MaxPatternChars); any type not listed still reaches the
// decision.
var usualInstanceTypes = []string{
	"t2.nano", "t2.micro", "t2.small", "t2.medium", "t2.large", "t2.xlarge", "t2.2xlarge",
	"t3.nano", "t3.micro", "t3.small", "t3.medium", "t3.large", "t3.xlarge", "t3.2xlarge",
	"t3a.nano", "t3a.micro", "t3a.small", "t3a.medium", "t3a.large", "t3a.xlarge", "t3a.2xlarge",
	"t4g.nano", "t4g.micro", "t4g.small", "t4g.medium", "t4g.large", "t4g.xlarge", "t4g.2xlarge",
	"m5.large", "m5.xlarge", "m5.2xlarge", "m6i.large", "m6i.xlarge", "m6g.large", "m7i.large", "m7g.large",
	"c5.large", "c5.xlarge", "c6i.large", "c6g.large", "c7g.large", "r5.large", "r6i.large", "r6g.large",
}

// unusualInstancesPattern matches the RunInstances calls the decision may
// report: the requested type is not one of usualInstanceTypes, or one of
// the launched instances' is (a launch template's type shows only there),
// or, when the deployment lists its regions, the call is in another
// region. A request that names a type launches instances of that type, so
// a usual requested type with the region allowed is never reported; a
// request without a type and without launched instances (a failed launch
// from a template) is reported only for its region. anything-but matches
// any other string, whatever its case or spaces, which the decision
// normalises (the keys are CloudTrail's, never the caller's).
func unusualInstancesPattern(allowedRegions []string) Pattern {
	usual := make([]any, len(usualInstanceTypes))
	for i, t := range usualInstanceTypes {
		usual[i] = t
	}
	notUsual := map[string]any{"anything-but": usual}
	alts := []map[string]any{
		Cond("requestParameters.instanceType", notUsual),
		Cond("responseElements.instancesSet.items.instanceType", notUsual),
	}
	if len(allowedRegions) > 0 {
		regions := make([]any, len(allowedRegions))
		for i, r := range allowedRegions {
			regions[i] = r
		}
		alts = append(alts, Cond("awsRegion", map[string]any{"anything-but": regions}))
	}
	return ec2API("RunInstances").WhereAny(alts...)
}

// narrowUnusualInstances adds the deployment's regions to the pattern:
// without AllowedRegions a launch is reported only for its type, so small
// types need not invoke the function anywhere. With so many regions that
// the pattern would pass EventBridge's size quota, every RunInstances call
// reaches the decision.
func narrowUnusualInstances(p Pattern, env *Env) Pattern {
	if len(env.AllowedRegions) == 0 {
		return p
	}
	if n := unusualInstancesPattern(env.AllowedRegions); n.fits() {
		return n
	}
	return ec2API("RunInstances")
}

// acceleratedFamily matches instance families with GPUs, FPGAs or
// machine-learning accelerators: the family is the part of the type before
// the dot, its generation's suffix letters included ("p4de", "g4dn",
// "trn1n", "p6-b200").
var acceleratedFamily = lazyre.New(`^(p[2-6]|g[3-6]|gr6|inf[12]|trn[12]|dl1|dl2q|vt1|f[12])([a-z]*)(-.*)?$`)

// xlargeSize matches sizes of 24xlarge and up, and bare-metal sizes
// ("metal", "metal-48xl").
var xlargeSize = lazyre.New(`^(\d+)xlarge$`)

// unusualInstanceType says why an instance type is unusual: "GPU or
// accelerator family p4d", "very large size 24xlarge", or "" when it is not.
func unusualInstanceType(typ string) string {
	typ = strings.ToLower(strings.TrimSpace(typ))
	family, size, ok := strings.Cut(typ, ".")
	if !ok {
		return ""
	}
	if acceleratedFamily.MatchString(family) {
		return "GPU or accelerator family " + family
	}
	if strings.HasPrefix(size, "metal") {
		return "bare-metal size " + size
	}
	if m := xlargeSize.FindStringSubmatch(size); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n >= 24 {
			return "very large size " + size
		}
	}
	return ""
}

// allowedInstanceType reports whether a type matches one of the
// deployment's patterns (path.Match syntax, case-insensitive).
func allowedInstanceType(typ string, patterns []string) bool {
	typ = strings.ToLower(strings.TrimSpace(typ))
	for _, p := range patterns {
		if ok, err := path.Match(strings.ToLower(strings.TrimSpace(p)), typ); err == nil && ok {
			return true
		}
	}
	return false
}

// ec2Launch is what a RunInstances record says about the instances.
type ec2Launch struct {
	Types    []string // instance types requested or launched, deduplicated
	Min, Max int      // instance counts requested
	Launched []string // IDs of launched instances
	Template string   // launch template ID or name
}

// parseEC2Launch reads the instance types and counts of a RunInstances record.
func parseEC2Launch(rec *cloudtrail.Record) ec2Launch {
	var rp struct {
		InstanceType   json.RawMessage `json:"instanceType"`
		InstancesSet   json.RawMessage `json:"instancesSet"`
		MinCount       json.RawMessage `json:"minCount"`
		MaxCount       json.RawMessage `json:"maxCount"`
		LaunchTemplate json.RawMessage `json:"launchTemplate"`
	}
	ec2Decode(rec.RequestParameters, &rp)
	var l ec2Launch
	addType := func(t string) {
		if t != "" && !slices.Contains(l.Types, t) {
			l.Types = append(l.Types, t)
		}
	}
	addType(ec2Text(rp.InstanceType))
	counts := func(minRaw, maxRaw json.RawMessage) {
		lo, okLo := ec2Int(minRaw)
		hi, okHi := ec2Int(maxRaw)
		if !okHi {
			hi = lo
		}
		if !okLo {
			lo = hi
		}
		if lo > 0 {
			l.Min += lo
		}
		if hi > 0 {
			l.Max += hi
		}
	}
	counts(rp.MinCount, rp.MaxCount)
	for _, raw := range ec2Items(rp.InstancesSet) {
		var it struct {
			MinCount json.RawMessage `json:"minCount"`
			MaxCount json.RawMessage `json:"maxCount"`
		}
		if ec2Decode(raw, &it) {
			counts(it.MinCount, it.MaxCount)
		}
	}
	var lt struct {
		ID   json.RawMessage `json:"launchTemplateId"`
		Name json.RawMessage `json:"launchTemplateName"`
	}
	if ec2Decode(rp.LaunchTemplate, &lt) {
		l.Template = ec2Text(lt.ID)
		if l.Template == "" {
			l.Template = ec2Text(lt.Name)
		}
	}
	var resp struct {
		InstancesSet json.RawMessage `json:"instancesSet"`
	}
	ec2Decode(rec.ResponseElements, &resp)
	for _, raw := range ec2Items(resp.InstancesSet) {
		var it struct {
			ID   json.RawMessage `json:"instanceId"`
			Type json.RawMessage `json:"instanceType"`
		}
		if ec2Decode(raw, &it) {
			if id := ec2Text(it.ID); id != "" {
				l.Launched = append(l.Launched, id)
			}
			addType(ec2Text(it.Type))
		}
	}
	return l
}

// count says how many instances: "3 instances", "1-10 instances".
func (l ec2Launch) count() string {
	n := len(l.Launched)
	switch {
	case n == 1:
		return "1 instance"
	case n > 1:
		return fmt.Sprintf("%d instances", n)
	case l.Max == 0:
		return "instances"
	case l.Min == l.Max && l.Max == 1:
		return "1 instance"
	case l.Min == l.Max || l.Min == 0:
		return fmt.Sprintf("%d instances", l.Max)
	}
	return fmt.Sprintf("%d-%d instances", l.Min, l.Max)
}

func evaluateUnusualInstances(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || ec2DryRun(rec) {
		return Finding{}, false
	}
	l := parseEC2Launch(rec)
	var reasons, unusual []string
	for _, t := range l.Types {
		why := unusualInstanceType(t)
		if why == "" || allowedInstanceType(t, env.AllowedInstanceTypes) {
			continue
		}
		unusual = append(unusual, t)
		reasons = append(reasons, fmt.Sprintf("%s: %s", t, why))
	}
	region := rec.AWSRegion
	unusedRegion := len(env.AllowedRegions) > 0 && region != "" && !slices.Contains(env.AllowedRegions, region)
	if len(unusual) == 0 && !unusedRegion {
		return Finding{}, false
	}

	types := "type not recorded"
	if len(l.Types) > 0 {
		types = strings.Join(l.Types, ", ")
	}
	id := ""
	if len(l.Launched) == 1 {
		id = l.Launched[0]
	}
	f := Finding{Severity: SeverityHigh, Resource: ec2Resource(rec, "EC2 instance", "instance", id)}
	if len(l.Launched) > 1 {
		f.Resource.Type = "EC2 instances"
		f.Resource.Name = strings.Join(l.Launched, ", ")
	}
	f.Changes = []Change{{Setting: "Instances launched", After: fmt.Sprintf("%s (%s) in %s", l.count(), types, ec2OrUnknown(region, "region"))}}
	if len(unusual) > 0 {
		f.Evidence = append(f.Evidence, Evidence{Label: "GPU, accelerator or very large instance type", Text: strings.Join(reasons, "; ")})
	}
	if unusedRegion {
		f.Evidence = append(f.Evidence, Evidence{Label: "Region outside the deployment's allowed regions", Text: region + " (allowed: " + strings.Join(env.AllowedRegions, ", ") + ")"})
	}
	if l.Template != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "Launch template", Text: l.Template})
	}

	what := fmt.Sprintf("%s (%s)", l.count(), types)
	var done string
	switch {
	case len(unusual) > 0 && unusedRegion:
		done = fmt.Sprintf("%s launched in unused region %s", what, region)
	case len(unusual) > 0:
		done = fmt.Sprintf("%s launched in %s", what, ec2OrUnknown(region, "region"))
	default:
		done = fmt.Sprintf("%s launched in unused region %s", what, region)
	}
	done = ec2UpperFirst(done)
	sev := f.Severity
	f = outcome(f, rec, done, fmt.Sprintf("launch %s in %s", what, ec2OrUnknown(region, "region")))
	if quotaRefusal(rec.ErrorCode) && sev > SeverityLow {
		// IAM allowed the launch; only capacity or a quota stopped it, and
		// the principal can try another region, type or hour.
		f = raiseAttempt(f, rec.ErrorCode+" is a quota or capacity refusal, so the principal is allowed to launch these instances")
	}
	return f, true
}

// quotaRefusal reports the EC2 errors of a launch that permissions allowed
// and capacity or a quota refused.
func quotaRefusal(code string) bool {
	switch strings.TrimPrefix(strings.TrimPrefix(code, "Client."), "Server.") {
	case "VcpuLimitExceeded", "InstanceLimitExceeded", "MaxSpotInstanceCountExceeded", "InsufficientInstanceCapacity":
		return true
	}
	return false
}
