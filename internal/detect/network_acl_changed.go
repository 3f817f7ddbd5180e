package detect

import (
	"encoding/json"
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "network-acl-changed",
		Title: "Network ACL changed",
		Description: "A network ACL or one of its entries was created, replaced or deleted, or a subnet was moved to " +
			"another network ACL (CreateNetworkAcl, CreateNetworkAclEntry, ReplaceNetworkAclEntry, DeleteNetworkAcl, " +
			"DeleteNetworkAclEntry, ReplaceNetworkAclAssociation). An entry that allows inbound traffic from the whole " +
			"internet (0.0.0.0/0, ::/0 or a public block shorter than /8) to SSH, RDP, or all traffic (protocol -1 or any " +
			"protocol other than TCP, UDP and ICMP, which network ACLs apply to every port) is high: it removes the " +
			"subnet-level guard in front of every instance of the subnet. Other entries and association changes are " +
			"medium. Deleting an entry is medium too, because the deleted entry may have been a deny and the event " +
			"records only its number. Creating or deleting a whole network ACL is low: a new ACL denies everything and " +
			"applies to no subnet until associated, and AWS refuses to delete one that is still associated. " +
			"Which subnets use the ACL is not in the event. DryRun requests are not reported: AWS only checks permissions for them.",
		Severity: SeverityMedium,
		Pattern: ec2API("CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl",
			"DeleteNetworkAclEntry", "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation"),
		Evaluate: evaluateNetworkACL,
		CIS:      []string{"4.11"},
		MITRE:    []string{"T1562.007"},
		Runbook: "Ask the principal whether the change was intended. Review the ACL's entries and the subnets it " +
			"applies to (aws ec2 describe-network-acls --network-acl-ids ACL_ID). Remove an unwanted entry with " +
			"aws ec2 delete-network-acl-entry --network-acl-id ACL_ID --rule-number RULE_NUMBER --ingress (or --egress), " +
			"or restore it with aws ec2 replace-network-acl-entry. Then check the subnets' security groups, which are " +
			"now the only filter, and VPC Flow Logs since the change.",
		References: []string{
			"https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html",
			"https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-alarms-for-cloudtrail.html",
		},
		FalsePositives: []string{
			"Many VPCs keep the default network ACL, which allows all traffic, and filter with security groups only: recreating such an entry is high although nothing changes in practice.",
			"Infrastructure as code recreating ACL entries on every apply.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/network-acl-changed-allow-all-inbound.json", SeverityHigh},
				{"ec2/network-acl-changed-replace-ssh-world.json", SeverityHigh},
				{"ec2/network-acl-changed-deny-entry.json", SeverityMedium},
				{"ec2/network-acl-changed-egress-allow-all.json", SeverityMedium},
				{"ec2/network-acl-changed-delete-entry.json", SeverityMedium},
				{"ec2/network-acl-changed-create-acl.json", SeverityLow},
				{"ec2/network-acl-changed-association.json", SeverityMedium},
				{"ec2/network-acl-changed-allow-all-exists.json", SeverityLow},
			},
			Negative: []string{
				"ec2/network-acl-changed-describe.json",
				"ec2/security-group-changed-ssh-open-world.json",
			},
		},
	})
}

