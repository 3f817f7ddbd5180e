package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/iampolicy"
)

// Names of the IAM roles the member stacks create in every account of the
// organization (infra/member.go), shared with infra and config so that the
// template and this detection cannot drift apart.
const (
	// MemberLookupRole is the role the central functions assume for their
	// look-ups in a member account (config.LookupRoleName).
	MemberLookupRole = "TrailwatchLookup"
	// MemberStackSetSuffix follows the home stack's name in the name of the
	// StackSet that deploys the member stacks ("Trailwatch-Members").
	MemberStackSetSuffix = "-Members"
	// memberLookupPolicy is the look-up role's one inline policy.
	memberLookupPolicy = "Lookups"
	// memberForwardRoleID starts the logical ID of the member stack's
	// forwarding role (ForwardRoleAD41B8CF); CloudFormation puts it in the
	// role's generated name.
	memberForwardRoleID = "ForwardRole"
	// memberForwardPolicyID starts the name of the forwarding role's one
	// inline policy, the one that allows events:PutEvents on the central
	// bus (CDK's ForwardRoleDefaultPolicy1711493F).
	memberForwardPolicyID = "ForwardRoleDefaultPolicy"
	// lookupMaxSessionSeconds is the look-up role's MaxSessionDuration.
	lookupMaxSessionSeconds = 3600
)

func init() {
	register(&Detection{
		ID:    "trailwatch-member-role-tampered",
		Title: "trailwatch's roles in a member account changed or deleted",
		Description: "In organization mode, one of the two IAM roles trailwatch keeps in every member account was changed or " +
			"deleted outside a deployment: TrailwatchLookup (the central functions' read-only look-ups there) or the " +
			"forwarding role EventBridge uses to put the account's events on the central bus. The forwarding role has no " +
			"fixed name: CloudFormation generates it as StackSet-<StackSet name>-<instance ID>-ForwardRole<hash>-<suffix>, " +
			"cutting the StackSet part short to stay within 64 characters, so a role is the forwarding role when its name " +
			"starts with StackSet- and a beginning of trailwatch's StackSet name (the home stack's name and -Members) and " +
			"goes on with -ForwardRole; the pattern matches those names as CloudFormation writes them (StackSet-...) and " +
			"TrailwatchLookup in any case. Critical: the forwarding role deleted, its events:PutEvents policy deleted, or " +
			"its trust policy replaced by one that no longer lets EventBridge in: the member's events stop reaching trailwatch " +
			"and nothing says so (the dead-letter alarm's own event needs the same role). High: the look-up role's trust " +
			"policy replaced or a role of that name created outside trailwatch (someone else may assume it, or the functions " +
			"no longer can), permissions added to the look-up role (inline or managed: the central functions gain power in " +
			"the member account, an escalation path from the security account), the look-up role or its Lookups policy " +
			"deleted (that account's alerts go out without their look-ups), and on the forwarding role an added policy or " +
			"boundary or a trust policy that still lets EventBridge in beside others (either may deny forwarding or lend " +
			"the role to someone). Medium: a permissions boundary put on the look-up role (it can only narrow the " +
			"look-ups), a boundary deleted from either role (the template sets none, so a guardrail someone else set is " +
			"gone), another inline policy deleted, the look-up role's sessions made longer than one hour. Low: a managed " +
			"policy detached (the template attaches none), descriptions and other session settings. A change CloudFormation " +
			"makes (StackSets deploying or removing a stack instance) is low; a denied attempt is low. IAM events reach " +
			"EventBridge in us-east-1 only, so they travel through the us-east-1 stack instance's forwarding role: breaking " +
			"that very role (deleted, its policy deleted, EventBridge shut out of its trust) may stop the event that reports " +
			"it, and only a check that expects events from every account (the organization trail, a heartbeat) sees that " +
			"for sure; the other regions' forwarding roles and the look-up role are reported through it.",
		Severity: SeverityCritical,
		Pattern: APICall([]string{iamSource},
			"DeleteRole", "CreateRole", "UpdateAssumeRolePolicy", "PutRolePolicy", "DeleteRolePolicy",
			"AttachRolePolicy", "DetachRolePolicy", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
			"UpdateRole", "UpdateRoleDescription").
			Where("requestParameters.roleName",
				map[string]any{"equals-ignore-case": MemberLookupRole},
				map[string]any{"prefix": "StackSet-"}),
		Evaluate:      evaluateMemberRoleTampered,
		MITRE:         []string{"T1562.008", "T1098.003"},
		GlobalService: true,
		Runbook: "Find out who changed the role in the member account (the alert names the account and the caller) and " +
			"whether it was StackSets deploying or removing trailwatch's stack instance (a CloudFormation stack operation " +
			"shows in the alert). If not, restore the member stack from the home account: aws cloudformation " +
			"update-stack-instances --stack-set-name Trailwatch-Members --deployment-targets Accounts=ACCOUNT --regions REGION " +
			"--call-as DELEGATED_ADMIN recreates the roles as the template has them (a changed role is reset only if " +
			"CloudFormation sees drift: detect-stack-set-drift first, or delete and re-add the account's instances). For the " +
			"look-up role, compare its trust policy with the template (the home account, conditioned on the two function " +
			"role ARNs) and revoke its sessions (IAM console: Roles > TrailwatchLookup > Revoke active sessions); look for " +
			"AssumeRole calls on it from anyone but the functions. For the forwarding role, replay what the account's events " +
			"missed since the change from the organization trail's logs (trailwatch replay). Treat the principal as " +
			"compromised until explained, and deny IAM changes to role/TrailwatchLookup and role/StackSet-Trailwatch-* to " +
			"everyone but the StackSets execution role with an SCP.",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html",
			"https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html",
			"https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html",
			"https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html",
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html",
		},
		FalsePositives: []string{
			"StackSets deploying, updating or removing trailwatch's member stack instances (reported low, by CloudFormation).",
			"An organization-wide guardrail (permissions boundaries, tags) applied to every role by automation.",
			"Another StackSet named like trailwatch's (the home stack's name followed by -Members) with a role whose logical ID starts with ForwardRole.",
		},
		Protected: true,
		// The look-up role's alerts still go out, but the forwarding role's
		// loss is the end of that account's alerts: never wait for a digest.
		Immediate: true,
		Tests: Tests{
			Positive: []Example{
				{"iam/trailwatch-member-role-tampered-forward-delete-role.json", SeverityCritical},
				{"iam/trailwatch-member-role-tampered-forward-delete-policy.json", SeverityCritical},
				{"iam/trailwatch-member-role-tampered-forward-trust-without-events.json", SeverityCritical},
				{"iam/trailwatch-member-role-tampered-forward-trust-beside-events.json", SeverityHigh},
				{"iam/trailwatch-member-role-tampered-lookup-trust.json", SeverityHigh},
				{"iam/trailwatch-member-role-tampered-lookup-attach-policy.json", SeverityHigh},
				{"iam/trailwatch-member-role-tampered-lookup-put-policy.json", SeverityHigh},
				{"iam/trailwatch-member-role-tampered-lookup-delete-role.json", SeverityHigh},
				{"iam/trailwatch-member-role-tampered-lookup-max-session.json", SeverityMedium},
				{"iam/trailwatch-member-role-tampered-lookup-detach-policy.json", SeverityLow},
				{"iam/trailwatch-member-role-tampered-cloudformation-delete-role.json", SeverityLow},
				{"iam/trailwatch-member-role-tampered-lookup-delete-role-denied.json", SeverityLow},
			},
			Negative: []string{
				"iam/trailwatch-member-role-tampered-other-stack-set-role.json",
				"iam/trailwatch-member-role-tampered-get-role.json",
			},
		},
	})
}

