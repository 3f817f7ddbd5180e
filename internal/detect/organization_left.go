package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "organization-left",
		Title: "AWS account left its organization",
		Description: "LeaveOrganization: a member account took itself out of its AWS organization. From then on the " +
			"organization's service control policies, resource control policies and organization trail no longer apply to " +
			"it, and its management account loses control over it: a common step after an account is taken over. A denied " +
			"attempt (for example blocked by an SCP) is reported at low severity. The management account removing an account " +
			"(RemoveAccountFromOrganization) is organizations-changed's; the AccountDepartedOrganization service event the " +
			"management account receives is not covered.",
		Severity: SeverityCritical,
		Pattern:  APICall([]string{organizationsSource}, "LeaveOrganization"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			account := rec.Account()
			f := Finding{
				Severity: SeverityCritical,
				Resource: Resource{Type: "AWS account", Name: account, Region: rec.AWSRegion},
				Changes:  []Change{{Setting: "Organization membership", Before: "member", After: "standalone account"}},
			}
			if caller := rec.UserIdentity.ARN; caller != "" {
				f.Evidence = []Evidence{{Label: "Principal that called LeaveOrganization", Text: caller}}
			}
			return outcome(f, rec,
				fmt.Sprintf("Account %s left its AWS organization: service control policies and the organization trail no longer apply to it", account),
				fmt.Sprintf("take account %s out of its AWS organization", account)), true
		},
		CIS:           []string{"4.15"},
		MITRE:         []string{"T1666", "T1562.008"},
		GlobalService: true,
		Runbook: "Treat as a possible account takeover unless the departure was planned. From the management account confirm " +
			"the account is gone (aws organizations list-accounts) and contact its owner. In the departed account, review " +
			"CloudTrail around the event (aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=LeaveOrganization) " +
			"and what the caller did before and after; its own trail is now the only record. If unauthorized, lock the caller's " +
			"credentials, rotate the root password and MFA of ACCOUNT_ID, and invite it back (aws organizations " +
			"invite-account-to-organization --target Id=ACCOUNT_ID,Type=ACCOUNT). Prevent it with an SCP that denies " +
			"organizations:LeaveOrganization.",
		References: []string{
			"https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_leave-as-member.html",
			"https://docs.aws.amazon.com/organizations/latest/APIReference/API_LeaveOrganization.html",
			"https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html",
		},
		FalsePositives: []string{"Planned moves of an account to another organization (divestments, migrations)."},
		Tests: Tests{
			Positive: []Example{
				{"organizations/organization-left-leave-organization.json", SeverityCritical},
				{"organizations/organization-left-leave-denied-by-scp.json", SeverityLow},
			},
			Negative: []string{
				"organizations/organizations-changed-remove-account-failed.json",
				"organizations/organizations-changed-list-policies.json",
			},
		},
	})
}