func evaluateNetworkACL(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || ec2DryRun(rec) {
		return Finding{}, false
	}
	var rp struct {
		NetworkACLID  json.RawMessage `json:"networkAclId"`
		VPCID         json.RawMessage `json:"vpcId"`
		AssociationID json.RawMessage `json:"associationId"`
		RuleNumber    json.RawMessage `json:"ruleNumber"`
		Egress        json.RawMessage `json:"egress"`
	}
	ec2Decode(rec.RequestParameters, &rp)
	aclID := ec2Text(rp.NetworkACLID)
	if rec.EventName == "CreateNetworkAcl" {
		var resp struct {
			ACL struct {
				ID json.RawMessage `json:"networkAclId"`
			} `json:"networkAcl"`
		}
		ec2Decode(rec.ResponseElements, &resp)
		aclID = ec2Text(resp.ACL.ID)
	}
	acl := "network ACL " + ec2OrUnknown(aclID, "ACL")
	f := Finding{Severity: SeverityMedium, Resource: ec2Resource(rec, "VPC network ACL", "network-acl", aclID)}

	switch rec.EventName {
	case "CreateNetworkAcl":
		f.Severity = SeverityLow
		where := ""
		if vpc := ec2Text(rp.VPCID); vpc != "" {
			where = " in " + vpc
		}
		f.Changes = []Change{{Setting: "Network ACL", After: "created" + where + " (denies all traffic until entries are added)"}}
		return outcome(f, rec, fmt.Sprintf("New %s created%s", acl, where), fmt.Sprintf("create %s%s", acl, where)), true
	case "DeleteNetworkAcl":
		f.Severity = SeverityLow
		f.Changes = []Change{{Setting: "Network ACL", Before: NotRecorded, After: "deleted"}}
		return outcome(f, rec, fmt.Sprintf("Network ACL %s deleted", ec2OrUnknown(aclID, "ACL")), "delete "+acl), true
	case "ReplaceNetworkAclAssociation":
		assoc := ec2Text(rp.AssociationID)
		f.Changes = []Change{{Setting: "Network ACL of association " + ec2OrUnknown(assoc, "association"), Before: NotRecorded, After: ec2OrUnknown(aclID, "ACL")}}
		return outcome(f, rec,
			fmt.Sprintf("Subnet association %s moved to %s: the subnet's traffic now follows its entries", ec2OrUnknown(assoc, "association"), acl),
			fmt.Sprintf("move subnet association %s to %s", ec2OrUnknown(assoc, "association"), acl)), true
	case "DeleteNetworkAclEntry":
		outbound, _ := ec2Bool(rp.Egress)
		r := naclRule{Outbound: outbound}
		setting := fmt.Sprintf("%s entry %s", r.direction(), ec2OrUnknown(ec2Text(rp.RuleNumber), "number"))
		f.Changes = []Change{{Setting: setting, Before: NotRecorded, After: "deleted"}}
		f.Evidence = []Evidence{{Label: "Request (the deleted entry's content is not recorded)", Text: string(ec2Compact(rec.RequestParameters))}}
		return outcome(f, rec,
			fmt.Sprintf("%s deleted from %s", setting, acl),
			fmt.Sprintf("delete %s from %s", setting, acl)), true
	}

	// CreateNetworkAclEntry, ReplaceNetworkAclEntry.
	r := parseNACLEntry(rec.RequestParameters)
	reach := netReachOf(r.Protocol, r.Ports, r.Sources)
	open := r.Allow && !r.Outbound && (reach == netReachAll || reach == netReachAdmin)
	if open {
		f.Severity = SeverityHigh
	}
	setting := fmt.Sprintf("%s entry %s", r.direction(), ec2OrUnknown(r.Number, "number"))
	before := ""
	if rec.EventName == "ReplaceNetworkAclEntry" {
		before = NotRecorded
	}
	f.Changes = []Change{{Setting: setting, Before: before, After: r.String()}}
	label := "Entry"
	if open {
		label = "Entry that allows " + netReachWords(reach) + " from the whole internet"
	}
	f.Evidence = []Evidence{{Label: label, Text: string(ec2Compact(rec.RequestParameters))}}
	verb := "added to"
	if before != "" {
		verb = "replaced in"
	}
	done := fmt.Sprintf("%s %s %s: %s", setting, verb, acl, r)
	if open {
		done = fmt.Sprintf("%s lets %s in from the internet: %s %s", ec2UpperFirst(acl), netReachWords(reach), setting, r)
	}
	return outcome(f, rec, done, fmt.Sprintf("set %s of %s to %s", setting, acl, r)), true
}
