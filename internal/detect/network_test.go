package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

func TestEC2Scalars(t *testing.T) {
	for _, tc := range []struct {
		raw       string
		text      string
		num       int
		isNum     bool
		isPresent bool
	}{
		{`"tcp"`, "tcp", 0, false, true},
		{`" 22 "`, "22", 22, true, true},
		{`22`, "22", 22, true, true},
		{`-1`, "-1", -1, true, true},
		{`{"value":"m5.large"}`, "m5.large", 0, false, true},
		{`{"Value":443}`, "443", 443, true, true},
		{`true`, "true", 0, false, true},
		{`1.5`, "1.5", 0, false, true},
		{`null`, "", 0, false, false},
		{`""`, "", 0, false, false},
		{`{}`, "", 0, false, false},
		{`[]`, "", 0, false, false},
		{`["a"]`, "", 0, false, true},
		{``, "", 0, false, false},
		{`{"x":`, "", 0, false, true},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			raw := json.RawMessage(tc.raw)
			if got := ec2Text(raw); got != tc.text {
				t.Errorf("ec2Text = %q, want %q", got, tc.text)
			}
			n, ok := ec2Int(raw)
			if ok != tc.isNum || n != tc.num {
				t.Errorf("ec2Int = %d, %t, want %d, %t", n, ok, tc.num, tc.isNum)
			}
			if got := ec2Present(raw); got != tc.isPresent {
				t.Errorf("ec2Present = %t, want %t", got, tc.isPresent)
			}
		})
	}
	for raw, want := range map[string]bool{`true`: true, `"false"`: false, `{"value":false}`: false, `{"value":true}`: true} {
		if got, ok := ec2Bool(json.RawMessage(raw)); !ok || got != want {
			t.Errorf("ec2Bool(%s) = %t, %t, want %t, true", raw, got, ok, want)
		}
	}
	if _, ok := ec2Bool(json.RawMessage(`"maybe"`)); ok {
		t.Error(`ec2Bool("maybe") read as a boolean`)
	}
}