// memberRole is which of trailwatch's member roles a role name is.
type memberRole int

const (
	notMemberRole memberRole = iota
	lookupRole
	forwardRole
)

// memberRoleOf tells trailwatch's member roles by name. IAM does not
// distinguish role names by case, so neither does this.
//
// The look-up role is named MemberLookupRole. The forwarding role's name is
// CloudFormation's: "StackSet-" and the stack instance's stack name
// ("<StackSet name>-<UUID>") cut short, "-", the logical ID, "-", a random
// suffix, 64 characters at most (as in StackSet-PrismAccess-890ffec2-14g5-
// 44cf-PrismRole-17JA3GHYD8TOPS). CloudFormation shortens the stack name
// before a logical ID this short (19 characters), so the name holds
// "-ForwardRole" whole, and before it a beginning of "<StackSet name>-": at
// least "StackSet-" and 12 characters, which a StackSet name of a 20-odd
// character stack name still leaves.
func (e *Env) memberRoleOf(name string) memberRole {
	if strings.EqualFold(name, MemberLookupRole) {
		return lookupRole
	}
	const stackSetPrefix = "StackSet-"
	if len(name) <= len(stackSetPrefix) || !strings.EqualFold(name[:len(stackSetPrefix)], stackSetPrefix) {
		return notMemberRole
	}
	rest := strings.ToLower(name[len(stackSetPrefix):])
	i := strings.Index(rest, "-"+strings.ToLower(memberForwardRoleID))
	if i < 0 {
		return notMemberRole
	}
	stack := rest[:i]
	for _, set := range e.memberStackSets() {
		set = strings.ToLower(set) + "-"
		if strings.HasPrefix(stack, set) || (len(stack) >= 12 && strings.HasPrefix(set, stack)) {
			return forwardRole
		}
	}
	return notMemberRole
}

