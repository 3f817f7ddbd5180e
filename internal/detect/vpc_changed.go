package detect

import (
	"encoding/json"
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "vpc-changed",
		Title: "VPC or VPC peering changed",
		Description: "A VPC was created, deleted or had an attribute changed, a VPC peering connection was requested, " +
			"accepted, rejected or deleted, or ClassicLink was changed (CreateVpc, DeleteVpc, ModifyVpcAttribute, " +
			"CreateVpcPeeringConnection, AcceptVpcPeeringConnection, RejectVpcPeeringConnection, " +
			"DeleteVpcPeeringConnection, AttachClassicLinkVpc, DetachClassicLinkVpc, EnableVpcClassicLink, " +
			"DisableVpcClassicLink). Requesting or accepting a peering connection with a VPC of another account is " +
			"high: once routes exist, that account's network reaches this VPC directly, outside any internet-facing " +
			"control. Peering within the account, turning off the VPC's DNS resolution (instances then resolve " +
			"elsewhere, out of reach of Route 53 Resolver query logs and DNS Firewall) and linking EC2-Classic " +
			"instances are medium; creating and deleting VPCs, rejecting or deleting peering connections, other " +
			"attribute changes and unlinking ClassicLink are low. Subnets, endpoints and flow logs are not covered. DryRun requests are not reported: AWS only checks permissions for them.",
		Severity: SeverityLow,
		Pattern: ec2API("CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection",
			"CreateVpcPeeringConnection", "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection",
			"AttachClassicLinkVpc", "DetachClassicLinkVpc", "DisableVpcClassicLink", "EnableVpcClassicLink"),
		Evaluate: evaluateVPC,
		CIS:      []string{"4.14"},
		MITRE:    []string{"T1562.007", "T1537"},
		Runbook: "Ask the principal whether the change was intended. For a peering connection, check the other side " +
			"(aws ec2 describe-vpc-peering-connections --vpc-peering-connection-ids PCX_ID): is the owner account one " +
			"of yours or a known partner? If not, delete it (aws ec2 delete-vpc-peering-connection " +
			"--vpc-peering-connection-id PCX_ID) and remove routes that use it (aws ec2 describe-route-tables " +
			"--filters Name=route.vpc-peering-connection-id,Values=PCX_ID). For DNS resolution turned off, turn it back " +
			"on with aws ec2 modify-vpc-attribute --vpc-id VPC_ID --enable-dns-support Value=true.",
		References: []string{
			"https://docs.aws.amazon.com/vpc/latest/peering/what-is-vpc-peering.html",
			"https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-alarms-for-cloudtrail.html",
		},
		FalsePositives: []string{
			"Hub-and-spoke designs peer VPCs across the organization's accounts: each new spoke is high.",
			"Infrastructure as code creates and deletes VPCs for test environments.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/vpc-changed-peering-other-account.json", SeverityHigh},
				{"ec2/vpc-changed-accept-peering-other-account.json", SeverityHigh},
				{"ec2/vpc-changed-peering-same-account.json", SeverityMedium},
				{"ec2/vpc-changed-create-vpc.json", SeverityLow},
				{"ec2/vpc-changed-dns-support-off.json", SeverityMedium},
				{"ec2/vpc-changed-dns-hostnames-on.json", SeverityLow},
				{"ec2/vpc-changed-peering-other-account-failed.json", SeverityLow},
			},
			Negative: []string{
				"ec2/vpc-changed-describe-peering.json",
				"ec2/network-gateway-changed-create-igw.json",
			},
		},
	})
}

// peeringSide is one end of a VPC peering connection in a response.
type peeringSide struct {
	OwnerID json.RawMessage `json:"ownerId"`
	VPCID   json.RawMessage `json:"vpcId"`
	Region  json.RawMessage `json:"region"`
	CIDR    json.RawMessage `json:"cidrBlock"`
}

