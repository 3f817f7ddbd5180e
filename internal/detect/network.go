package detect

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// networkEventSource is the CloudTrail event source of EC2 and VPC API calls.
const networkEventSource = "ec2.amazonaws.com"

// ec2API matches CloudTrail records of the named EC2 API calls.
func ec2API(names ...string) Pattern { return APICall([]string{networkEventSource}, names...) }

// CloudTrail records EC2 request parameters in more than one shape: the
// query API's lowerCamelCase names with lists as {"items":[...]} (or
// {"item":...} in newer APIs, one object when there is one element),
// scalars as strings, numbers or {"value": x}, and some newer APIs as
// their request structure with UpperCamelCase names. Structs below keep
// such fields as json.RawMessage and read them with these helpers, which
// never fail: a value of an unexpected shape reads as absent.
// encoding/json matches field names without regard to case, so one struct
// reads both spellings.

// ec2Text reads a scalar: a string, a number, a boolean, or {"value": x}.
func ec2Text(raw json.RawMessage) string {
	if s, ok := ec2Scalar(raw); ok {
		return s
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return ""
	}
	return ec2TextOf(v)
}

// ec2Scalar reads the common scalars without a decoder: a string of
// printable ASCII without escapes, an integer, true or false. ok is false
// for anything else, which ec2Text decodes in full.
func ec2Scalar(raw json.RawMessage) (string, bool) {
	n := len(raw)
	switch {
	case n >= 2 && raw[0] == '"' && raw[n-1] == '"':
		for _, c := range raw[1 : n-1] {
			if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				return "", false
			}
		}
		return strings.TrimSpace(string(raw[1 : n-1])), true
	case string(raw) == "true" || string(raw) == "false":
		return string(raw), true
	}
	digits := raw
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 || (digits[0] == '0' && len(digits) > 1) {
		return "", false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return string(raw), true
}

func ec2TextOf(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		for k, inner := range x {
			if strings.EqualFold(k, "value") {
				return ec2TextOf(inner)
			}
		}
	}
	return ""
}

// ec2Int reads an integer scalar ("22" or 22).
func ec2Int(raw json.RawMessage) (int, bool) {
	n, err := strconv.Atoi(ec2Text(raw))
	return n, err == nil
}

// ec2Bool reads a boolean scalar (true, "true", {"value": true}).
func ec2Bool(raw json.RawMessage) (bool, bool) {
	b, err := strconv.ParseBool(ec2Text(raw))
	return b, err == nil
}

// ec2Present reports whether a parameter was given at all: not absent, not
// null, not an empty string, object or list.
func ec2Present(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", `""`, "{}", "[]":
		return false
	}
	return true
}

// ec2Items returns the elements of an EC2 list: {"items":[...]}, {"item":[...]},
// {"items":{...}}, a JSON array, or a single object standing for a list of
// one. Empty sets ({} or null) and scalars have no elements.
func ec2Items(raw json.RawMessage) []json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '[':
		var list []json.RawMessage
		d := jsonscan.New(raw)
		d.Array(func() bool {
			v, ok := d.Raw()
			list = append(list, v)
			return ok
		})
		if d.End() {
			if list == nil {
				list = []json.RawMessage{}
			}
			return list
		}
		list = nil
		if json.Unmarshal(raw, &list) != nil {
			return nil
		}
		return list
	case '{':
		items, members, ok := ec2ItemsMember(raw)
		if !ok {
			items, members, ok = ec2ItemsMemberJSON(raw)
		}
		switch {
		case !ok || members == 0:
			return nil
		case items != nil:
			return ec2Items(items)
		}
		return []json.RawMessage{raw}
	}
	return nil
}

// ec2ItemsMember reads an object in one pass for ec2Items: the value of
// its "items" or "item" member (any case; the last one when several),
// else nil, and how many members it has. ok is false for input jsonscan
// leaves to encoding/json.
func ec2ItemsMember(raw json.RawMessage) (items json.RawMessage, members int, ok bool) {
	d := jsonscan.NewSparse(raw)
	d.Object(func(key []byte) bool {
		members++
		if !bytes.EqualFold(key, []byte("items")) && !bytes.EqualFold(key, []byte("item")) {
			return d.Skip()
		}
		items, ok = d.Raw()
		return ok
	})
	return items, members, d.End()
}