// memberStackSets are the names trailwatch's member StackSet may have: a
// stack's name (an own prefix without its "-") followed by
// MemberStackSetSuffix; without settings, the Trailwatch stack's.
func (e *Env) memberStackSets() []string {
	prefixes := ownRulePrefixes
	if e.configured() {
		prefixes = e.OwnPrefixes
	}
	var out []string
	for _, p := range prefixes {
		if stack, ok := strings.CutSuffix(p, "-"); ok && stack != "" {
			out = append(out, stack+MemberStackSetSuffix)
		}
	}
	return out
}

// evaluateMemberRoleTampered reports changes to trailwatch's roles in a
// member account.
func evaluateMemberRoleTampered(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := identityFields(rec.RequestParameters)
	name := identityString(rp, "roleName")
	kind := env.memberRoleOf(name)
	if kind == notMemberRole {
		return Finding{}, false
	}
	account := rec.Account()
	f := Finding{Resource: Resource{Type: "IAM role", Name: name, Region: rec.AWSRegion}}
	if isAccountID(account) {
		f.Resource.ARN = partitionARN(rec.AWSRegion, "iam", "", account, "role/"+name)
	}
	role := "trailwatch's look-up role " + name
	if kind == forwardRole {
		role = "trailwatch's forwarding role " + name
	}
	if account != "" {
		role += " in account " + account
	}
	const (
		lookupsLost     = "that account's alerts go out without their look-ups (alias, bucket state, event history, instances)"
		forwardingStops = "the events of its stack instance's region stop reaching trailwatch, and nothing says so"
	)
	var done, impact, tried string
	switch rec.EventName {
	case "DeleteRole":
		f.Changes = []Change{{Setting: "Role", Before: "exists", After: "deleted"}}
		done, tried = role+" deleted", "delete "+role
		if kind == forwardRole {
			f.Severity, impact = SeverityCritical, ": "+forwardingStops
		} else {
			f.Severity, impact = SeverityHigh, ": "+lookupsLost
		}

	case "CreateRole", "UpdateAssumeRolePolicy":
		doc := rp["assumeRolePolicyDocument"]
		setting := "Trust policy of the new role"
		done, tried = role+" created", "create "+role
		if rec.EventName == "UpdateAssumeRolePolicy" {
			doc = rp["policyDocument"]
			done, tried = "Trust policy of "+role+" replaced", "replace the trust policy of "+role
			setting = "Trust policy"
		}
		f.Severity, impact = SeverityHigh, ": someone else may assume it, or the central functions no longer can"
		policy, err := parsePolicyDocument(doc)
		after := "not readable"
		if err == nil {
			after = trustPrincipals(policy)
			if kind == forwardRole {
				if letsIn(policy, "Service", srcEvents) {
					impact = ": EventBridge may still assume it, and so may whoever else it names"
				} else {
					f.Severity, impact = SeverityCritical, ": EventBridge can no longer assume it, so "+forwardingStops
				}
			}
			for _, g := range analyzeTrust(policy, account) {
				if g.Reach > reachAccount {
					f.Evidence = append(f.Evidence,
						Evidence{Label: fmt.Sprintf("Statement %d lets in %s", g.Index, trustReachWords[g.Reach]), Text: compactJSON(g.Statement.Raw)},
						Evidence{Label: fmt.Sprintf("Why statement %d reaches that far", g.Index), Text: g.Why})
				}
			}
		} else {
			f.Evidence = append(f.Evidence, Evidence{Label: "Could not read the trust policy", Text: err.Error()})
		}
		f.Changes = []Change{{Setting: setting, Before: NotRecorded, After: "lets in " + after}}
		if _, ok := policyDocumentBytes(doc); ok {
			f.Evidence = append(f.Evidence, Evidence{Label: "New trust policy", Text: policyDocumentText(doc)})
		}

	case "PutRolePolicy", "AttachRolePolicy":
		f.Severity = SeverityHigh
		if rec.EventName == "PutRolePolicy" {
			policyName := identityString(rp, "policyName")
			f.Changes = []Change{{Setting: "Inline policy " + iamNameQuoted(policyName), Before: NotRecorded, After: "set to the document in evidence"}}
			judgeDocument(&f, rp["policyDocument"])
			f.Severity = SeverityHigh
			done, tried = "Inline policy "+iamNameQuoted(policyName)+" put on "+role, "put an inline policy on "+role
		} else {
			arn := orNotRecorded(identityString(rp, "policyArn"))
			f.Changes = []Change{{Setting: "Attached managed policy", After: arn}}
			done, tried = "Managed policy "+arn+" attached to "+role, "attach a managed policy to "+role
		}
		if kind == lookupRole {
			impact = ": the central functions gain these permissions in the member account, a path from the security account into it"
		} else {
			impact = ": it may deny forwarding, or grant more to whatever assumes the role"
		}

	case "DeleteRolePolicy":
		policyName := identityString(rp, "policyName")
		f.Changes = []Change{{Setting: "Inline policy " + iamNameQuoted(policyName), Before: "exists", After: "deleted"}}
		done, tried = "Inline policy "+iamNameQuoted(policyName)+" deleted from "+role, "delete an inline policy of "+role
		switch {
		case kind == forwardRole && hasPrefixFold(policyName, memberForwardPolicyID):
			f.Severity, impact = SeverityCritical, ": it allowed events:PutEvents on the central bus, so "+forwardingStops
		case kind == lookupRole && strings.EqualFold(policyName, memberLookupPolicy):
			f.Severity, impact = SeverityHigh, ": it held every look-up, so "+lookupsLost
		default:
			f.Severity, impact = SeverityMedium, ": not one the template puts there"
		}

	case "DetachRolePolicy":
		f.Severity = SeverityLow
		arn := orNotRecorded(identityString(rp, "policyArn"))
		f.Changes = []Change{{Setting: "Attached managed policy", Before: arn, After: "detached"}}
		done, impact, tried = "Managed policy "+arn+" detached from "+role, ": the template attaches none", "detach a managed policy from "+role

	case "PutRolePermissionsBoundary":
		arn := orNotRecorded(identityString(rp, "permissionsBoundary"))
		f.Changes = []Change{{Setting: "Permissions boundary", Before: NotRecorded, After: arn}}
		done, tried = "Permissions boundary "+arn+" put on "+role, "put a permissions boundary on "+role
		if kind == forwardRole {
			f.Severity, impact = SeverityHigh, ": a boundary without events:PutEvents stops the forwarding"
		} else {
			f.Severity, impact = SeverityMedium, ": it can only narrow the look-ups"
		}

	case "DeleteRolePermissionsBoundary":
		f.Severity = SeverityMedium
		f.Changes = []Change{{Setting: "Permissions boundary", Before: NotRecorded, After: "removed"}}
		done, impact, tried = "Permissions boundary removed from "+role, ": the template sets none, so a guardrail someone else set is gone", "remove the permissions boundary of "+role

	case "UpdateRole", "UpdateRoleDescription":
		f.Severity = SeverityLow
		done, tried = role+" updated", "update "+role
		if d := field(rp, "description"); d != nil {
			f.Changes = append(f.Changes, Change{Setting: "Description", Before: NotRecorded, After: jsonString(d)})
		}
		if n, ok := paramValue(field(rp, "maxSessionDuration")).Int(); ok {
			f.Changes = append(f.Changes, Change{Setting: "Maximum session duration", Before: NotRecorded, After: fmt.Sprintf("%d seconds", n)})
			if kind == lookupRole && n > lookupMaxSessionSeconds {
				f.Severity = SeverityMedium
				impact = fmt.Sprintf(": its sessions may now last %d seconds instead of %d, and so may stolen ones", n, lookupMaxSessionSeconds)
			}
		}

	default:
		return Finding{}, false
	}
	return selfOutcome(f, rec, done, impact, tried), true
}

