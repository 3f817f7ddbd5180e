package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "iam-policy-changed",
		Title: "IAM policy changed",
		Description: "One of the sixteen IAM calls CIS 4.4 monitors changed what an identity may do: inline policies put " +
			"or deleted (Put/Delete User, Group or Role Policy), managed policies created, deleted or given a new or " +
			"removed version (CreatePolicy, DeletePolicy, CreatePolicyVersion, DeletePolicyVersion), or managed policies " +
			"attached to or detached from users, groups and roles. Severity follows what the change grants: attaching " +
			"AdministratorAccess, PowerUserAccess or IAMFullAccess, or a document with an Allow of \"*\" or \"iam:*\" " +
			"(or of everything but a NotAction list) on every resource, is high; removals (deletes and detaches) are low; " +
			"other grants are medium. Documents are read from the JSON string CloudTrail records (URL-encoded documents " +
			"too). Not covered here: SetDefaultPolicyVersion, permission boundaries, role trust policies " +
			"(role-trust-policy-changed) and resource policies of other services.",
		Severity: SeverityMedium,
		Pattern: APICall([]string{iamSource},
			"DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy",
			"PutGroupPolicy", "PutRolePolicy", "PutUserPolicy",
			"CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion",
			"AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy",
			"AttachGroupPolicy", "DetachGroupPolicy"),
		Evaluate: evaluatePolicyChanged,
		CIS:      []string{"4.4"},
		MITRE:    []string{"T1098.003"},
		Runbook: "Confirm the change with whoever owns the identity (infrastructure-as-code runs show in the user agent). " +
			"For an unexpected grant, undo it: aws iam detach-role-policy --role-name ROLE --policy-arn POLICY_ARN (or " +
			"detach-user-policy / detach-group-policy), aws iam delete-role-policy --role-name ROLE --policy-name POLICY_NAME " +
			"(or the user/group forms), or for a new policy version aws iam set-default-policy-version --policy-arn " +
			"POLICY_ARN --version-id PREVIOUS_VERSION and aws iam delete-policy-version --policy-arn POLICY_ARN --version-id " +
			"NEW_VERSION. Then review what the identity did with the permissions (CloudTrail, filtered on its ARN) and " +
			"how the caller got the right to change IAM.",
		References: []string{
			"https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-4",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_manage-attach-detach.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html",
			"https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html",
		},
		FalsePositives: []string{
			"Infrastructure-as-code deployments (CloudFormation, Terraform, CDK) that manage IAM routinely.",
			"Administrators granting broad access on purpose, for example to a break-glass role.",
		},
		GlobalService: true,
		Tests: Tests{
			Positive: []Example{
				{"iam/iam-policy-changed-attach-admin-user.json", SeverityHigh},
				{"iam/iam-policy-changed-put-user-policy-star.json", SeverityHigh},
				{"iam/iam-policy-changed-create-policy-version-iam-star.json", SeverityHigh},
				{"iam/iam-policy-changed-put-role-policy-scoped.json", SeverityMedium},
				{"iam/iam-policy-changed-create-policy-scoped.json", SeverityMedium},
				{"iam/iam-policy-changed-attach-readonly-group.json", SeverityMedium},
				{"iam/iam-policy-changed-detach-role-policy.json", SeverityLow},
				{"iam/iam-policy-changed-delete-user-policy.json", SeverityLow},
				{"iam/iam-policy-changed-attach-admin-denied.json", SeverityLow},
				// Changes to trailwatch's member roles are IAM policy changes too.
				{"iam/trailwatch-member-role-tampered-lookup-attach-policy.json", SeverityHigh},
				{"iam/trailwatch-member-role-tampered-lookup-put-policy.json", SeverityMedium},
				{"iam/trailwatch-member-role-tampered-lookup-detach-policy.json", SeverityLow},
				{"iam/trailwatch-member-role-tampered-forward-delete-policy.json", SeverityLow},
			},
			Negative: []string{
				"iam/iam-policy-changed-get-policy-version.json",
				"iam/role-trust-policy-changed-other-account.json",
			},
		},
	})
}

// inlinePolicyTarget is the user, group or role an inline or attached policy
// belongs to.
func inlinePolicyTarget(rec *cloudtrail.Record, rp map[string]json.RawMessage) (Resource, string) {
	for _, t := range []struct{ key, typ string }{
		{"userName", "IAM user"}, {"groupName", "IAM group"}, {"roleName", "IAM role"},
	} {
		if name := identityString(rp, t.key); name != "" {
			return Resource{Type: t.typ, Name: name, Region: rec.AWSRegion}, t.typ + " " + name
		}
	}
	return Resource{Type: "IAM identity", Name: "(not recorded)", Region: rec.AWSRegion}, "an IAM identity"
}

