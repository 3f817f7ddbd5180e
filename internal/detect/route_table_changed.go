package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "route-table-changed",
		Title: "Route table changed",
		Description: "A route was created, replaced or deleted, a route table was created or deleted, or a subnet's " +
			"route table association was replaced or removed (CreateRoute, ReplaceRoute, DeleteRoute, CreateRouteTable, " +
			"DeleteRouteTable, ReplaceRouteTableAssociation, DisassociateRouteTable). A default route (0.0.0.0/0 or ::/0) " +
			"sent to an internet gateway, a NAT gateway, a VPC peering connection, an instance or a network interface is " +
			"high: it decides where all of a subnet's outside traffic goes, and pointing it at an instance, an interface or " +
			"a peer VPC lets whoever controls that target read or redirect the traffic (for example around an inspection " +
			"firewall). Other routes and association changes are medium; creating or deleting a route table and deleting " +
			"a route are low. AssociateRouteTable (first association of a subnet) is not covered, as in the CIS benchmark. DryRun requests are not reported: AWS only checks permissions for them.",
		Severity: SeverityMedium,
		Pattern: ec2API("CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation",
			"DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable"),
		Evaluate: evaluateRouteTable,
		CIS:      []string{"4.13"},
		MITRE:    []string{"T1562.007", "T1040"},
		Runbook: "Ask the principal whether the change was intended. Show the table's routes and subnets " +
			"(aws ec2 describe-route-tables --route-table-ids ROUTE_TABLE_ID). If a default route points somewhere it " +
			"should not, put it back with aws ec2 replace-route --route-table-id ROUTE_TABLE_ID " +
			"--destination-cidr-block 0.0.0.0/0 --nat-gateway-id NAT_GATEWAY_ID (or the target it had). For routes to an " +
			"instance or interface, check who controls that instance and whether source/destination checking was " +
			"turned off (aws ec2 describe-instance-attribute --instance-id INSTANCE_ID --attribute sourceDestCheck).",
		References: []string{
			"https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html",
			"https://docs.aws.amazon.com/vpc/latest/userguide/route-table-options.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-alarms-for-cloudtrail.html",
		},
		FalsePositives: []string{
			"Building a public subnet adds a default route to an internet gateway; a private one, to a NAT gateway.",
			"Appliance fail-over (firewall or NAT instances) replaces default routes to the standby instance.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/route-table-changed-default-route-igw.json", SeverityHigh},
				{"ec2/route-table-changed-replace-default-eni.json", SeverityHigh},
				{"ec2/route-table-changed-peering-cidr.json", SeverityMedium},
				{"ec2/route-table-changed-ipv6-default-tgw.json", SeverityMedium},
				{"ec2/route-table-changed-delete-route.json", SeverityLow},
				{"ec2/route-table-changed-association.json", SeverityMedium},
				{"ec2/route-table-changed-default-route-exists.json", SeverityLow},
			},
			Negative: []string{
				"ec2/route-table-changed-describe.json",
				"ec2/network-gateway-changed-attach-igw.json",
			},
		},
	})
}

// routeRequest is what CloudTrail records of the route APIs.
type routeRequest struct {
	RouteTableID    json.RawMessage `json:"routeTableId"`
	AssociationID   json.RawMessage `json:"associationId"`
	VPCID           json.RawMessage `json:"vpcId"`
	DestinationCIDR json.RawMessage `json:"destinationCidrBlock"`
	DestinationIPv6 json.RawMessage `json:"destinationIpv6CidrBlock"`
	DestinationPL   json.RawMessage `json:"destinationPrefixListId"`
	GatewayID       json.RawMessage `json:"gatewayId"`
	NATGatewayID    json.RawMessage `json:"natGatewayId"`
	PeeringID       json.RawMessage `json:"vpcPeeringConnectionId"`
	InstanceID      json.RawMessage `json:"instanceId"`
	ENIID           json.RawMessage `json:"networkInterfaceId"`
	TransitGateway  json.RawMessage `json:"transitGatewayId"`
	EgressOnlyIGW   json.RawMessage `json:"egressOnlyInternetGatewayId"`
	LocalGateway    json.RawMessage `json:"localGatewayId"`
	CarrierGateway  json.RawMessage `json:"carrierGatewayId"`
	VPCEndpoint     json.RawMessage `json:"vpcEndpointId"`
	CoreNetwork     json.RawMessage `json:"coreNetworkArn"`
}

