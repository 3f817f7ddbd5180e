package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/guardduty"
)

func init() {
	register(&Detection{
		ID:    "guardduty-crypto-mining",
		Title: "GuardDuty found crypto-currency mining",
		Description: "GuardDuty reported a crypto-currency finding: an instance (or container or function) talks to " +
			"mining pools or bitcoin domains (CryptoCurrency:EC2/BitcoinTool.B, CryptoCurrency:EC2/BitcoinTool.B!DNS, " +
			"Impact:EC2/BitcoinDomainRequest.Reputation, CryptoCurrency:Runtime/BitcoinTool.B, " +
			"Impact:Runtime/CryptoMinerExecuted, ...). Severity follows GuardDuty's own (9.0-10.0 critical, " +
			"7.0-8.9 high, 4.0-6.9 medium, below 4 low) but is at least trailwatch:miningMinSeverity (default high): " +
			"an instance that talks to a mining pool is compromised or misused whatever score GuardDuty gave it, and the " +
			"alert says when it raised the severity. Archived findings (suppressed by a GuardDuty rule) are not reported.",
		Severity: SeverityHigh,
		Pattern: Pattern{
			Source:     []any{guardduty.Source},
			DetailType: []string{guardduty.DetailType},
			Detail: map[string]any{
				"type": []any{
					map[string]any{"prefix": "CryptoCurrency:"},
					map[string]any{"wildcard": "Impact:*Bitcoin*"},
					map[string]any{"wildcard": "Impact:*CryptoMiner*"},
				},
			},
		},
		Function: FunctionInstance,
		Evaluate: evaluateGuardDutyMining,
		MITRE:    []string{"T1496.001"},
		Runbook: "Isolate the instance (replace its security groups with one that allows no traffic), snapshot its " +
			"volumes for forensics, find the miner (processes, cron, systemd units, container images) and how it got " +
			"there (who launched the instance, exposed services, leaked keys), then stop or replace the instance and " +
			"rotate its instance profile's credentials. Archive the finding only after that.",
		References: []string{
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-ec2.html#cryptocurrency-ec2-bitcointoolbdns",
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-cloudwatch.html",
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-severity.html",
		},
		FalsePositives: []string{
			"Instances that mine on purpose, or that run blockchain nodes: archive the finding type for them with a GuardDuty suppression rule.",
		},
		Tests: Tests{
			Positive: []Example{
				{"guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json", SeverityHigh},
				{"guardduty/guardduty-crypto-mining-bitcoin-tool-connection.json", SeverityHigh},
				// GuardDuty scores it 5 (medium); mining findings are at
				// least high by default.
				{"guardduty/guardduty-crypto-mining-bitcoin-domain-reputation.json", SeverityHigh},
				{"guardduty/guardduty-crypto-mining-runtime-miner-executed.json", SeverityCritical},
			},
			Negative: []string{
				"guardduty/guardduty-crypto-mining-port-probe.json",
				"guardduty/guardduty-crypto-mining-archived.json",
			},
		},
	})
}

// MiningMinSeverityKey is the setting that raises mining findings
// (config.KeyMiningMinSeverity; config imports this package, so the name is
// repeated here for the severity note and kept equal by a config test).
const MiningMinSeverityKey = "trailwatch:miningMinSeverity"

func evaluateGuardDutyMining(ev *event.Event, env *Env) (Finding, bool) {
	g := ev.GuardDuty
	if g == nil || !guardduty.IsMining(g.Type) || g.Service.Archived {
		return Finding{}, false
	}
	f := Finding{Severity: guardDutySeverity(g.Severity)}
	if floor := env.MiningFloor(); f.Severity < floor {
		f.SeverityNote = "raised from " + f.Severity.String() + ": crypto-mining findings are at least " + floor.String() +
			" (" + MiningMinSeverityKey + ")"
		f.Severity = floor
	}
	region := g.Region
	if region == "" {
		region = ev.Envelope.Region
	}
	account := g.AccountID
	if account == "" {
		account = ev.Envelope.Account
	}
	if id := g.InstanceID(); id != "" {
		f.Resource = Resource{Type: "EC2 instance", Name: id, ARN: partitionARN(region, "ec2", region, account, "instance/"+id), Region: region}
		f.Headline = fmt.Sprintf("GuardDuty %s on instance %s", g.Type, id)
	} else {
		f.Resource = Resource{Type: g.Resource.ResourceType, Region: region}
		f.Headline = "GuardDuty " + g.Type
	}
	// What the instance did, when and how often, and GuardDuty's own score
	// are the alert's GuardDuty facts (enrich); the finding keeps
	// GuardDuty's words.
	if text := firstNonEmpty(g.Description, g.Title); text != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "GuardDuty's description", Text: text})
	}
	return f, true
}

// guardDutySeverity maps GuardDuty's numeric severity to trailwatch's.
func guardDutySeverity(n float64) Severity {
	switch guardduty.Level(n) {
	case "Critical":
		return SeverityCritical
	case "High":
		return SeverityHigh
	case "Medium":
		return SeverityMedium
	}
	return SeverityLow
}