// ec2ItemsMemberJSON is ec2ItemsMember by encoding/json, for what jsonscan
// leaves (escaped keys, broken JSON); ok is false when raw is not one
// valid JSON object.
func ec2ItemsMemberJSON(raw json.RawMessage) (items json.RawMessage, members int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, 0, false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, 0, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, 0, false
		}
		members++
		if k, _ := key.(string); strings.EqualFold(k, "items") || strings.EqualFold(k, "item") {
			items = v
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, 0, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, 0, false
	}
	return items, members, true
}

// ec2Decode fills v from raw as far as it can. It reports whether raw was a
// JSON object; fields of unexpected types are left as they were.
func ec2Decode(raw json.RawMessage, v any) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	decodeInto(raw, v)
	return true
}

// ec2DryRun reports whether the record answers a DryRun request: AWS
// checked the caller's permissions and did nothing else, so there is no
// change to report and no failed attempt either.
func ec2DryRun(rec *cloudtrail.Record) bool {
	return strings.HasSuffix(rec.ErrorCode, "DryRunOperation")
}

// ec2ARN builds the ARN of an EC2 resource ("security-group/sg-1") in the
// record's region and account; empty when the ID is unknown.
func ec2ARN(rec *cloudtrail.Record, resourceType, id string) string {
	if id == "" {
		return ""
	}
	return partitionARN(rec.AWSRegion, "ec2", rec.AWSRegion, rec.Account(), resourceType+"/"+id)
}

// ec2Resource describes the EC2 or VPC resource an event acted on.
func ec2Resource(rec *cloudtrail.Record, kind, arnType, id string) Resource {
	return Resource{Type: kind, Name: id, ARN: ec2ARN(rec, arnType, id), Region: rec.AWSRegion}
}

// ec2OrUnknown names an ID in headlines, or says it is unknown.
func ec2OrUnknown(id, what string) string {
	if id == "" {
		return "an unknown " + what
	}
	return id
}

// internetWide reports whether a CIDR block reaches (nearly) the whole
// internet: 0.0.0.0/0 or ::/0, or any public block shorter than /8, such
// as 0.0.0.0/1 (half the IPv4 internet) or 2000::/3 (all global IPv6
// unicast), which evade checks for the two literal values.
func internetWide(cidr string) bool {
	cidr = strings.TrimSpace(cidr)
	if cidr == "0.0.0.0/0" || cidr == "::/0" {
		return true
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	if p.Bits() == 0 {
		return true
	}
	return p.Bits() < 8 && !p.Masked().Addr().IsPrivate()
}

// ec2DefaultRoute reports whether a destination is a default route
// (0.0.0.0/0 or ::/0): it catches all traffic without a better match.
func ec2DefaultRoute(cidr string) bool {
	cidr = strings.TrimSpace(cidr)
	if cidr == "0.0.0.0/0" || cidr == "::/0" {
		return true
	}
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Bits() == 0
}

// netProtocol is a normalised IP protocol of a security group rule or network
// ACL entry: "all", "tcp", "udp", "icmp", "icmpv6" or a netProtocol number.
type netProtocol string

func parseNetProtocol(s string) netProtocol {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "-1", "all", "":
		return "all"
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	case "58", "icmpv6":
		return "icmpv6"
	}
	return netProtocol(strings.ToLower(strings.TrimSpace(s)))
}

// hasPorts reports whether the protocol has ports (TCP and UDP).
func (p netProtocol) hasPorts() bool { return p == "tcp" || p == "udp" }

// netPorts is an inclusive range of TCP or UDP ports.
type netPorts struct{ From, To int }

// netAllPorts is what a rule without a usable port range opens.
var netAllPorts = netPorts{0, 65535}

// parseNetPorts reads a port range; missing or -1 bounds mean every port,
// which is how AWS reads them and the safe side for a detection.
func parseNetPorts(from, to json.RawMessage) netPorts {
	f, okF := ec2Int(from)
	t, okT := ec2Int(to)
	switch {
	case !okF && !okT, f < 0, t < 0:
		return netAllPorts
	case !okT:
		t = f
	case !okF:
		f = t
	}
	if f > t {
		f, t = t, f
	}
	return netPorts{f, t}
}

func (r netPorts) covers(port int) bool { return r.From <= port && port <= r.To }

func (r netPorts) String() string {
	switch {
	case r == netAllPorts:
		return "all ports"
	case r.From == r.To:
		return "port " + strconv.Itoa(r.From)
	}
	return "ports " + strconv.Itoa(r.From) + "-" + strconv.Itoa(r.To)
}

// netAdminPorts are the remote administration ports the CIS benchmark and
// AWS Foundational Security Best Practices single out: SSH and RDP.
var netAdminPorts = map[netProtocol][]int{"tcp": {22, 3389}, "udp": {3389}}