// routeTarget names where a route sends traffic and whether that kind of
// target makes a default route dangerous.
func (r routeRequest) target() (label string, redirects bool) {
	if g := ec2Text(r.GatewayID); g != "" {
		switch {
		case strings.HasPrefix(g, "igw-"):
			return "internet gateway " + g, true
		case strings.HasPrefix(g, "vgw-"):
			return "VPN gateway " + g, false
		case strings.HasPrefix(g, "vpce-"):
			return "VPC endpoint " + g, false
		}
		return "gateway " + g, false
	}
	for _, t := range []struct {
		raw       json.RawMessage
		kind      string
		redirects bool
	}{
		{r.NATGatewayID, "NAT gateway ", true},
		{r.PeeringID, "VPC peering connection ", true},
		{r.InstanceID, "instance ", true},
		{r.ENIID, "network interface ", true},
		{r.TransitGateway, "transit gateway ", false},
		{r.EgressOnlyIGW, "egress-only internet gateway ", false},
		{r.LocalGateway, "local gateway ", false},
		{r.CarrierGateway, "carrier gateway ", false},
		{r.VPCEndpoint, "VPC endpoint ", false},
		{r.CoreNetwork, "core network ", false},
	} {
		if v := ec2Text(t.raw); v != "" {
			return t.kind + v, t.redirects
		}
	}
	return "an unrecorded target", false
}

func (r routeRequest) destination() string {
	for _, v := range []json.RawMessage{r.DestinationCIDR, r.DestinationIPv6, r.DestinationPL} {
		if d := ec2Text(v); d != "" {
			return d
		}
	}
	return "an unrecorded destination"
}

func evaluateRouteTable(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || ec2DryRun(rec) {
		return Finding{}, false
	}
	var rp routeRequest
	ec2Decode(rec.RequestParameters, &rp)
	tableID := ec2Text(rp.RouteTableID)
	if rec.EventName == "CreateRouteTable" {
		var resp struct {
			Table struct {
				ID json.RawMessage `json:"routeTableId"`
			} `json:"routeTable"`
		}
		ec2Decode(rec.ResponseElements, &resp)
		tableID = ec2Text(resp.Table.ID)
	}
	table := "route table " + ec2OrUnknown(tableID, "table")
	f := Finding{Severity: SeverityLow, Resource: ec2Resource(rec, "VPC route table", "route-table", tableID)}
	assoc := ec2OrUnknown(ec2Text(rp.AssociationID), "association")

	switch rec.EventName {
	case "CreateRouteTable":
		where := ""
		if vpc := ec2Text(rp.VPCID); vpc != "" {
			where = " in " + vpc
		}
		f.Changes = []Change{{Setting: "Route table", After: "created" + where}}
		return outcome(f, rec, fmt.Sprintf("New %s created%s", table, where), fmt.Sprintf("create %s%s", table, where)), true
	case "DeleteRouteTable":
		f.Changes = []Change{{Setting: "Route table", Before: NotRecorded, After: "deleted"}}
		return outcome(f, rec, ec2UpperFirst(table)+" deleted", "delete "+table), true
	case "ReplaceRouteTableAssociation":
		f.Severity = SeverityMedium
		f.Changes = []Change{{Setting: "Route table of association " + assoc, Before: NotRecorded, After: ec2OrUnknown(tableID, "table")}}
		return outcome(f, rec,
			fmt.Sprintf("Association %s now uses %s: its subnet (or the VPC's main table) follows new routes", assoc, table),
			fmt.Sprintf("switch association %s to %s", assoc, table)), true
	case "DisassociateRouteTable":
		f.Severity = SeverityMedium
		f.Resource = Resource{Type: "VPC route table association", Name: ec2Text(rp.AssociationID), Region: rec.AWSRegion}
		f.Changes = []Change{{Setting: "Route table association " + assoc, Before: NotRecorded, After: "removed (the subnet falls back to the VPC's main route table)"}}
		return outcome(f, rec,
			fmt.Sprintf("Route table association %s removed: its subnet now uses the VPC's main route table", assoc),
			fmt.Sprintf("remove route table association %s", assoc)), true
	case "DeleteRoute":
		dest := rp.destination()
		f.Changes = []Change{{Setting: "Route to " + dest, Before: NotRecorded, After: "deleted"}}
		return outcome(f, rec,
			fmt.Sprintf("Route to %s deleted from %s", dest, table),
			fmt.Sprintf("delete the route to %s from %s", dest, table)), true
	}

	// CreateRoute, ReplaceRoute.
	dest := rp.destination()
	target, redirects := rp.target()
	f.Severity = SeverityMedium
	isDefault := ec2DefaultRoute(ec2Text(rp.DestinationCIDR)) || ec2DefaultRoute(ec2Text(rp.DestinationIPv6))
	if isDefault && redirects {
		f.Severity = SeverityHigh
	}
	before := ""
	verb := "added to"
	if rec.EventName == "ReplaceRoute" {
		before, verb = NotRecorded, "replaced in"
	}
	f.Changes = []Change{{Setting: "Route to " + dest, Before: before, After: target}}
	label := "Route"
	if f.Severity == SeverityHigh {
		label = "Default route that sends all outside traffic to the target"
	}
	f.Evidence = []Evidence{{Label: label, Text: string(ec2Compact(rec.RequestParameters))}}
	done := fmt.Sprintf("Route to %s via %s %s %s", dest, target, verb, table)
	if isDefault {
		done = fmt.Sprintf("Default route of %s (%s) now sends traffic to %s", table, dest, target)
	}
	return outcome(f, rec, done, fmt.Sprintf("route %s via %s in %s", dest, target, table)), true
}
