package detect

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "security-group-changed",
		Title: "Security group changed",
		Description: "A security group was created or deleted, or its rules were added, removed or modified " +
			"(AuthorizeSecurityGroupIngress/Egress, RevokeSecurityGroupIngress/Egress, ModifySecurityGroupRules, " +
			"CreateSecurityGroup, DeleteSecurityGroup). Every rule of the request is read (ipPermissions with IPv4 and " +
			"IPv6 ranges, groups and prefix lists, the single-rule form, and ModifySecurityGroupRules' rule set) and the " +
			"change is rated by what it exposes: inbound from the whole internet (0.0.0.0/0, ::/0 or any public block " +
			"shorter than /8) to SSH (22), RDP (3389) or all traffic is critical, to other ports high, to HTTP/HTTPS " +
			"alone or ICMP medium; inbound from narrower ranges, other groups or prefix lists, outbound rules, removals, " +
			"creations and deletions are low. ModifySecurityGroupRules does not record whether a rule is inbound or " +
			"outbound, so all traffic from everywhere set through it (the shape of the default outbound rule) is high, " +
			"not critical. Rules referencing prefix lists are not expanded: their entries are not in the event. " +
			"Changes of which groups an instance or interface uses (ModifyInstanceAttribute, " +
			"ModifyNetworkInterfaceAttribute) are not covered. DryRun requests are not reported: AWS only checks permissions for them.",
		// Typical: a rule added; Evaluate rates each change from low to critical.
		Severity: SeverityMedium,
		Pattern: ec2API("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
			"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
			"CreateSecurityGroup", "DeleteSecurityGroup", "ModifySecurityGroupRules"),
		Evaluate: evaluateSecurityGroup,
		CIS:      []string{"4.10"},
		MITRE:    []string{"T1562.007"},
		Runbook: "Ask the principal whether the change was intended. To close a rule open to the internet: " +
			"aws ec2 revoke-security-group-ingress --group-id GROUP_ID --security-group-rule-ids RULE_ID " +
			"(list the group's rules with aws ec2 describe-security-group-rules --filters Name=group-id,Values=GROUP_ID). " +
			"Find what the group protects (aws ec2 describe-network-interfaces --filters Name=group-id,Values=GROUP_ID) " +
			"and, if SSH, RDP or a database was exposed, review its logins and VPC Flow Logs since the change. " +
			"Prefer Session Manager or a VPN over administration ports open to the internet.",
		References: []string{
			"https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySecurityGroupRules.html",
			"https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-alarms-for-cloudtrail.html",
		},
		FalsePositives: []string{
			"Public web servers and load balancers open 80/443 to the internet (medium).",
			"Infrastructure as code and AWS services (EKS, ELB, RDS) create and change groups all the time; their low findings are the CIS audit trail.",
			"Short-lived SSH openings for troubleshooting, which should use Session Manager instead.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/security-group-changed-ssh-open-world.json", SeverityCritical},
				{"ec2/security-group-changed-all-traffic-ipv6.json", SeverityCritical},
				{"ec2/security-group-changed-https-open-world.json", SeverityMedium},
				{"ec2/security-group-changed-postgres-open-world.json", SeverityHigh},
				{"ec2/security-group-changed-office-cidr.json", SeverityLow},
				{"ec2/security-group-changed-egress-all.json", SeverityLow},
				{"ec2/security-group-changed-modify-rdp-world.json", SeverityCritical},
				{"ec2/security-group-changed-revoke-ssh.json", SeverityLow},
				{"ec2/security-group-changed-create.json", SeverityLow},
				{"ec2/security-group-changed-ssh-duplicate.json", SeverityLow},
			},
			Negative: []string{
				"ec2/security-group-changed-describe.json",
				"ec2/security-group-changed-dry-run.json",
				"ec2/ec2-user-data-read-terraform.json",
			},
		},
	})
}