// netWebPorts are ports meant to be open to the world on public web servers.
var netWebPorts = []int{80, 443}

// netReach classifies what a rule or ACL entry lets in, from most to least
// dangerous when the source is the whole internet.
type netReach int

const (
	netReachNone  netReach = iota // no internet-wide source
	netReachICMP                  // ICMP from the internet: discovery, no service
	netReachWeb                   // only HTTP or HTTPS from the internet
	netReachOther                 // other ports or protocols from the internet
	netReachAdmin                 // SSH or RDP from the internet
	netReachAll                   // every protocol and port from the internet
)

// netReachOf classifies traffic of a protocol and port range from sources.
// Protocols other than TCP, UDP and ICMP have no ports: a rule for one
// of them lets in all of its traffic.
func netReachOf(p netProtocol, ports netPorts, sources []string) netReach {
	if !slices.ContainsFunc(sources, internetWide) {
		return netReachNone
	}
	switch {
	case p == "all":
		return netReachAll
	case p == "icmp" || p == "icmpv6":
		return netReachICMP
	case !p.hasPorts():
		return netReachOther
	}
	for _, port := range netAdminPorts[p] {
		if ports.covers(port) {
			return netReachAdmin
		}
	}
	if ports.From == ports.To && slices.Contains(netWebPorts, ports.From) {
		return netReachWeb
	}
	return netReachOther
}

// netTraffic says what traffic a rule matches: "all traffic", "tcp port
// 22", "icmp".
func netTraffic(p netProtocol, ports netPorts) string {
	switch {
	case p == "all":
		return "all traffic"
	case p.hasPorts():
		return string(p) + " " + ports.String()
	case p == "icmp" || p == "icmpv6":
		return string(p)
	}
	return "protocol " + string(p) + " (all ports)"
}

// sgRule is one security group rule of a request.
type sgRule struct {
	// Direction is "inbound", "outbound", or "" when the event does not
	// say (ModifySecurityGroupRules names rules by ID only).
	Direction string
	Protocol  netProtocol
	Ports     netPorts
	// Sources are CIDR blocks, security groups (sg-...) and prefix lists
	// (pl-...): where inbound traffic comes from, or where outbound
	// traffic goes.
	Sources []string
	// RuleID is set for ModifySecurityGroupRules.
	RuleID string
	// Raw is the rule as the event records it.
	Raw json.RawMessage
}

// exposure classifies what the rule lets in from the internet.
func (r sgRule) exposure() netReach { return netReachOf(r.Protocol, r.Ports, r.Sources) }

// String describes the rule: "tcp port 22 from 0.0.0.0/0".
func (r sgRule) String() string {
	prep := "from"
	if r.Direction == "outbound" {
		prep = "to"
	}
	srcs := "no source recorded"
	if len(r.Sources) > 0 {
		srcs = strings.Join(r.Sources, ", ")
	}
	return netTraffic(r.Protocol, r.Ports) + " " + prep + " " + srcs
}

// sgRequest is what CloudTrail records of the security group APIs.
type sgRequest struct {
	GroupID          json.RawMessage `json:"groupId"`
	GroupName        json.RawMessage `json:"groupName"`
	GroupDescription json.RawMessage `json:"groupDescription"`
	VPCID            json.RawMessage `json:"vpcId"`
	IPPermissions    json.RawMessage `json:"ipPermissions"`
	// The API's single-rule form, which the CLI uses for --protocol,
	// --port and --cidr: CloudTrail records it at the top level.
	IPProtocol json.RawMessage `json:"ipProtocol"`
	FromPort   json.RawMessage `json:"fromPort"`
	ToPort     json.RawMessage `json:"toPort"`
	CIDRIP     json.RawMessage `json:"cidrIp"`
	SourceSG   json.RawMessage `json:"sourceSecurityGroupName"`
	// ModifySecurityGroupRules is recorded as its request structure.
	Modify json.RawMessage `json:"ModifySecurityGroupRulesRequest"`
	// Some recordings of ModifySecurityGroupRules name the rules
	// securityGroupRuleSet at the top level.
	RuleSet json.RawMessage `json:"securityGroupRuleSet"`
}

type ipPermission struct {
	IPProtocol  json.RawMessage `json:"ipProtocol"`
	FromPort    json.RawMessage `json:"fromPort"`
	ToPort      json.RawMessage `json:"toPort"`
	IPRanges    json.RawMessage `json:"ipRanges"`
	IPv6Ranges  json.RawMessage `json:"ipv6Ranges"`
	Groups      json.RawMessage `json:"groups"`
	PrefixLists json.RawMessage `json:"prefixListIds"`
}

