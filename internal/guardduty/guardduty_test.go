package guardduty_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/guardduty"
	"github.com/trailwatch/trailwatch/internal/jsonscan/jsonscantest"
)

func TestDecodeFinding(t *testing.T) {
	f, err := guardduty.Decode(fixture.Detail(t, "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := f.Resource.InstanceDetails
	if f.Type != "CryptoCurrency:EC2/BitcoinTool.B!DNS" || f.Severity != 8 || f.InstanceID() != "i-0a1b2c3d4e5f60718" ||
		d.InstanceType != "c5.4xlarge" || len(d.Tags) != 2 || f.Service.Action.DNSRequestAction.Domain != "pool.minexmr.example" ||
		f.Service.Count != 14 || f.UpdatedAt.IsZero() {
		t.Errorf("decoded %+v", f)
	}
	n := d.NetworkInterfaces[0]
	if n.PrivateIPAddress != "10.20.3.41" || n.VPCID != "vpc-0a1b2c3d4e5f6a7b8" || n.SubnetID != "subnet-0b1c2d3e4f5a6b7c8" ||
		len(n.SecurityGroups) != 1 || n.SecurityGroups[0] != (guardduty.SecurityGroup{GroupID: "sg-0c1d2e3f4a5b6c7d8", GroupName: "web-open"}) {
		t.Errorf("network interface = %+v", n)
	}
	if got := f.Service.FirstSeen().Format(time.RFC3339); got != "2026-11-20T02:58:40Z" {
		t.Errorf("FirstSeen = %s", got)
	}
	if got := f.Service.LastSeen().Format(time.RFC3339); got != "2026-11-20T03:12:18Z" {
		t.Errorf("LastSeen = %s", got)
	}
}

// TestDecodeConnection reads a mining pool connection: the remote end, its
// network and country, the ports, and whether it was blocked.
func TestDecodeConnection(t *testing.T) {
	f, err := guardduty.Decode(fixture.Detail(t, "guardduty/guardduty-crypto-mining-bitcoin-tool-connection.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := f.Service.Action.NetworkConnectionAction
	if f.Service.Action.ActionType != "NETWORK_CONNECTION" || n == nil {
		t.Fatalf("action = %+v", f.Service.Action)
	}
	r := n.RemoteIPDetails
	checks := []struct{ what, got, want string }{
		{"direction", n.ConnectionDirection, "OUTBOUND"},
		{"protocol", n.Protocol, "TCP"},
		{"remote IP", r.IP(), "198.51.100.94"},
		{"ASN", r.Organization.Asn, "64501"},
		{"ASN org", r.Organization.AsnOrg, "Example Hosting BV"},
		{"country", r.Country.CountryName + " " + r.Country.CountryCode, "Netherlands NL"},
		{"city", r.City.CityName, "Amsterdam"},
		{"local IP", n.LocalIPDetails.IPAddressV4, "10.20.7.19"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if n.RemotePortDetails.Port != 3333 || n.LocalPortDetails.Port != 41872 || n.Blocked {
		t.Errorf("ports %d -> %d, blocked %t", n.LocalPortDetails.Port, n.RemotePortDetails.Port, n.Blocked)
	}
	if sg := f.Resource.InstanceDetails.NetworkInterfaces[0].SecurityGroups; len(sg) != 2 || sg[1].GroupName != "egress-any" {
		t.Errorf("security groups = %+v", sg)
	}
	if (guardduty.RemoteIPDetails{IPAddressV6: "2001:db8::7"}).IP() != "2001:db8::7" {
		t.Error("IP() ignores an IPv6-only remote")
	}
}

func TestDecodeRuntimeProcess(t *testing.T) {
	f, err := guardduty.Decode(fixture.Detail(t, "guardduty/guardduty-crypto-mining-runtime-miner-executed.json"))
	if err != nil {
		t.Fatal(err)
	}
	rd := f.Service.RuntimeDetails
	if rd == nil || rd.Process == nil || rd.Process.Name != "xmrig" || rd.Process.ExecutablePath != "/tmp/.cache/xmrig" || rd.Process.Pid != 7311 {
		t.Errorf("runtime details = %+v", rd)
	}
}

// TestSeenTimes: GuardDuty writes milliseconds; a missing or malformed time
// is zero, never an error that would lose the finding.
func TestSeenTimes(t *testing.T) {
	for in, want := range map[string]string{
		"2026-11-20T02:58:40.000Z":  "2026-11-20T02:58:40Z",
		"2026-11-20T02:58:40Z":      "2026-11-20T02:58:40Z",
		"2026-11-20T03:58:40+01:00": "2026-11-20T02:58:40Z",
		"":                          "0001-01-01T00:00:00Z",
		"yesterday":                 "0001-01-01T00:00:00Z",
	} {
		if got := (guardduty.Service{EventFirstSeen: in}).FirstSeen().Format(time.RFC3339); got != want {
			t.Errorf("FirstSeen(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestLevelAndMining(t *testing.T) {
	for _, tt := range []struct {
		severity float64
		level    string
	}{{0.5, "Low"}, {3.9, "Low"}, {4, "Medium"}, {6.9, "Medium"}, {7, "High"}, {8.9, "High"}, {9, "Critical"}, {10, "Critical"}} {
		if got := guardduty.Level(tt.severity); got != tt.level {
			t.Errorf("Level(%v) = %s, want %s", tt.severity, got, tt.level)
		}
	}
	for typ, want := range map[string]bool{
		"CryptoCurrency:EC2/BitcoinTool.B!DNS":       true,
		"CryptoCurrency:Runtime/BitcoinTool.B":       true,
		"Impact:EC2/BitcoinDomainRequest.Reputation": true,
		"Impact:Runtime/CryptoMinerExecuted":         true,
		"Impact:EC2/PortSweep":                       false,
		"Recon:EC2/PortProbeUnprotectedPort":         false,
		"UnauthorizedAccess:EC2/BitcoinTool":         false,
	} {
		if got := guardduty.IsMining(typ); got != want {
			t.Errorf("IsMining(%q) = %t, want %t", typ, got, want)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"empty", ` `, "empty"},
		{"no type", `{"id":"x"}`, "no type"},
		{"severity as text", `{"type":"CryptoCurrency:EC2/BitcoinTool.B","severity":"high"}`, `field "severity"`},
	} {
		if _, err := guardduty.Decode([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want one naming %q", tt.name, err, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(fixture.Detail(f, "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json"))
	f.Add(fixture.Detail(f, "guardduty/guardduty-crypto-mining-bitcoin-tool-connection.json"))
	f.Add(fixture.Detail(f, "guardduty/guardduty-crypto-mining-runtime-miner-executed.json"))
	f.Add([]byte(`{"type":"x","service":{"action":{"networkConnectionAction":{"remoteIpDetails":{"ipAddressV6":"::1","country":null},"remotePortDetails":{"port":"3333"}}}}}`))
	f.Add([]byte(`{"type":"x","service":{"runtimeDetails":{"process":{"name":"\u0000","pid":1.5}},"eventFirstSeen":7}}`))
	f.Add([]byte(`{"type":"Impact:x","resource":{"instanceDetails":null},"service":{"action":{"networkConnectionAction":{}}}}`))
	f.Add([]byte(`{"type":"x","severity":8.5,"createdAt":"2026-11-20T03:12:44.123Z","resource":{"instanceDetails":{"tags":[{"key":"Name","value":"v"}],"networkInterfaces":[{"securityGroups":[{}]}]}},"service":{"count":2.5}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		jsonscantest.Agree[guardduty.Finding](t, b)
		g, err := guardduty.Decode(b)
		if err != nil {
			return
		}
		_ = g.InstanceID()
		_ = guardduty.Level(g.Severity)
		_ = guardduty.IsMining(g.Type)
		_, _ = g.Service.FirstSeen(), g.Service.LastSeen()
		if n := g.Service.Action.NetworkConnectionAction; n != nil {
			_ = n.RemoteIPDetails.IP()
		}
	})
}

// TestDecodeAPICall reads an IAM finding about an instance's credentials:
// the access key, the call, the caller's address and account.
func TestDecodeAPICall(t *testing.T) {
	f, err := guardduty.Decode(fixture.Detail(t, "guardduty/guardduty-instance-credential-exfiltration-inside-aws.json"))
	if err != nil {
		t.Fatal(err)
	}
	k := f.Resource.AccessKeyDetails
	if k == nil || *k != (guardduty.AccessKeyDetails{AccessKeyID: "ASIAYEXAMPLEBUILD01", PrincipalID: "AROAYEXAMPLEBUILD01:i-0f1e2d3c4b5a69788",
		UserName: "build-runner", UserType: "AssumedRole"}) {
		t.Errorf("accessKeyDetails = %+v", k)
	}
	c := f.Service.Action.AWSAPICallAction
	if c == nil || c.API != "GetSecretValue" || c.ServiceName != "secretsmanager.amazonaws.com" || c.CallerType != "Remote account" ||
		c.RemoteIPDetails.IP() != "18.208.91.3" || c.RemoteAccountDetails == nil ||
		*c.RemoteAccountDetails != (guardduty.RemoteAccountDetails{AccountID: "444455556666", Affiliated: false}) {
		t.Errorf("awsApiCallAction = %+v", c)
	}
	if !guardduty.IsInstanceCredentialExfiltration(f.Type) || f.InstanceID() != "" || f.SessionInstanceID() != "i-0f1e2d3c4b5a69788" {
		t.Errorf("type %q, InstanceID %q, SessionInstanceID %q", f.Type, f.InstanceID(), f.SessionInstanceID())
	}
}

func TestSessionInstanceID(t *testing.T) {
	for _, tt := range []struct {
		key  *guardduty.AccessKeyDetails
		want string
	}{
		{&guardduty.AccessKeyDetails{PrincipalID: "AROAYEXAMPLE:i-0c3e7a1d9b5f24e68", UserType: "AssumedRole"}, "i-0c3e7a1d9b5f24e68"},
		{&guardduty.AccessKeyDetails{PrincipalID: "AROAYEXAMPLE:i-0c3e7a1d", UserType: "AssumedRole"}, "i-0c3e7a1d"},
		{&guardduty.AccessKeyDetails{PrincipalID: "AROAYEXAMPLE:dana", UserType: "AssumedRole"}, ""},
		{&guardduty.AccessKeyDetails{PrincipalID: "AROAYEXAMPLE:i-0c3e7a1d9b5f24e68/x", UserType: "AssumedRole"}, ""},
		{&guardduty.AccessKeyDetails{PrincipalID: "AIDAYEXAMPLE", UserType: "IAMUser"}, ""},
		{&guardduty.AccessKeyDetails{PrincipalID: "AROAYEXAMPLE:i-0c3e7a1d9b5f24e68", UserType: "IAMUser"}, ""},
		{nil, ""},
	} {
		f := &guardduty.Finding{Resource: guardduty.Resource{AccessKeyDetails: tt.key}}
		if got := f.SessionInstanceID(); got != tt.want {
			t.Errorf("SessionInstanceID(%+v) = %q, want %q", tt.key, got, tt.want)
		}
	}
	for typ, want := range map[string]bool{
		"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS": true,
		"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS":  true,
		"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration":            true,
		"UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom":                  false,
	} {
		if got := guardduty.IsInstanceCredentialExfiltration(typ); got != want {
			t.Errorf("IsInstanceCredentialExfiltration(%q) = %v", typ, got)
		}
	}
}