func evaluatePolicyChanged(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := identityFields(rec.RequestParameters)
	by := callerLabel(rec)
	name := rec.EventName
	f := Finding{Severity: SeverityMedium}
	switch {
	case strings.HasPrefix(name, "Attach") || strings.HasPrefix(name, "Detach"):
		target, label := inlinePolicyTarget(rec, rp)
		f.Resource = target
		arn := identityString(rp, "policyArn")
		if arn == "" {
			arn = "(policy not recorded)"
		}
		if strings.HasPrefix(name, "Detach") {
			f.Severity = SeverityLow
			f.Changes = []Change{{Setting: "Attached managed policy", Before: arn, After: "(detached)"}}
			return outcome(f, rec,
				fmt.Sprintf("Policy %s detached from %s by %s", arn, label, by),
				fmt.Sprintf("detach policy %s from %s", arn, label)), true
		}
		f.Changes = []Change{{Setting: "Attached managed policy", After: arn}}
		policy := arn
		if managed := awsManagedPolicyName(arn); managed != "" {
			policy = managed
			if what, ok := privilegedManagedPolicies[managed]; ok {
				f.Severity = SeverityHigh
				f.Evidence = append(f.Evidence, Evidence{Label: "AWS managed policy that gives " + what, Text: arn})
			}
		}
		return outcome(f, rec,
			fmt.Sprintf("%s attached to %s by %s", policy, label, by),
			fmt.Sprintf("attach %s to %s", policy, label)), true

	case strings.HasPrefix(name, "Put"):
		target, label := inlinePolicyTarget(rec, rp)
		f.Resource = target
		policyName := identityString(rp, "policyName")
		f.Changes = []Change{{Setting: "Inline policy", Before: NotRecorded, After: iamNameQuoted(policyName) + ", replaced by the document in evidence"}}
		grants := judgeDocument(&f, rp["policyDocument"])
		return outcome(f, rec,
			fmt.Sprintf("Inline policy %s of %s set by %s%s", iamNameQuoted(policyName), label, by, grants),
			fmt.Sprintf("set inline policy %s of %s%s", iamNameQuoted(policyName), label, grants)), true

	case name == "DeleteUserPolicy" || name == "DeleteGroupPolicy" || name == "DeleteRolePolicy":
		target, label := inlinePolicyTarget(rec, rp)
		f.Resource = target
		f.Severity = SeverityLow
		policyName := identityString(rp, "policyName")
		f.Changes = []Change{{Setting: "Inline policy", Before: iamNameQuoted(policyName), After: "(deleted)"}}
		return outcome(f, rec,
			fmt.Sprintf("Inline policy %s of %s deleted by %s", iamNameQuoted(policyName), label, by),
			fmt.Sprintf("delete inline policy %s of %s", iamNameQuoted(policyName), label)), true

	case name == "CreatePolicy":
		policyName := identityString(rp, "policyName")
		arn := identityString(identityFields(identityFields(rec.ResponseElements)["policy"]), "arn")
		f.Resource = Resource{Type: "IAM policy", Name: policyName, ARN: arn, Region: rec.AWSRegion}
		f.Changes = []Change{{Setting: "Managed policy", After: "created with the document in evidence"}}
		grants := judgeDocument(&f, rp["policyDocument"])
		return outcome(f, rec,
			fmt.Sprintf("Managed policy %s created by %s%s", iamNameQuoted(policyName), by, grants),
			fmt.Sprintf("create managed policy %s%s", iamNameQuoted(policyName), grants)), true

	case name == "CreatePolicyVersion":
		arn := identityString(rp, "policyArn")
		f.Resource = Resource{Type: "IAM policy", Name: managedPolicyName(arn), ARN: arn, Region: rec.AWSRegion}
		after := "new version, not the default: takes effect only once made default"
		if def, _ := identityBool(rp, "setAsDefault"); def {
			after = "new version, now the default: in effect"
		}
		f.Changes = []Change{{Setting: "Policy version", Before: NotRecorded, After: after}}
		grants := judgeDocument(&f, rp["policyDocument"])
		return outcome(f, rec,
			fmt.Sprintf("New version of managed policy %s created by %s%s", iamNameQuoted(managedPolicyName(arn)), by, grants),
			fmt.Sprintf("create a new version of managed policy %s%s", iamNameQuoted(managedPolicyName(arn)), grants)), true

	case name == "DeletePolicy" || name == "DeletePolicyVersion":
		arn := identityString(rp, "policyArn")
		f.Resource = Resource{Type: "IAM policy", Name: managedPolicyName(arn), ARN: arn, Region: rec.AWSRegion}
		f.Severity = SeverityLow
		what := "Managed policy"
		if name == "DeletePolicyVersion" {
			what = "Version " + identityString(rp, "versionId") + " of managed policy"
		}
		f.Changes = []Change{{Setting: "Managed policy", Before: arn, After: "(deleted)"}}
		return outcome(f, rec,
			fmt.Sprintf("%s %s deleted by %s", what, iamNameQuoted(managedPolicyName(arn)), by),
			fmt.Sprintf("delete %s %s", strings.ToLower(what[:1])+what[1:], iamNameQuoted(managedPolicyName(arn)))), true
	}
	return Finding{}, false
}

// judgeDocument sets the finding's severity and evidence from a policy
// document and returns a headline suffix saying what it grants.
func judgeDocument(f *Finding, raw json.RawMessage) string {
	policy, err := parsePolicyDocument(raw)
	if err != nil {
		f.Evidence = append(f.Evidence, Evidence{Label: "Could not read the policy document", Text: err.Error()})
		if _, ok := policyDocumentBytes(raw); ok {
			f.Evidence = append(f.Evidence, Evidence{Label: "Policy document as recorded", Text: policyDocumentText(raw)})
		}
		return ""
	}
	suffix := ""
	for i, st := range policy.Statements {
		why := adminGrantOf(st)
		if why == "" {
			continue
		}
		f.Severity = SeverityHigh
		suffix = ": it grants administrator-level access"
		f.Evidence = append(f.Evidence, Evidence{Label: fmt.Sprintf("Statement %d %s", i+1, why), Text: compactJSON(st.Raw)})
	}
	if suffix == "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "Policy document", Text: policyDocumentText(raw)})
	}
	return suffix
}

// managedPolicyName is the name in a managed policy ARN (the part after the
// last slash), or the ARN itself when it has none.
func managedPolicyName(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 && i < len(arn)-1 {
		return arn[i+1:]
	}
	return arn
}

// iamNameQuoted quotes a name from the event for a headline, or says it is
// missing.
func iamNameQuoted(s string) string {
	if s == "" {
		return "(name not recorded)"
	}
	return fmt.Sprintf("%q", s)
}