type sgSource struct {
	CIDRIP       json.RawMessage `json:"cidrIp"`
	CIDRIPv6     json.RawMessage `json:"cidrIpv6"`
	GroupID      json.RawMessage `json:"groupId"`
	GroupName    json.RawMessage `json:"groupName"`
	UserID       json.RawMessage `json:"userId"`
	PrefixListID json.RawMessage `json:"prefixListId"`
}

// label names one source entry: its CIDR, group (with the owning account
// when it is another) or prefix list.
func (s sgSource) label() string {
	for _, v := range []json.RawMessage{s.CIDRIP, s.CIDRIPv6, s.PrefixListID} {
		if t := ec2Text(v); t != "" {
			return t
		}
	}
	g := ec2Text(s.GroupID)
	if g == "" {
		g = ec2Text(s.GroupName)
	}
	if g == "" {
		return ""
	}
	if u := ec2Text(s.UserID); u != "" {
		return "security group " + g + " of account " + u
	}
	return "security group " + g
}

// modifyRule is one entry of ModifySecurityGroupRules.
type modifyRule struct {
	RuleID json.RawMessage `json:"SecurityGroupRuleId"`
	Rule   json.RawMessage `json:"SecurityGroupRule"`
}

type modifyRuleBody struct {
	IPProtocol   json.RawMessage `json:"IpProtocol"`
	FromPort     json.RawMessage `json:"FromPort"`
	ToPort       json.RawMessage `json:"ToPort"`
	CIDRIPv4     json.RawMessage `json:"CidrIpv4"`
	CIDRIPv6     json.RawMessage `json:"CidrIpv6"`
	PrefixListID json.RawMessage `json:"PrefixListId"`
	Referenced   json.RawMessage `json:"ReferencedGroupId"`
}

// parseSGRequest reads the group and the rules of a security group API
// call. direction applies to the ipPermissions rules.
func parseSGRequest(params json.RawMessage, direction string) (groupID string, rules []sgRule) {
	var rq sgRequest
	ec2Decode(params, &rq)
	groupID = ec2Text(rq.GroupID)

	for _, raw := range ec2Items(rq.IPPermissions) {
		var p ipPermission
		if !ec2Decode(raw, &p) {
			continue
		}
		r := sgRule{Direction: direction, Protocol: parseNetProtocol(ec2Text(p.IPProtocol)), Raw: raw}
		r.Ports = parseNetPorts(p.FromPort, p.ToPort)
		for _, list := range []json.RawMessage{p.IPRanges, p.IPv6Ranges, p.Groups, p.PrefixLists} {
			for _, s := range ec2Items(list) {
				var src sgSource
				if ec2Decode(s, &src) {
					if l := src.label(); l != "" {
						r.Sources = append(r.Sources, l)
					}
				}
			}
		}
		rules = append(rules, r)
	}

	if len(rules) == 0 && (ec2Present(rq.IPProtocol) || ec2Present(rq.CIDRIP) || ec2Present(rq.SourceSG)) {
		r := sgRule{Direction: direction, Protocol: parseNetProtocol(ec2Text(rq.IPProtocol)), Raw: ec2Compact(params)}
		r.Ports = parseNetPorts(rq.FromPort, rq.ToPort)
		if c := ec2Text(rq.CIDRIP); c != "" {
			r.Sources = append(r.Sources, c)
		}
		if g := ec2Text(rq.SourceSG); g != "" {
			r.Sources = append(r.Sources, "security group "+g)
		}
		rules = append(rules, r)
	}

	var mod struct {
		GroupID json.RawMessage `json:"GroupId"`
		Rules   json.RawMessage `json:"SecurityGroupRule"`
	}
	ruleSet := rq.RuleSet
	if ec2Decode(rq.Modify, &mod) {
		if g := ec2Text(mod.GroupID); g != "" {
			groupID = g
		}
		ruleSet = mod.Rules
	}
	for _, raw := range ec2Items(ruleSet) {
		var m modifyRule
		if !ec2Decode(raw, &m) {
			continue
		}
		var b modifyRuleBody
		ec2Decode(m.Rule, &b)
		r := sgRule{RuleID: ec2Text(m.RuleID), Protocol: parseNetProtocol(ec2Text(b.IPProtocol)), Raw: raw}
		r.Ports = parseNetPorts(b.FromPort, b.ToPort)
		for _, v := range []json.RawMessage{b.CIDRIPv4, b.CIDRIPv6, b.PrefixListID} {
			if t := ec2Text(v); t != "" {
				r.Sources = append(r.Sources, t)
			}
		}
		if g := ec2Text(b.Referenced); g != "" {
			r.Sources = append(r.Sources, "security group "+g)
		}
		rules = append(rules, r)
	}
	return groupID, rules
}

