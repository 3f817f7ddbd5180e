package detect

import (
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "securityhub-disabled",
		Title: "Security Hub disabled, standards turned off or account detached",
		Description: "DisableSecurityHub turns Security Hub off in the account and region and drops its findings and " +
			"standards: high. BatchDisableStandards stops the checks of security standards (CIS, AWS Foundational Security " +
			"Best Practices, PCI DSS): medium. DisassociateFromAdministratorAccount (or DisassociateFromMasterAccount) detaches " +
			"a member account from the administrator, whose aggregated view loses it: medium. Disabling single controls, " +
			"product integrations, automation rules and finding suppression are not covered.",
		Severity: SeverityHigh,
		Pattern: APICall([]string{srcSecurityHub}, "DisableSecurityHub", "BatchDisableStandards",
			"DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount"),
		Evaluate:   evaluateSecurityHub,
		CISRelated: []string{"4.16"},
		MITRE:      []string{"T1562.001"},
		Runbook: "Turn it back on: aws securityhub enable-security-hub --enable-default-standards (in the region of the event), " +
			"re-enable standards with aws securityhub batch-enable-standards --standards-subscription-requests " +
			"StandardsArn=STANDARD_ARN, and re-attach members from the administrator (aws securityhub create-members " +
			"--account-details AccountId=ACCOUNT_ID, or organization auto-enable). Check GuardDuty and Config in the same " +
			"account and region, which are often turned off together, and review the principal's other actions.",
		References: []string{
			"https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-disable.html",
			"https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchDisableStandards.html",
			"https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_DisassociateFromAdministratorAccount.html",
		},
		FalsePositives: []string{
			"Switching from one standard version to another (the old one is disabled after the new one is enabled).",
			"Consolidating Security Hub into a delegated administrator, which detaches and re-invites members.",
		},
		Tests: Tests{
			Positive: []Example{
				{"securityhub/securityhub-disabled-disable-security-hub.json", SeverityHigh},
				{"securityhub/securityhub-disabled-batch-disable-standards.json", SeverityMedium},
				{"securityhub/securityhub-disabled-disassociate-from-administrator.json", SeverityMedium},
				{"securityhub/securityhub-disabled-disable-security-hub-invalid-access.json", SeverityLow},
			},
			Negative: []string{
				"securityhub/securityhub-disabled-batch-enable-standards.json",
			},
		},
	})
}

func evaluateSecurityHub(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	f := Finding{Resource: Resource{Type: "Security Hub", Name: rec.Account(), Region: rec.AWSRegion,
		ARN: regionalResourceARN(rec, "securityhub", "hub/default")}}
	where := placePhrase(rec)
	switch rec.EventName {
	case "DisableSecurityHub":
		f.Severity = SeverityHigh
		f.Changes = []Change{{Setting: "Security Hub", Before: NotRecorded, After: "disabled"}}
		return outcome(f, rec, "Security Hub disabled "+where+": its findings and standards checks are gone",
			"disable Security Hub "+where), true
	case "BatchDisableStandards":
		var rp struct {
			StandardsSubscriptionARNs paramValue `json:"standardsSubscriptionArns"`
		}
		decodeInto(rec.RequestParameters, &rp)
		f.Severity = SeverityMedium
		arns := rp.StandardsSubscriptionARNs.Strings()
		var names []string
		for _, a := range arns {
			n := arnResourceName(a, "subscription/")
			names = append(names, n)
			f.Changes = append(f.Changes, Change{Setting: "Standard " + n, Before: NotRecorded, After: "disabled"})
		}
		if len(arns) > 0 {
			f.Evidence = []Evidence{{Label: "Standards subscriptions in the request", Text: strings.Join(arns, "\n")}}
		}
		what := "security standards"
		if len(names) > 0 {
			what = listPhrase(names)
		}
		return outcome(f, rec, "Security Hub standards turned off "+where+": "+what,
			"turn off Security Hub standards "+where+" ("+what+")"), true
	case "DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount":
		f.Severity = SeverityMedium
		f.Changes = []Change{{Setting: "Security Hub administrator account", Before: NotRecorded, After: "(none)"}}
		return outcome(f, rec, "Security Hub "+where+" left its administrator account: its findings no longer reach the security team",
			"detach Security Hub "+where+" from its administrator account"), true
	}
	return Finding{}, false
}