// trustPrincipals lists whom a trust policy's Allow statements name, for a
// change's After: "AWS arn:aws:iam::111122223333:root, Service
// events.amazonaws.com".
func trustPrincipals(p *iampolicy.Policy) string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, st := range p.Statements {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		switch {
		case st.NotPrincipal != nil:
			add("everyone but NotPrincipal")
		case st.Principal == nil:
		case st.Principal.Everyone:
			add("everyone (*)")
		default:
			types := make([]string, 0, len(st.Principal.IDs))
			for typ := range st.Principal.IDs {
				types = append(types, typ)
			}
			slices.Sort(types)
			for _, typ := range types {
				for _, id := range st.Principal.IDs[typ] {
					add(typ + " " + id)
				}
			}
		}
	}
	if len(out) == 0 {
		return "no one"
	}
	return identityClip(strings.Join(out, ", "), 1000)
}

// letsIn reports whether an Allow statement of the policy names the
// principal (of type typ, such as "Service") without a NotPrincipal.
func letsIn(p *iampolicy.Policy, typ, id string) bool {
	for _, st := range p.Statements {
		if !strings.EqualFold(st.Effect, "Allow") || st.Principal == nil {
			continue
		}
		if slices.ContainsFunc(st.Principal.IDs[typ], func(s string) bool { return strings.EqualFold(s, id) }) {
			return true
		}
	}
	return false
}

// hasPrefixFold is strings.HasPrefix ignoring case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
