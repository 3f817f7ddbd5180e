package guardduty_test

import (
	"strings"
	"testing"

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
	})
}
