package detect_test

import (
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// TestMiningMinSeverity: mining findings are at least the configured
// severity (high when not configured), and a raised finding says why.
func TestMiningMinSeverity(t *testing.T) {
	const (
		reputation = "guardduty/guardduty-crypto-mining-bitcoin-domain-reputation.json" // GuardDuty: 5, medium
		dns        = "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json"          // 8, high
		runtime    = "guardduty/guardduty-crypto-mining-runtime-miner-executed.json"    // 9.2, critical
	)
	for _, tt := range []struct {
		name    string
		floor   detect.Severity
		fixture string
		want    detect.Severity
		note    string
	}{
		{"default raises medium to high", 0, reputation, detect.SeverityHigh,
			"raised from medium: crypto-mining findings are at least high (trailwatch:miningMinSeverity)"},
		{"default keeps high", 0, dns, detect.SeverityHigh, ""},
		{"default keeps critical", 0, runtime, detect.SeverityCritical, ""},
		{"info follows GuardDuty", detect.SeverityInfo, reputation, detect.SeverityMedium, ""},
		{"medium follows GuardDuty here", detect.SeverityMedium, reputation, detect.SeverityMedium, ""},
		{"critical raises high", detect.SeverityCritical, dns, detect.SeverityCritical,
			"raised from high: crypto-mining findings are at least critical (trailwatch:miningMinSeverity)"},
		{"critical raises medium", detect.SeverityCritical, reputation, detect.SeverityCritical,
			"raised from medium: crypto-mining findings are at least critical (trailwatch:miningMinSeverity)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := detect.Builtin()
			if err != nil {
				t.Fatal(err)
			}
			c, err = c.WithEnv(detect.Env{MiningMinSeverity: tt.floor})
			if err != nil {
				t.Fatal(err)
			}
			findings, err := c.Evaluate(decodeFixture(t, tt.fixture))
			if err != nil || len(findings) != 1 {
				t.Fatalf("findings = %+v, %v; want the mining finding", findings, err)
			}
			f := findings[0]
			if f.Severity != tt.want || f.SeverityNote != tt.note {
				t.Errorf("got %s %q, want %s %q", f.Severity, f.SeverityNote, tt.want, tt.note)
			}
		})
	}
}

// TestCPUAlarmSeverityIgnoresMiningFloor: a CPU plateau is a sign of
// mining, not a finding of it; the mining floor does not apply.
func TestCPUAlarmSeverityIgnoresMiningFloor(t *testing.T) {
	c, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	c, err = c.WithEnv(detect.Env{MiningMinSeverity: detect.SeverityCritical})
	if err != nil {
		t.Fatal(err)
	}
	findings, err := c.Evaluate(decodeFixture(t, "cloudwatch/ec2-cpu-spike-single-metric-alarm.json"))
	if err != nil || len(findings) != 1 || findings[0].Severity != detect.SeverityHigh || findings[0].SeverityNote != "" {
		t.Errorf("findings = %+v, %v; want the CPU alarm at high, unraised", findings, err)
	}
}