func evaluateVPC(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || ec2DryRun(rec) {
		return Finding{}, false
	}
	var rp struct {
		VPCID        json.RawMessage `json:"vpcId"`
		CIDRBlock    json.RawMessage `json:"cidrBlock"`
		PeerVPCID    json.RawMessage `json:"peerVpcId"`
		PeerOwnerID  json.RawMessage `json:"peerOwnerId"`
		PeerRegion   json.RawMessage `json:"peerRegion"`
		PeeringID    json.RawMessage `json:"vpcPeeringConnectionId"`
		InstanceID   json.RawMessage `json:"instanceId"`
		DNSSupport   json.RawMessage `json:"enableDnsSupport"`
		DNSHostnames json.RawMessage `json:"enableDnsHostnames"`
		NAUMetrics   json.RawMessage `json:"enableNetworkAddressUsageMetrics"`
	}
	ec2Decode(rec.RequestParameters, &rp)
	var resp struct {
		VPC struct {
			ID json.RawMessage `json:"vpcId"`
		} `json:"vpc"`
		Peering struct {
			ID        json.RawMessage `json:"vpcPeeringConnectionId"`
			Requester peeringSide     `json:"requesterVpcInfo"`
			Accepter  peeringSide     `json:"accepterVpcInfo"`
		} `json:"vpcPeeringConnection"`
	}
	ec2Decode(rec.ResponseElements, &resp)
	account := rec.Account()
	vpcID := ec2Text(rp.VPCID)
	if vpcID == "" {
		vpcID = ec2Text(resp.VPC.ID)
	}
	vpc := "VPC " + ec2OrUnknown(vpcID, "VPC")
	f := Finding{Severity: SeverityLow, Resource: ec2Resource(rec, "VPC", "vpc", vpcID)}

	switch rec.EventName {
	case "CreateVpc":
		cidr := ec2Text(rp.CIDRBlock)
		f.Changes = []Change{{Setting: "VPC", After: "created " + cidr}}
		return outcome(f, rec, fmt.Sprintf("New %s created (%s)", vpc, ec2OrUnknown(cidr, "CIDR block")), "create a VPC"), true
	case "DeleteVpc":
		f.Changes = []Change{{Setting: "VPC", Before: NotRecorded, After: "deleted"}}
		return outcome(f, rec, vpc+" deleted", "delete "+vpc), true
	case "ModifyVpcAttribute":
		for _, a := range []struct {
			name string
			raw  json.RawMessage
		}{{"enableDnsSupport", rp.DNSSupport}, {"enableDnsHostnames", rp.DNSHostnames}, {"enableNetworkAddressUsageMetrics", rp.NAUMetrics}} {
			if v := ec2Text(a.raw); v != "" {
				f.Changes = append(f.Changes, Change{Setting: a.name, Before: NotRecorded, After: v})
			}
		}
		if on, ok := ec2Bool(rp.DNSSupport); ok && !on {
			f.Severity = SeverityMedium
			f.Evidence = []Evidence{{Label: "DNS resolution through the Amazon DNS server turned off", Text: string(ec2Compact(rec.RequestParameters))}}
			return outcome(f, rec,
				fmt.Sprintf("DNS resolution turned off in %s: its DNS queries now bypass Route 53 Resolver logging and DNS Firewall", vpc),
				fmt.Sprintf("turn off DNS resolution in %s", vpc)), true
		}
		return outcome(f, rec, fmt.Sprintf("Attribute of %s changed", vpc), fmt.Sprintf("change an attribute of %s", vpc)), true
	case "AttachClassicLinkVpc", "EnableVpcClassicLink":
		f.Severity = SeverityMedium
		what := "ClassicLink enabled"
		if rec.EventName == "AttachClassicLinkVpc" {
			what = "EC2-Classic instance " + ec2OrUnknown(ec2Text(rp.InstanceID), "instance") + " linked"
		}
		f.Changes = []Change{{Setting: "ClassicLink", Before: NotRecorded, After: what}}
		return outcome(f, rec, fmt.Sprintf("%s to %s", what, vpc), fmt.Sprintf("link EC2-Classic to %s", vpc)), true
	case "DetachClassicLinkVpc", "DisableVpcClassicLink":
		f.Changes = []Change{{Setting: "ClassicLink", Before: NotRecorded, After: "unlinked"}}
		return outcome(f, rec, fmt.Sprintf("ClassicLink removed from %s", vpc), fmt.Sprintf("unlink EC2-Classic from %s", vpc)), true
	}

	// Peering connections.
	pcxID := ec2Text(rp.PeeringID)
	if pcxID == "" {
		pcxID = ec2Text(resp.Peering.ID)
	}
	pcx := "VPC peering connection " + ec2OrUnknown(pcxID, "connection")
	f.Resource = ec2Resource(rec, "VPC peering connection", "vpc-peering-connection", pcxID)
	switch rec.EventName {
	case "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection":
		done, verb := "deleted", "delete"
		if rec.EventName == "RejectVpcPeeringConnection" {
			done, verb = "rejected", "reject"
		}
		f.Changes = []Change{{Setting: "Peering connection", Before: NotRecorded, After: done}}
		return outcome(f, rec, fmt.Sprintf("%s %s", ec2UpperFirst(pcx), done), fmt.Sprintf("%s %s", verb, pcx)), true
	}

	// CreateVpcPeeringConnection names the peer in the request;
	// AcceptVpcPeeringConnection carries both sides in the response only.
	var peerOwner, peerVPC, peerRegion, localVPC string
	verb := "requested"
	if rec.EventName == "AcceptVpcPeeringConnection" {
		verb = "accepted"
		peerOwner = ec2Text(resp.Peering.Requester.OwnerID)
		peerVPC = ec2Text(resp.Peering.Requester.VPCID)
		peerRegion = ec2Text(resp.Peering.Requester.Region)
		localVPC = ec2Text(resp.Peering.Accepter.VPCID)
	} else {
		peerOwner = ec2Text(rp.PeerOwnerID)
		peerVPC = ec2Text(rp.PeerVPCID)
		peerRegion = ec2Text(rp.PeerRegion)
		localVPC = vpcID
		if peerVPC == "" {
			peerVPC = ec2Text(resp.Peering.Accepter.VPCID)
		}
	}
	if localVPC == "" {
		localVPC = vpcID
	}
	f.Severity = SeverityMedium
	peer := ec2OrUnknown(peerVPC, "VPC")
	crossAccount := peerOwner != "" && account != "" && peerOwner != account
	if crossAccount {
		f.Severity = SeverityHigh
		peer += " of account " + peerOwner
	}
	if peerRegion != "" && peerRegion != rec.AWSRegion {
		peer += " in " + peerRegion
	}
	f.Changes = []Change{{Setting: "Peering connection", After: fmt.Sprintf("%s: %s <-> %s", verb, ec2OrUnknown(localVPC, "VPC"), peer)}}
	if crossAccount {
		f.Evidence = []Evidence{{Label: "The peer VPC belongs to another AWS account", Text: "peer owner " + peerOwner + ", this account " + account}}
	}
	done := fmt.Sprintf("Peering between %s and %s %s", ec2OrUnknown(localVPC, "VPC"), peer, verb)
	if pcxID != "" {
		done += " (" + pcxID + ")"
	}
	tried := fmt.Sprintf("peer %s with %s", ec2OrUnknown(localVPC, "VPC"), peer)
	return outcome(f, rec, done, tried), true
}