func TestEC2Items(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want []string
	}{
		{`{"items":[{"a":1},{"a":2}]}`, []string{`{"a":1}`, `{"a":2}`}},
		{`{"item":[{"a":1}]}`, []string{`{"a":1}`}},
		{`{"Items":{"a":1}}`, []string{`{"a":1}`}},
		{`{"item":{"a":1}}`, []string{`{"a":1}`}},
		{`[{"a":1},"b"]`, []string{`{"a":1}`, `"b"`}},
		{`{"a":1,"tag":1}`, []string{`{"a":1,"tag":1}`}},
		{`{}`, nil},
		{`null`, nil},
		{`"x"`, nil},
		{`{"items":"x"}`, nil},
		{`{"items":null}`, nil},
		{``, nil},
		{`[`, nil},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			var got []string
			for _, it := range ec2Items(json.RawMessage(tc.raw)) {
				got = append(got, string(it))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ec2Items = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInternetWideAndDefaultRoute(t *testing.T) {
	for _, tc := range []struct {
		cidr        string
		wide, deflt bool
	}{
		{"0.0.0.0/0", true, true},
		{"::/0", true, true},
		{" 0.0.0.0/0 ", true, true},
		{"0.0.0.0/1", true, false},
		{"128.0.0.0/1", true, false},
		{"2000::/3", true, false},
		{"1.2.3.4/0", true, true},
		{"52.0.0.0/8", false, false},
		{"10.0.0.0/8", false, false},
		{"fc00::/7", false, false},
		{"203.0.113.0/24", false, false},
		{"198.51.100.7/32", false, false},
		{"sg-0123", false, false},
		{"", false, false},
		{"0.0.0.0/00", false, false},
	} {
		t.Run(tc.cidr, func(t *testing.T) {
			if got := internetWide(tc.cidr); got != tc.wide {
				t.Errorf("internetWide = %t, want %t", got, tc.wide)
			}
			if got := ec2DefaultRoute(tc.cidr); got != tc.deflt {
				t.Errorf("ec2DefaultRoute = %t, want %t", got, tc.deflt)
			}
		})
	}
}

func TestNetReachOf(t *testing.T) {
	world := []string{"0.0.0.0/0"}
	for _, tc := range []struct {
		proto   string
		from    string
		to      string
		sources []string
		want    netReach
	}{
		{"-1", ``, ``, world, netReachAll},
		{"tcp", `22`, `22`, world, netReachAdmin},
		{"6", `"3389"`, `"3389"`, []string{"::/0"}, netReachAdmin},
		{"udp", `3389`, `3389`, world, netReachAdmin},
		{"udp", `22`, `22`, world, netReachOther},
		{"tcp", `0`, `65535`, world, netReachAdmin},
		{"tcp", `1024`, `65535`, world, netReachAdmin}, // includes 3389
		{"tcp", `4000`, `65535`, world, netReachOther},
		{"tcp", ``, ``, world, netReachAdmin}, // no ports: AWS would refuse; read as all
		{"tcp", `443`, `443`, world, netReachWeb},
		{"tcp", `80`, `80`, world, netReachWeb},
		{"tcp", `80`, `443`, world, netReachOther},
		{"tcp", `5432`, `5432`, world, netReachOther},
		{"icmp", `-1`, `-1`, world, netReachICMP},
		{"58", `-1`, `-1`, world, netReachICMP},
		{"47", ``, ``, world, netReachOther},
		{"-1", ``, ``, []string{"10.0.0.0/8", "security group sg-1"}, netReachNone},
		{"tcp", `22`, `22`, []string{"203.0.113.0/24", "0.0.0.0/0"}, netReachAdmin},
		{"tcp", `22`, `22`, nil, netReachNone},
	} {
		t.Run(fmt.Sprintf("%s %s-%s %v", tc.proto, tc.from, tc.to, tc.sources), func(t *testing.T) {
			ports := parseNetPorts(json.RawMessage(tc.from), json.RawMessage(tc.to))
			if got := netReachOf(parseNetProtocol(tc.proto), ports, tc.sources); got != tc.want {
				t.Errorf("netReachOf = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseSGRequest(t *testing.T) {
	for _, tc := range []struct {
		name      string
		params    string
		direction string
		group     string
		rules     []string
	}{
		{
			name:      "ip permissions with every kind of source",
			direction: "inbound",
			params: `{"groupId":"sg-1","ipPermissions":{"items":[
				{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]},"groups":{},"prefixListIds":{}},
				{"ipProtocol":"tcp","fromPort":"8080","toPort":"8081","groups":{"items":[{"groupId":"sg-2","userId":"444455556666"}]},"prefixListIds":{"items":[{"prefixListId":"pl-1"}]}}]}}`,
			group: "sg-1",
			rules: []string{
				"tcp port 22 from 0.0.0.0/0, ::/0",
				"tcp ports 8080-8081 from security group sg-2 of account 444455556666, pl-1",
			},
		},
		{
			name:      "single rule at the top level, as the CLI sends it",
			direction: "inbound",
			params:    `{"groupId":"sg-1","ipPermissions":{},"ipProtocol":"tcp","fromPort":5432,"toPort":5432,"cidrIp":"0.0.0.0/0"}`,
			group:     "sg-1",
			rules:     []string{"tcp port 5432 from 0.0.0.0/0"},
		},
		{
			name:      "outbound, one permission as an object",
			direction: "outbound",
			params:    `{"groupId":"sg-1","ipPermissions":{"items":{"ipProtocol":"-1","ipRanges":{"items":{"cidrIp":"0.0.0.0/0"}}}}}`,
			group:     "sg-1",
			rules:     []string{"all traffic to 0.0.0.0/0"},
		},
		{
			name: "ModifySecurityGroupRules, one rule",
			params: `{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-9","SecurityGroupRule":{"SecurityGroupRuleId":"sgr-1",
				"SecurityGroupRule":{"IpProtocol":"tcp","FromPort":3389,"ToPort":3389,"CidrIpv4":"0.0.0.0/0"},"tag":1}}}`,
			group: "sg-9",
			rules: []string{"tcp port 3389 from 0.0.0.0/0"},
		},
		{
			name: "ModifySecurityGroupRules, several rules",
			params: `{"ModifySecurityGroupRulesRequest":{"GroupId":"sg-9","SecurityGroupRule":[
				{"SecurityGroupRuleId":"sgr-1","SecurityGroupRule":{"IpProtocol":"-1","CidrIpv6":"::/0"},"tag":1},
				{"SecurityGroupRuleId":"sgr-2","SecurityGroupRule":{"IpProtocol":"udp","FromPort":53,"ToPort":53,"ReferencedGroupId":"sg-3"},"tag":2}]}}`,
			group: "sg-9",
			rules: []string{"all traffic from ::/0", "udp port 53 from security group sg-3"},
		},
		{
			name:   "ModifySecurityGroupRules in lower camel case",
			params: `{"groupId":"sg-9","securityGroupRuleSet":{"items":[{"securityGroupRuleId":"sgr-1","securityGroupRule":{"ipProtocol":"tcp","fromPort":22,"toPort":22,"cidrIpv4":"198.51.100.0/24"}}]}}`,
			group:  "sg-9",
			rules:  []string{"tcp port 22 from 198.51.100.0/24"},
		},
		{name: "wrong types everywhere", params: `{"groupId":7,"ipPermissions":{"items":[1,"x",null,[]]},"ModifySecurityGroupRulesRequest":"x"}`, group: "7"},
		{name: "not an object", params: `["sg-1"]`},
		{name: "absent", params: ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			group, rules := parseSGRequest(json.RawMessage(tc.params), tc.direction)
			var got []string
			for _, r := range rules {
				got = append(got, r.String())
			}
			if group != tc.group || !slices.Equal(got, tc.rules) {
				t.Errorf("parseSGRequest = %q, %q; want %q, %q", group, got, tc.group, tc.rules)
			}
		})
	}
}

func TestSGRuleSeverity(t *testing.T) {
	world := []string{"0.0.0.0/0"}
	for _, tc := range []struct {
		name string
		rule sgRule
		want Severity
	}{
		{"inbound ssh from everywhere", sgRule{Direction: "inbound", Protocol: "tcp", Ports: netPorts{22, 22}, Sources: world}, SeverityCritical},
		{"inbound all from everywhere", sgRule{Direction: "inbound", Protocol: "all", Sources: world}, SeverityCritical},
		{"direction unknown, all from everywhere", sgRule{Protocol: "all", Sources: world}, SeverityHigh},
		{"direction unknown, rdp from everywhere", sgRule{Protocol: "tcp", Ports: netPorts{3389, 3389}, Sources: world}, SeverityCritical},
		{"inbound mysql from everywhere", sgRule{Direction: "inbound", Protocol: "tcp", Ports: netPorts{3306, 3306}, Sources: world}, SeverityHigh},
		{"inbound https from everywhere", sgRule{Direction: "inbound", Protocol: "tcp", Ports: netPorts{443, 443}, Sources: world}, SeverityMedium},
		{"inbound ping from everywhere", sgRule{Direction: "inbound", Protocol: "icmp", Sources: world}, SeverityMedium},
		{"inbound ssh from an office", sgRule{Direction: "inbound", Protocol: "tcp", Ports: netPorts{22, 22}, Sources: []string{"203.0.113.0/24"}}, SeverityLow},
		{"outbound all to everywhere", sgRule{Direction: "outbound", Protocol: "all", Sources: world}, SeverityLow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sgRuleSeverity(tc.rule); got != tc.want {
				t.Errorf("sgRuleSeverity = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseNACLEntry(t *testing.T) {
	for _, tc := range []struct {
		params string
		want   string
		out    bool
	}{
		{`{"networkAclId":"acl-1","ruleNumber":90,"egress":false,"ruleAction":"allow","aclProtocol":"-1","cidrBlock":"0.0.0.0/0","portRange":{}}`,
			"allow all traffic from 0.0.0.0/0", false},
		{`{"ruleNumber":"100","egress":"true","ruleAction":"deny","aclProtocol":"6","ipv6CidrBlock":"::/0","portRange":{"from":"22","to":"22"}}`,
			"deny tcp port 22 to ::/0", true},
		{`{"ruleAction":"ALLOW","protocol":"17","cidrBlock":"10.0.0.0/8","portRange":{"from":53}}`,
			"allow udp port 53 from 10.0.0.0/8", false},
		{`{"ruleAction":"allow","aclProtocol":"47","cidrBlock":"0.0.0.0/0"}`,
			"allow protocol 47 (all ports) from 0.0.0.0/0", false},
		{`"nonsense"`, "deny all traffic from no CIDR recorded", false},
	} {
		t.Run(tc.params, func(t *testing.T) {
			r := parseNACLEntry(json.RawMessage(tc.params))
			if got := r.String(); got != tc.want || r.Outbound != tc.out {
				t.Errorf("parseNACLEntry = %q (outbound %t), want %q (outbound %t)", got, r.Outbound, tc.want, tc.out)
			}
		})
	}
}

func TestUnusualInstanceType(t *testing.T) {
	for _, tc := range []struct {
		typ     string
		unusual bool
	}{
		{"p4d.24xlarge", true},
		{"p5en.48xlarge", true},
		{"p6-b200.48xlarge", true},
		{"p3.2xlarge", true},
		{"g4dn.xlarge", true},
		{"g5g.xlarge", true},
		{"g6e.2xlarge", true},
		{"gr6.4xlarge", true},
		{"inf2.xlarge", true},
		{"trn1n.32xlarge", true},
		{"dl2q.24xlarge", true},
		{"vt1.3xlarge", true},
		{"f2.12xlarge", true},
		{"F1.2XLARGE", true},
		{"c6i.metal", true},
		{"m7i.metal-48xl", true},
		{"m5.24xlarge", true},
		{"r6i.32xlarge", true},
		{"x2iedn.32xlarge", true},
		{"m5.16xlarge", false},
		{"c7i.2xlarge", false},
		{"t3.micro", false},
		{"g2.2xlarge", false},
		{"p1.xlarge", false},
		{"m7g.medium", false},
		{"gp3", false},
		{"", false},
		{".metal", true},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			if got := unusualInstanceType(tc.typ); (got != "") != tc.unusual {
				t.Errorf("unusualInstanceType = %q, want unusual %t", got, tc.unusual)
			}
		})
	}
	for _, tc := range []struct {
		typ      string
		patterns []string
		want     bool
	}{
		{"g5.xlarge", []string{"g5.*"}, true},
		{"G5.XLARGE", []string{"g5.*"}, true},
		{"g5.xlarge", []string{"g5.2xlarge", "p4d.*"}, false},
		{"p4d.24xlarge", []string{" p4d.24xlarge "}, true},
		{"p4d.24xlarge", []string{"[", "*"}, true},
		{"p4d.24xlarge", nil, false},
	} {
		if got := allowedInstanceType(tc.typ, tc.patterns); got != tc.want {
			t.Errorf("allowedInstanceType(%q, %q) = %t, want %t", tc.typ, tc.patterns, got, tc.want)
		}
	}
}

func TestParseEC2Launch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params string
		resp   string
		types  []string
		count  string
	}{
		{"request type, one instance", `{"instanceType":"t3.micro","instancesSet":{"items":[{"imageId":"ami-1","minCount":1,"maxCount":1}]}}`, `null`, []string{"t3.micro"}, "1 instance"},
		{"range requested, none launched", `{"instanceType":{"value":"g5.12xlarge"},"instancesSet":{"items":[{"minCount":"1","maxCount":"8"}]}}`, `null`, []string{"g5.12xlarge"}, "1-8 instances"},
		{"launch template, type from the response", `{"launchTemplate":{"launchTemplateId":"lt-1"},"instancesSet":{"items":[{"minCount":2,"maxCount":2}]}}`,
			`{"instancesSet":{"items":[{"instanceId":"i-1","instanceType":"c6i.metal"},{"instanceId":"i-2","instanceType":"c6i.metal"}]}}`, []string{"c6i.metal"}, "2 instances"},
		{"top-level counts", `{"instanceType":"m5.large","minCount":3,"maxCount":3}`, `null`, []string{"m5.large"}, "3 instances"},
		{"nothing usable", `{"instanceType":["x"],"instancesSet":"x"}`, `"x"`, nil, "instances"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := parseEC2Launch(&cloudtrail.Record{RequestParameters: json.RawMessage(tc.params), ResponseElements: json.RawMessage(tc.resp)})
			if !slices.Equal(l.Types, tc.types) || l.count() != tc.count {
				t.Errorf("parseEC2Launch = types %q, count %q; want %q, %q", l.Types, l.count(), tc.types, tc.count)
			}
		})
	}
}

// TestUnusualInstancesFollowEnv checks the deployment settings the fixtures
// cannot vary: allowed instance types silence the type check, and an empty
// region list turns the region check off.
func TestUnusualInstancesFollowEnv(t *testing.T) {
	gpu := networkFixture(t, "ec2/ec2-instance-unusual-gpu-fleet.json")
	region := networkFixture(t, "ec2/ec2-instance-unusual-unused-region.json")
	for _, tc := range []struct {
		name string
		ev   *event.Event
		env  Env
		want bool
	}{
		{"gpu, no settings", gpu, Env{}, true},
		{"gpu, family allowed", gpu, Env{AllowedInstanceTypes: []string{"p4d.*"}}, false},
		{"gpu, other family allowed", gpu, Env{AllowedInstanceTypes: []string{"g5.*"}}, true},
		{"gpu allowed but region not", gpu, Env{AllowedInstanceTypes: []string{"p4d.*"}, AllowedRegions: []string{"eu-west-1"}}, true},
		{"small type in sa-east-1, no region list", region, Env{}, false},
		{"small type in sa-east-1, region allowed", region, Env{AllowedRegions: []string{"sa-east-1"}}, false},
		{"small type in sa-east-1, other regions", region, Env{AllowedRegions: []string{"us-east-1"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := evaluateUnusualInstances(tc.ev, &tc.env); got != tc.want {
				t.Errorf("fired = %t, want %t", got, tc.want)
			}
		})
	}
}

func networkFixture(t *testing.T, name string) *event.Event {
	t.Helper()
	ev, err := event.Decode(fixture.Read(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// networkDetectionIDs are the detections this file's helpers serve.
var networkDetectionIDs = []string{
	"security-group-changed", "network-acl-changed", "network-gateway-changed", "route-table-changed", "vpc-changed",
	"ec2-user-data-modified", "ec2-instance-unusual", "ec2-password-data-retrieved", "ec2-user-data-read",
}

// networkOddParameters are request and response shapes the decisions must survive.
var networkOddParameters = []string{
	``, `null`, `"x"`, `42`, `[]`, `[{"groupId":"sg-1"}]`, `{}`,
	`{"groupId":{"deep":{"er":[1,2]}},"ipPermissions":{"items":[null,1,"x",{"ipProtocol":[],"fromPort":{},"ipRanges":"x"}]}}`,
	`{"ModifySecurityGroupRulesRequest":{"SecurityGroupRule":[null,{"SecurityGroupRule":"x"}]}}`,
	`{"instancesSet":{"items":[{"minCount":"many","maxCount":-5}]},"instanceType":{"value":{"value":"p4d.24xlarge"}}}`,
	`{"portRange":{"from":"a","to":[]},"egress":"perhaps","ruleNumber":{},"cidrBlock":7}`,
	`{"vpcPeeringConnection":{"requesterVpcInfo":"x"},"networkAcl":[],"routeTable":7,"vpc":null}`,
	`{"userData":{"value":null},"attribute":["userData"],"instanceId":{"value":"i-1"}}`,
}

// TestNetworkDetectionsSurviveOddInput runs every decision of the group on
// each of its event names with malformed parameters, as a denied and as a
// successful call: none may panic, and denied calls must stay low.
func TestNetworkDetectionsSurviveOddInput(t *testing.T) {
	env := &Env{AllowedRegions: []string{"us-east-1"}, AllowedInstanceTypes: []string{"["}}
	found := 0
	for _, d := range builtin {
		if !slices.Contains(networkDetectionIDs, d.ID) {
			continue
		}
		found++
		names, _ := d.Pattern.Detail["eventName"].([]string)
		if len(names) == 0 {
			t.Fatalf("%s: no event names in its pattern", d.ID)
		}
		for _, name := range names {
			for _, params := range networkOddParameters {
				for _, errorCode := range []string{"", "Client.UnauthorizedOperation", "Client.DryRunOperation"} {
					rec := &cloudtrail.Record{
						EventName: name, EventSource: networkEventSource, AWSRegion: "ap-south-2", EventTime: time.Unix(0, 0),
						ErrorCode: errorCode, RequestParameters: json.RawMessage(params), ResponseElements: json.RawMessage(params),
					}
					f, ok := networkEvaluateGuarded(t, d, &event.Event{CloudTrail: rec}, env)
					if !ok {
						continue
					}
					if f.Headline == "" || f.Resource.Type == "" || !f.Severity.Valid() {
						t.Errorf("%s on %s %s: incomplete finding %+v", d.ID, name, params, f)
					}
					if errorCode != "" && (!f.Attempt || f.Severity > SeverityLow) {
						t.Errorf("%s on denied %s %s: got %s attempt=%t, want a low attempt", d.ID, name, params, f.Severity, f.Attempt)
					}
					if strings.Contains(errorCode, "DryRun") {
						t.Errorf("%s reported a dry run of %s", d.ID, name)
					}
				}
			}
		}
		if _, ok := d.Evaluate(&event.Event{}, env); ok {
			t.Errorf("%s fired on an event without a CloudTrail record", d.ID)
		}
	}
	if found != len(networkDetectionIDs) {
		t.Errorf("found %d of the %d detections of the group", found, len(networkDetectionIDs))
	}
}

func networkEvaluateGuarded(t *testing.T, d *Detection, ev *event.Event, env *Env) (f Finding, ok bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked on %s %s: %v", d.ID, ev.CloudTrail.EventName, ev.CloudTrail.RequestParameters, r)
		}
	}()
	return d.Evaluate(ev, env)
}

// FuzzNetworkParsers feeds the request parsers arbitrary JSON.
func FuzzNetworkParsers(f *testing.F) {
	for _, p := range networkOddParameters {
		f.Add([]byte(p))
	}
	f.Add([]byte(`{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, rules := parseSGRequest(raw, "inbound")
		for _, r := range rules {
			_ = sgRuleSeverity(r)
			_ = r.String()
		}
		_ = parseNACLEntry(raw).String()
		l := parseEC2Launch(&cloudtrail.Record{RequestParameters: raw, ResponseElements: raw})
		_ = l.count()
	})
}

func BenchmarkSecurityGroupDecision(b *testing.B) {
	ev, err := event.Decode(fixture.Read(b, "ec2/security-group-changed-office-cidr.json"))
	if err != nil {
		b.Fatal(err)
	}
	env := &Env{}
	for b.Loop() {
		if _, ok := evaluateSecurityGroup(ev, env); !ok {
			b.Fatal("no finding")
		}
	}
}
