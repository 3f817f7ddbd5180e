package detect

import (
	"encoding/json"
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "network-gateway-changed",
		Title: "Internet or customer gateway changed",
		Description: "An internet gateway was created, attached to a VPC, detached or deleted, or a customer gateway " +
			"(the on-premises end of a site-to-site VPN) was created or deleted. Attaching an internet gateway is high: " +
			"it is what lets a VPC reach and be reached from the internet, so it opens a path for exfiltration and, " +
			"with a route and a public address, for inbound access. Detaching one is medium (the VPC loses internet " +
			"access: an outage, or a response action worth knowing about). Creating a customer gateway is medium: it " +
			"declares an outside IP address as a VPN peer, the first step to bridging another network into a VPC. " +
			"Creating an internet gateway (it does nothing until attached) and deleting either kind of gateway " +
			"(AWS requires it to be detached or unused first) are low. NAT gateways, transit gateways, VPN gateways " +
			"and VPN connections are not covered. DryRun requests are not reported: AWS only checks permissions for them.",
		Severity: SeverityMedium,
		Pattern: ec2API("CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway",
			"CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway"),
		Evaluate: evaluateNetworkGateway,
		CIS:      []string{"4.12"},
		MITRE:    []string{"T1562.007", "T1133"},
		Runbook: "Ask the principal whether the change was intended. For an attached internet gateway, list the routes " +
			"that use it (aws ec2 describe-route-tables --filters Name=route.gateway-id,Values=IGW_ID) and the public " +
			"addresses in the VPC (aws ec2 describe-addresses, aws ec2 describe-network-interfaces --filters " +
			"Name=vpc-id,Values=VPC_ID); if unwanted, aws ec2 detach-internet-gateway --internet-gateway-id IGW_ID " +
			"--vpc-id VPC_ID. For a customer gateway, check its IP address belongs to your network and look for VPN " +
			"connections that use it (aws ec2 describe-vpn-connections --filters Name=customer-gateway-id,Values=CGW_ID).",
		References: []string{
			"https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Internet_Gateway.html",
			"https://docs.aws.amazon.com/vpn/latest/s2svpn/your-cgw.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-alarms-for-cloudtrail.html",
		},
		FalsePositives: []string{
			"Building a new VPC with public subnets attaches an internet gateway.",
			"Network teams adding VPN sites create customer gateways.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/network-gateway-changed-attach-igw.json", SeverityHigh},
				{"ec2/network-gateway-changed-create-igw.json", SeverityLow},
				{"ec2/network-gateway-changed-detach-igw.json", SeverityMedium},
				{"ec2/network-gateway-changed-customer-gateway.json", SeverityMedium},
				{"ec2/network-gateway-changed-attach-igw-failed.json", SeverityLow},
			},
			Negative: []string{
				"ec2/network-gateway-changed-describe.json",
				"ec2/route-table-changed-default-route-igw.json",
			},
		},
	})
}

func evaluateNetworkGateway(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || ec2DryRun(rec) {
		return Finding{}, false
	}
	var rp struct {
		InternetGatewayID json.RawMessage `json:"internetGatewayId"`
		CustomerGatewayID json.RawMessage `json:"customerGatewayId"`
		VPCID             json.RawMessage `json:"vpcId"`
		Type              json.RawMessage `json:"type"`
		IPAddress         json.RawMessage `json:"ipAddress"`
		PublicIP          json.RawMessage `json:"publicIp"`
		BGPASN            json.RawMessage `json:"bgpAsn"`
		DeviceName        json.RawMessage `json:"deviceName"`
	}
	ec2Decode(rec.RequestParameters, &rp)
	var resp struct {
		InternetGateway struct {
			ID json.RawMessage `json:"internetGatewayId"`
		} `json:"internetGateway"`
		CustomerGateway struct {
			ID json.RawMessage `json:"customerGatewayId"`
		} `json:"customerGateway"`
	}
	ec2Decode(rec.ResponseElements, &resp)
	vpc := ec2OrUnknown(ec2Text(rp.VPCID), "VPC")

	switch rec.EventName {
	case "AttachInternetGateway", "DetachInternetGateway", "CreateInternetGateway", "DeleteInternetGateway":
		id := ec2Text(rp.InternetGatewayID)
		if id == "" {
			id = ec2Text(resp.InternetGateway.ID)
		}
		igw := "internet gateway " + ec2OrUnknown(id, "gateway")
		f := Finding{Resource: ec2Resource(rec, "VPC internet gateway", "internet-gateway", id)}
		switch rec.EventName {
		case "AttachInternetGateway":
			f.Severity = SeverityHigh
			f.Changes = []Change{{Setting: "Attached to VPC", Before: NotRecorded, After: vpc}}
			return outcome(f, rec,
				fmt.Sprintf("%s attached to %s: the VPC can now reach and be reached from the internet", ec2UpperFirst(igw), vpc),
				fmt.Sprintf("attach %s to %s", igw, vpc)), true
		case "DetachInternetGateway":
			f.Severity = SeverityMedium
			f.Changes = []Change{{Setting: "Attached to VPC", Before: vpc, After: "none"}}
			return outcome(f, rec,
				fmt.Sprintf("%s detached from %s: the VPC lost its internet access", ec2UpperFirst(igw), vpc),
				fmt.Sprintf("detach %s from %s", igw, vpc)), true
		case "CreateInternetGateway":
			f.Severity = SeverityLow
			f.Changes = []Change{{Setting: "Internet gateway", After: "created (not attached)"}}
			return outcome(f, rec, fmt.Sprintf("New %s created", igw), "create an internet gateway"), true
		default:
			f.Severity = SeverityLow
			f.Changes = []Change{{Setting: "Internet gateway", Before: NotRecorded, After: "deleted"}}
			return outcome(f, rec, fmt.Sprintf("%s deleted", ec2UpperFirst(igw)), "delete "+igw), true
		}
	case "CreateCustomerGateway", "DeleteCustomerGateway":
		id := ec2Text(rp.CustomerGatewayID)
		if id == "" {
			id = ec2Text(resp.CustomerGateway.ID)
		}
		cgw := "customer gateway " + ec2OrUnknown(id, "gateway")
		f := Finding{Resource: ec2Resource(rec, "VPN customer gateway", "customer-gateway", id)}
		if rec.EventName == "DeleteCustomerGateway" {
			f.Severity = SeverityLow
			f.Changes = []Change{{Setting: "Customer gateway", Before: NotRecorded, After: "deleted"}}
			return outcome(f, rec, fmt.Sprintf("%s deleted", ec2UpperFirst(cgw)), "delete "+cgw), true
		}
		f.Severity = SeverityMedium
		ip := ec2Text(rp.IPAddress)
		if ip == "" {
			ip = ec2Text(rp.PublicIP)
		}
		peer := "an unrecorded address"
		if ip != "" {
			peer = ip
		}
		f.Changes = []Change{{Setting: "VPN peer address", After: peer}}
		if asn := ec2Text(rp.BGPASN); asn != "" {
			f.Changes = append(f.Changes, Change{Setting: "BGP ASN", After: asn})
		}
		f.Evidence = []Evidence{{Label: "Request", Text: string(ec2Compact(rec.RequestParameters))}}
		return outcome(f, rec,
			fmt.Sprintf("New %s declares %s as a site-to-site VPN peer", cgw, peer),
			fmt.Sprintf("declare %s as a site-to-site VPN peer", peer)), true
	}
	return Finding{}, false
}