func evaluateSecurityGroup(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || ec2DryRun(rec) {
		return Finding{}, false
	}
	var direction, verb string
	switch rec.EventName {
	case "AuthorizeSecurityGroupIngress":
		direction, verb = "inbound", "add"
	case "AuthorizeSecurityGroupEgress":
		direction, verb = "outbound", "add"
	case "RevokeSecurityGroupIngress":
		direction, verb = "inbound", "remove"
	case "RevokeSecurityGroupEgress":
		direction, verb = "outbound", "remove"
	case "ModifySecurityGroupRules":
		verb = "modify"
	case "CreateSecurityGroup":
		verb = "create"
	case "DeleteSecurityGroup":
		verb = "delete"
	default:
		return Finding{}, false
	}
	groupID, rules := parseSGRequest(rec.RequestParameters, direction)
	var rq sgRequest
	ec2Decode(rec.RequestParameters, &rq)
	groupName := ec2Text(rq.GroupName)
	if verb == "create" {
		var resp struct {
			GroupID json.RawMessage `json:"groupId"`
		}
		ec2Decode(rec.ResponseElements, &resp)
		groupID = ec2Text(resp.GroupID)
	}
	name := groupID
	if name == "" {
		name = groupName
	}
	group := "security group " + ec2OrUnknown(name, "group")
	if groupID != "" && groupName != "" && groupName != groupID {
		group = "security group " + groupID + " (" + groupName + ")"
	}
	f := Finding{Severity: SeverityLow, Resource: ec2Resource(rec, "EC2 security group", "security-group", groupID)}
	if groupID == "" {
		f.Resource.Name = groupName
	}

	switch verb {
	case "create":
		vpc := ec2Text(rq.VPCID)
		where := ""
		if vpc != "" {
			where = " in " + vpc
		}
		f.Changes = []Change{{Setting: "Security group", After: "created" + where}}
		f.Evidence = []Evidence{{Label: "Request", Text: string(ec2Compact(rec.RequestParameters))}}
		return outcome(f, rec, fmt.Sprintf("New %s created%s", group, where), fmt.Sprintf("create %s%s", group, where)), true
	case "delete":
		f.Changes = []Change{{Setting: "Security group", Before: NotRecorded, After: "deleted"}}
		return outcome(f, rec, fmt.Sprintf("%s deleted", ec2UpperFirst(group)), "delete "+group), true
	}

	if len(rules) == 0 {
		f.Evidence = []Evidence{{Label: "No rule could be read from the request", Text: string(ec2Compact(rec.RequestParameters))}}
		return outcome(f, rec,
			fmt.Sprintf("Rules of %s changed (%s); the rules could not be read", group, rec.EventName),
			fmt.Sprintf("change the rules of %s", group)), true
	}

	worst := 0
	for i, r := range rules {
		sev := SeverityLow
		if verb != "remove" {
			sev = sgRuleSeverity(r)
		}
		if sev > f.Severity {
			f.Severity, worst = sev, i
		}
		setting := sgRuleSetting(r)
		switch verb {
		case "add":
			f.Changes = append(f.Changes, Change{Setting: setting, After: r.String()})
		case "remove":
			f.Changes = append(f.Changes, Change{Setting: setting, Before: r.String(), After: "removed"})
		case "modify":
			f.Changes = append(f.Changes, Change{Setting: setting, Before: NotRecorded, After: r.String()})
		}
		f.Evidence = append(f.Evidence, Evidence{Label: sgRuleEvidenceLabel(r, verb, sev), Text: compactJSON(r.Raw)})
	}

	r := rules[worst]
	rule := r.String()
	more := ""
	if n := len(rules) - 1; n == 1 {
		more = " (and 1 more rule)"
	} else if n > 1 {
		more = " (and " + strconv.Itoa(n) + " more rules)"
	}
	var done, tried string
	switch {
	case verb == "remove":
		done = ec2UpperFirst(r.Direction) + " rule removed from " + group + ": " + rule + more
		tried = "remove " + r.Direction + " rule " + rule + " from " + group
	case r.exposure() != netReachNone && r.Direction != "outbound":
		dir := "inbound "
		if r.Direction == "" {
			dir = ""
		}
		reach := netReachWords(r.exposure())
		done = ec2UpperFirst(group) + " opens " + reach + " to the internet: " + dir + rule + more
		tried = "open " + reach + " on " + group + " to the internet (" + rule + ")"
	case verb == "modify":
		id := ec2OrUnknown(r.RuleID, "rule")
		done = "Rule " + id + " of " + group + " changed to " + rule + more
		tried = "change rule " + id + " of " + group + " to " + rule
	default:
		done = ec2UpperFirst(group) + " now allows " + r.Direction + " " + rule + more
		tried = "allow " + r.Direction + " " + rule + " on " + group
	}
	return outcome(f, rec, done, tried), true
}

// sgRuleSetting names a rule in Changes: "Inbound rule", "Rule sgr-1".
func sgRuleSetting(r sgRule) string {
	switch {
	case r.RuleID != "":
		return "Rule " + r.RuleID
	case r.Direction != "":
		return ec2UpperFirst(r.Direction) + " rule"
	}
	return "Rule"
}

// sgRuleEvidenceLabel heads the evidence of one rule, in our own words.
func sgRuleEvidenceLabel(r sgRule, verb string, sev Severity) string {
	switch {
	case verb == "remove":
		return "Rule removed"
	case r.exposure() == netReachNone && verb == "modify":
		return "Rule as changed"
	case r.exposure() == netReachNone:
		return "Rule added"
	case r.Direction == "outbound":
		return "Outbound rule to the whole internet"
	case r.Direction == "" && sev < SeverityCritical:
		return "Rule open to the whole internet (the event does not say whether it is inbound or outbound)"
	}
	return "Rule that opens " + netReachWords(r.exposure()) + " to the whole internet"
}

// ec2UpperFirst capitalises the first letter of a headline.
func ec2UpperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
