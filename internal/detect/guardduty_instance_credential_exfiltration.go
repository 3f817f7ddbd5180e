package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/guardduty"
)

func init() {
	register(&Detection{
		ID:    "guardduty-instance-credential-exfiltration",
		Title: "GuardDuty found EC2 instance credentials used elsewhere",
		Description: "GuardDuty reported that the temporary credentials of an EC2 instance's role were used away from " +
			"the instance: from an address outside AWS (UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS) " +
			"or from another AWS account (.InsideAWS), which trailwatch's own instance-credentials-outside-aws cannot see, " +
			"the caller's address being in AWS's ranges. Severity follows GuardDuty's (9.0-10.0 critical, 7.0-8.9 high) but " +
			"is at least high: stolen role credentials work until they expire or are revoked, whatever GuardDuty scored " +
			"them, and the alert says when it raised the severity. The instance is named from the session (the role " +
			"session EC2 names after the instance) and described by the instance function. Archived findings " +
			"(suppressed by a GuardDuty rule) are not reported.",
		Severity: SeverityHigh,
		Pattern: Pattern{
			Source:     []any{guardduty.Source},
			DetailType: []string{guardduty.DetailType},
			Detail: map[string]any{
				"type": []any{map[string]any{"prefix": guardduty.InstanceCredentialExfiltration}},
			},
		},
		Function: FunctionInstance,
		Evaluate: evaluateGuardDutyInstanceCredentials,
		MITRE:    []string{"T1552.005", "T1078.004"},
		Runbook: "Treat the role's credentials as stolen: revoke the role's active sessions (IAM console: Roles > ROLE > " +
			"Revoke active sessions), then list what the access key did (aws cloudtrail lookup-events --lookup-attributes " +
			"AttributeKey=AccessKeyId,AttributeValue=ACCESS_KEY_ID). Find how the credentials left the instance: require " +
			"IMDSv2 (aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID --http-tokens required " +
			"--http-put-response-hop-limit 1), look for SSRF in what it serves and for credential files on disk, and " +
			"isolate or replace the instance if it is compromised. For InsideAWS, find who owns the calling account. " +
			"Add a deny unless aws:ec2InstanceSourceVPC equals aws:SourceVpc to the role's policies so copied " +
			"credentials stop working elsewhere. Expected egress through an on-premises gateway or VPN belongs in a " +
			"GuardDuty suppression rule on the API caller's address or ASN; archive the finding only after that.",
		References: []string{
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html#unauthorizedaccess-iam-instancecredentialexfiltrationoutsideaws",
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html#unauthorizedaccess-iam-instancecredentialexfiltrationinsideaws",
			"https://docs.aws.amazon.com/guardduty/latest/ug/compromised-creds.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html",
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-severity.html",
		},
		FalsePositives: []string{
			"Instances whose internet traffic leaves through an on-premises gateway (Direct Connect, VPN, Outposts): " +
				"suppress the finding type for that address or ASN in GuardDuty.",
			"Tools that copy instance credentials on purpose to another account's workload.",
		},
		Tests: Tests{
			Positive: []Example{
				{"guardduty/guardduty-instance-credential-exfiltration-outside-aws.json", SeverityHigh},
				{"guardduty/guardduty-instance-credential-exfiltration-inside-aws.json", SeverityHigh},
			},
			Negative: []string{
				"guardduty/guardduty-instance-credential-exfiltration-archived.json",
				"guardduty/guardduty-instance-credential-exfiltration-malicious-ip-caller.json",
				"guardduty/guardduty-crypto-mining-bitcoin-tool-connection.json",
			},
		},
	})
}

func evaluateGuardDutyInstanceCredentials(ev *event.Event, _ *Env) (Finding, bool) {
	g := ev.GuardDuty
	if g == nil || !guardduty.IsInstanceCredentialExfiltration(g.Type) || g.Service.Archived {
		return Finding{}, false
	}
	f := Finding{Severity: guardDutySeverity(g.Severity)}
	if f.Severity < SeverityHigh {
		f.SeverityNote = "raised from " + f.Severity.String() + ": instance credentials used away from their instance are at least high"
		f.Severity = SeverityHigh
	}
	region := firstNonEmpty(g.Region, ev.Envelope.Region)
	role, key := "", ""
	if k := g.Resource.AccessKeyDetails; k != nil {
		role, key = k.UserName, k.AccessKeyID
	}
	if role != "" {
		// No ARN: the finding names the role without its path.
		f.Resource = Resource{Type: "IAM role", Name: role}
	} else {
		f.Resource = Resource{Type: firstNonEmpty(g.Resource.ResourceType, "AccessKey"), Region: region}
	}
	whose := "an EC2 instance"
	if id := g.SessionInstanceID(); id != "" {
		whose = "EC2 instance " + id
	}
	if role != "" {
		whose += " (role " + role + ")"
	}
	from, call := "elsewhere", ""
	if a := g.Service.Action.AWSAPICallAction; a != nil {
		ip := a.RemoteIPDetails
		switch {
		case a.RemoteAccountDetails != nil && a.RemoteAccountDetails.AccountID != "":
			from = "AWS account " + a.RemoteAccountDetails.AccountID
			if !a.RemoteAccountDetails.Affiliated {
				from += " (not in your GuardDuty organization)"
			}
		case ip.IP() != "":
			from = ip.IP()
			if org := firstNonEmpty(ip.Organization.AsnOrg, ip.Organization.Org); org != "" {
				from += " (" + org + ")"
			}
		}
		if a.API != "" {
			call = ": " + strings.TrimSuffix(a.ServiceName, ".amazonaws.com") + ":" + a.API
			if a.ErrorCode != "" {
				call += " (" + a.ErrorCode + ")"
			}
		}
	}
	if key != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "Temporary access key", Text: key})
	}
	if text := firstNonEmpty(g.Description, g.Title); text != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "GuardDuty's description", Text: text})
	}
	f.Headline = fmt.Sprintf("GuardDuty: credentials of %s used from %s%s", whose, from, call)
	return f, true
}