// ec2Compact is the request parameters as one line of JSON.
func ec2Compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return raw
	}
	return buf.Bytes()
}

// sgRuleSeverity rates adding (or changing to) a rule. Inbound from the
// whole internet is what exposes services; outbound rules only widen
// where instances may connect to, and allowing all outbound traffic is
// the AWS default, so they stay low. When the direction is unknown, a
// rule allowing all traffic from everywhere is most likely the default
// outbound rule and is rated high rather than critical.
func sgRuleSeverity(r sgRule) Severity {
	if r.Direction == "outbound" {
		return SeverityLow
	}
	switch r.exposure() {
	case netReachAll:
		if r.Direction == "" {
			return SeverityHigh
		}
		return SeverityCritical
	case netReachAdmin:
		return SeverityCritical
	case netReachOther:
		return SeverityHigh
	case netReachWeb, netReachICMP:
		return SeverityMedium
	}
	return SeverityLow
}

// netReachWords says in a few words what an internet-wide rule exposes.
func netReachWords(r netReach) string {
	switch r {
	case netReachAll:
		return "all traffic"
	case netReachAdmin:
		return "remote administration (SSH/RDP)"
	case netReachWeb:
		return "web traffic"
	case netReachICMP:
		return "ICMP"
	case netReachOther:
		return "a service port"
	}
	return "traffic"
}

// naclEntry is what CloudTrail records of CreateNetworkAclEntry and
// ReplaceNetworkAclEntry.
type naclEntry struct {
	NetworkACLID json.RawMessage `json:"networkAclId"`
	RuleNumber   json.RawMessage `json:"ruleNumber"`
	Egress       json.RawMessage `json:"egress"`
	RuleAction   json.RawMessage `json:"ruleAction"`
	// CloudTrail names the protocol aclProtocol; the API calls it Protocol.
	ACLProtocol json.RawMessage `json:"aclProtocol"`
	Protocol    json.RawMessage `json:"protocol"`
	CIDRBlock   json.RawMessage `json:"cidrBlock"`
	IPv6CIDR    json.RawMessage `json:"ipv6CidrBlock"`
	PortRange   json.RawMessage `json:"portRange"`
}

// naclRule is a network ACL entry, read.
type naclRule struct {
	ACLID    string
	Number   string
	Outbound bool
	Allow    bool
	Protocol netProtocol
	Ports    netPorts
	Sources  []string
}

func parseNACLEntry(params json.RawMessage) naclRule {
	var e naclEntry
	ec2Decode(params, &e)
	r := naclRule{ACLID: ec2Text(e.NetworkACLID), Number: ec2Text(e.RuleNumber)}
	r.Outbound, _ = ec2Bool(e.Egress)
	r.Allow = strings.EqualFold(ec2Text(e.RuleAction), "allow")
	p := ec2Text(e.ACLProtocol)
	if p == "" {
		p = ec2Text(e.Protocol)
	}
	r.Protocol = parseNetProtocol(p)
	// Network ACLs apply ports only to TCP and UDP; any other protocol
	// number except ICMP matches all of that protocol's traffic.
	var pr struct {
		From json.RawMessage `json:"from"`
		To   json.RawMessage `json:"to"`
	}
	ec2Decode(e.PortRange, &pr)
	r.Ports = parseNetPorts(pr.From, pr.To)
	for _, v := range []json.RawMessage{e.CIDRBlock, e.IPv6CIDR} {
		if t := ec2Text(v); t != "" {
			r.Sources = append(r.Sources, t)
		}
	}
	return r
}

func (r naclRule) direction() string {
	if r.Outbound {
		return "Outbound"
	}
	return "Inbound"
}

func (r naclRule) String() string {
	action := "deny"
	if r.Allow {
		action = "allow"
	}
	prep := "from"
	if r.Outbound {
		prep = "to"
	}
	srcs := "no CIDR recorded"
	if len(r.Sources) > 0 {
		srcs = strings.Join(r.Sources, ", ")
	}
	return action + " " + netTraffic(r.Protocol, r.Ports) + " " + prep + " " + srcs
}
