package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "role-trust-policy-changed",
		Title: "Role trust policy changed",
		Description: "UpdateAssumeRolePolicy replaced the trust policy of an IAM role: who may assume it. Each Allow " +
			"statement is rated. Everyone (Principal \"*\", {\"AWS\":\"*\"} or NotPrincipal) without a condition that pins the " +
			"caller's account, organization or ARN (aws:PrincipalAccount, aws:PrincipalArn, aws:PrincipalOrgID, " +
			"aws:SourceAccount, aws:SourceArn and their kin; sts:ExternalId does not count) is critical: any AWS account " +
			"can take the role. A principal in another account, a whole organization, GitHub's OIDC provider without a " +
			"sub condition or Cognito without an aud condition is high: a backdoor for someone outside the account. Only " +
			"this account's principals or AWS services is medium. Roles created with a trust policy (CreateRole) are not " +
			"covered.",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{iamSource}, "UpdateAssumeRolePolicy"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			rp := identityFields(rec.RequestParameters)
			role := identityString(rp, "roleName")
			f := Finding{
				Severity: SeverityMedium,
				Resource: Resource{Type: "IAM role", Name: role, Region: rec.AWSRegion},
				Changes:  []Change{{Setting: "Trust policy", Before: NotRecorded, After: "replaced by the document in evidence"}},
			}
			if role == "" {
				f.Resource.Name = "(not recorded)"
			}
			label := "role " + iamNameQuoted(role)
			policy, err := parsePolicyDocument(rp["policyDocument"])
			if err != nil {
				f.Evidence = []Evidence{{Label: "Could not read the trust policy", Text: err.Error()}}
				if _, ok := policyDocumentBytes(rp["policyDocument"]); ok {
					f.Evidence = append(f.Evidence, Evidence{Label: "Trust policy as recorded", Text: policyDocumentText(rp["policyDocument"])})
				}
				return outcome(f, rec,
					fmt.Sprintf("Trust policy of %s replaced by %s; trailwatch could not read it", label, callerLabel(rec)),
					fmt.Sprintf("replace the trust policy of %s", label)), true
			}
			reach := reachAccount
			for _, g := range analyzeTrust(policy, rec.Account()) {
				if g.Reach > reach {
					reach = g.Reach
				}
				if g.Reach > reachAccount {
					f.Evidence = append(f.Evidence,
						Evidence{Label: fmt.Sprintf("Statement %d lets in %s", g.Index, trustReachWords[g.Reach]), Text: compactJSON(g.Statement.Raw)},
						Evidence{Label: fmt.Sprintf("Why statement %d reaches that far", g.Index), Text: g.Why})
				}
			}
			who := trustReachWords[reach]
			switch reach {
			case reachEveryone:
				f.Severity = SeverityCritical
			case reachOther:
				f.Severity = SeverityHigh
			default:
				f.Evidence = append(f.Evidence, Evidence{Label: "New trust policy", Text: policyDocumentText(rp["policyDocument"])})
			}
			return outcome(f, rec,
				fmt.Sprintf("Trust policy of %s changed by %s: %s may assume it", label, callerLabel(rec), who),
				fmt.Sprintf("let %s assume %s", who, label)), true
		},
		MITRE: []string{"T1098.003", "T1484.002"},
		Runbook: "Check the new trust policy against the role's purpose and whoever owns it. If the new principal is not " +
			"known, restore the previous trust policy (aws iam update-assume-role-policy --role-name ROLE --policy-document " +
			"file://previous-trust.json; the previous document is in AWS Config history or your infrastructure code), " +
			"revoke sessions issued since the change (IAM console: Roles > ROLE > Revoke active sessions), and look for " +
			"AssumeRole calls on the role from other accounts (CloudTrail, eventName AssumeRole, requestParameters.roleArn " +
			"= the role's ARN). IAM Access Analyzer (aws accessanalyzer list-findings) lists roles trusted from outside.",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub",
		},
		FalsePositives: []string{
			"Granting a vendor, a partner or another account of the organization access on purpose (cross-account roles).",
			"Infrastructure-as-code updating trust policies on every deployment.",
		},
		GlobalService: true,
		Tests: Tests{
			Positive: []Example{
				{"iam/role-trust-policy-changed-everyone.json", SeverityCritical},
				{"iam/role-trust-policy-changed-everyone-external-id.json", SeverityCritical},
				{"iam/role-trust-policy-changed-other-account.json", SeverityHigh},
				{"iam/role-trust-policy-changed-org-condition.json", SeverityHigh},
				{"iam/role-trust-policy-changed-github-no-sub.json", SeverityHigh},
				{"iam/role-trust-policy-changed-service.json", SeverityMedium},
				{"iam/role-trust-policy-changed-malformed.json", SeverityLow},
				// trailwatch's member roles, and a role named like them.
				{"iam/trailwatch-member-role-tampered-lookup-trust.json", SeverityHigh},
				{"iam/trailwatch-member-role-tampered-forward-trust-beside-events.json", SeverityHigh},
				{"iam/trailwatch-member-role-tampered-forward-trust-without-events.json", SeverityMedium},
				{"iam/trailwatch-member-role-tampered-other-stack-set-role.json", SeverityMedium},
			},
			Negative: []string{
				"iam/role-trust-policy-changed-get-role.json",
			},
		},
	})
}

// trustReachWords says who a trust reach lets in, for headlines and labels.
var trustReachWords = map[trustReach]string{
	reachAccount:  "principals of this account or AWS services",
	reachOther:    "principals outside this account",
	reachEveryone: "any AWS account",
}
