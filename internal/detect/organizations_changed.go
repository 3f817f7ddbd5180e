package detect

import (
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "organizations-changed",
		Title: "AWS Organizations structure or policies changed",
		Description: "CIS 4.15 monitoring of AWS Organizations: AcceptHandshake, AttachPolicy, CreateAccount, " +
			"CreateOrganizationalUnit, CreatePolicy, DeclineHandshake, DeleteOrganization, DeleteOrganizationalUnit, " +
			"DeletePolicy, DetachPolicy, DisablePolicyType, EnablePolicyType, InviteAccountToOrganization, LeaveOrganization, " +
			"MoveAccount, RemoveAccountFromOrganization, UpdatePolicy and UpdateOrganizationalUnit. An account leaving the " +
			"organization is critical; detaching a policy (the event does not record its type; detaching the allow-all " +
			"FullAWSAccess policy is medium), disabling a policy type, removing an account and deleting the organization are " +
			"high; attaching or changing policies, moving, creating and inviting accounts and accepting handshakes are medium; " +
			"creating or deleting unattached policies, enabling policy types and OU housekeeping are low. Read-only calls " +
			"(List*, Describe*) and delegated-administrator, resource-policy and tag changes are not covered.",
		Severity: SeverityMedium,
		Pattern: APICall([]string{organizationsSource},
			"AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy",
			"DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy",
			"DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount",
			"RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			c, ok := describeOrgChange(rec)
			if !ok {
				return Finding{}, false
			}
			f := Finding{Severity: c.Severity, Resource: c.Resource, Changes: c.Changes, Evidence: c.Evidence}
			return outcome(f, rec, c.Done, c.Tried), true
		},
		// A catch-all monitor: specific detections of the same event lead.
		Broad:         true,
		CIS:           []string{"4.15"},
		MITRE:         []string{"T1666", "T1484"},
		GlobalService: true,
		Runbook: "Confirm the change with the organization's administrators. For detached policies or disabled policy types, " +
			"list what now applies (aws organizations list-policies-for-target --target-id TARGET_ID --filter SERVICE_CONTROL_POLICY) " +
			"and restore it (aws organizations attach-policy --policy-id POLICY_ID --target-id TARGET_ID; aws organizations " +
			"enable-policy-type --root-id ROOT_ID --policy-type SERVICE_CONTROL_POLICY). For changed policies compare the " +
			"content with version control (aws organizations describe-policy --policy-id POLICY_ID). For accounts that left or " +
			"were removed, list members (aws organizations list-accounts) and contact the account owner: the organization trail " +
			"and SCPs no longer cover that account. Deny organizations:LeaveOrganization with an SCP.",
		References: []string{
			"https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-15",
			"https://docs.aws.amazon.com/organizations/latest/userguide/orgs_security_incident-response.html",
			"https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html",
		},
		FalsePositives: []string{
			"Account vending (Control Tower, Account Factory for Terraform) creating and moving accounts and attaching policies.",
			"Tag, backup or AI opt-out policies being detached: DetachPolicy does not say which type the policy is.",
		},
		Tests: Tests{
			Positive: []Example{
				{"organizations/organizations-changed-detach-scp.json", SeverityHigh},
				{"organizations/organizations-changed-detach-full-aws-access.json", SeverityMedium},
				{"organizations/organizations-changed-disable-policy-type.json", SeverityHigh},
				{"organizations/organizations-changed-update-scp.json", SeverityMedium},
				{"organizations/organizations-changed-create-ou.json", SeverityLow},
				{"organizations/organizations-changed-remove-account-failed.json", SeverityLow},
				{"organizations/organization-left-leave-organization.json", SeverityCritical},
				{"organizations/organization-left-leave-denied-by-scp.json", SeverityLow},
			},
			Negative: []string{
				"organizations/organizations-changed-list-policies.json",
			},
		},
	})
}
