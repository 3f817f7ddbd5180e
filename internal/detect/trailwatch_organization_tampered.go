package detect

import (
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "trailwatch-organization-tampered",
		Title: "trailwatch's member StackSet or central event bus deleted or changed",
		Description: "In organization mode, what carries the member accounts' events to trailwatch was deleted or changed " +
			"outside a deployment. Critical: the StackSet that deploys the member stacks deleted (DeleteStackSet), stack " +
			"instances deleted from it (DeleteStackInstances: those accounts and regions go silent), the central event bus " +
			"deleted (DeleteEventBus) or a permission removed from it (RemovePermission: members can no longer forward). " +
			"High: the StackSet updated or one of its operations stopped (UpdateStackSet, UpdateStackInstances, " +
			"StopStackSetOperation: the member template may no longer forward), the bus's policy replaced (PutPermission, " +
			"UpdateEventBus). A change CloudFormation makes (deploying or deleting trailwatch) is low; a denied attempt is " +
			"low. Which StackSet and bus are trailwatch's comes from the settings (the stack's name prefix); without " +
			"settings, names starting with Trailwatch-.",
		Severity: SeverityCritical,
		Pattern: APICall([]string{srcCloudFormation, srcEvents},
			"DeleteStackSet", "DeleteStackInstances", "UpdateStackSet", "UpdateStackInstances", "StopStackSetOperation",
			"DeleteEventBus", "RemovePermission", "PutPermission", "UpdateEventBus"),
		Evaluate: evaluateOrganizationTampered,
		MITRE:    []string{"T1562.001", "T1562.008"},
		Runbook: "Find out who made the change and whether it was a planned trailwatch deployment (a CloudFormation stack " +
			"operation shows in the alert). If not, redeploy trailwatch from the security account (npx cdk deploy --all " +
			"with the organization settings), which recreates the central bus with its organization-only policy and the " +
			"StackSet with its automatic deployment; check the stack instances cover every target account and region (aws " +
			"cloudformation list-stack-instances --stack-set-name Trailwatch-Members --call-as DELEGATED_ADMIN). Then replay " +
			"what the members' events missed from the organization trail's logs since the change (trailwatch replay), treat " +
			"the principal as compromised until explained, and deny these calls on trailwatch's StackSet and bus to everyone " +
			"but the deployment role with an SCP.",
		References: []string{
			"https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html",
			"https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/logging-cfn-api-calls.html",
			"https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html",
		},
		FalsePositives: []string{
			"trailwatch deployments and stack deletions (reported low, by CloudFormation).",
			"Someone adding accounts or regions to the StackSet by hand instead of through trailwatch's settings.",
		},
		Protected: true,
		// The digest would come after the members' events have stopped.
		Immediate: true,
		Tests: Tests{
			Positive: []Example{
				{"cloudformation/trailwatch-organization-tampered-delete-stack-instances.json", SeverityCritical},
				{"cloudformation/trailwatch-organization-tampered-update-stack-set.json", SeverityHigh},
				{"cloudformation/trailwatch-organization-tampered-cloudformation-update.json", SeverityLow},
				{"events/trailwatch-organization-tampered-remove-permission.json", SeverityCritical},
				{"events/trailwatch-organization-tampered-delete-event-bus-denied.json", SeverityLow},
			},
			Negative: []string{
				"cloudformation/trailwatch-organization-tampered-other-stack-set.json",
				"cloudformation/trailwatch-organization-tampered-describe-stack-set.json",
				"events/trailwatch-organization-tampered-default-bus-permission.json",
			},
		},
	})
}

// evaluateOrganizationTampered reports changes to trailwatch's member
// StackSet and central bus.
func evaluateOrganizationTampered(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := ev.RequestParams()
	str := func(key string) string { return jsonString(field(rp, key)) }
	var f Finding
	var done, impact, tried string
	switch rec.EventName {
	case "DeleteStackSet", "DeleteStackInstances", "UpdateStackSet", "UpdateStackInstances", "StopStackSetOperation":
		// stackSetName is the name, or the StackSet's ID or ARN
		// ("arn:...:stackset/NAME:UUID").
		name := str("stackSetName")
		if i := strings.Index(name, ":stackset/"); i >= 0 {
			name = name[i+len(":stackset/"):]
		}
		name, _, _ = strings.Cut(name, ":")
		if !env.OwnsRule(name) {
			return Finding{}, false
		}
		set := "trailwatch's member StackSet " + name
		f.Resource = Resource{Type: "CloudFormation StackSet", Name: name, Region: rec.AWSRegion}
		switch rec.EventName {
		case "DeleteStackSet":
			f.Severity = SeverityCritical
			f.Changes = []Change{{Setting: "StackSet", Before: "exists", After: "deleted"}}
			done, impact, tried = set+" deleted", ": new member accounts are no longer covered", "delete "+set
		case "DeleteStackInstances":
			f.Severity = SeverityCritical
			accounts := jsonStrings(field(fields(field(rp, "deploymentTargets")), "accounts"))
			ous := jsonStrings(field(fields(field(rp, "deploymentTargets")), "organizationalUnitIds"))
			regions := jsonStrings(field(rp, "regions"))
			targets := strings.Join(append(append([]string{}, ous...), accounts...), ", ")
			f.Changes = []Change{{Setting: "Stack instances", Before: "deployed", After: "deleted in " + orNone(targets) + " (" + orNone(strings.Join(regions, ", ")) + ")"}}
			done, impact, tried = "Stack instances deleted from "+set, ": those accounts and regions no longer forward their events", "delete stack instances of "+set
		case "StopStackSetOperation":
			f.Severity = SeverityHigh
			f.Changes = []Change{{Setting: "Operation " + str("operationId"), Before: "running", After: "stopped"}}
			done, impact, tried = "An operation of "+set+" stopped", ": some member stacks may not be deployed or updated", "stop an operation of "+set
		default:
			f.Severity = SeverityHigh
			f.Changes = []Change{{Setting: "StackSet", Before: NotRecorded, After: "updated (" + rec.EventName + ")"}}
			f.Evidence = []Evidence{{Label: "Update in the request", Text: compactJSON(rec.RequestParameters)}}
			done, impact, tried = set+" updated", ": the member template may no longer forward events", "update "+set
		}
	default:
		// The bus: DeleteEventBus names it in name, the others in
		// eventBusName (absent: the default bus, not trailwatch's).
		name := str("eventBusName")
		if rec.EventName == "DeleteEventBus" {
			name = str("name")
		}
		if i := strings.LastIndex(name, ":event-bus/"); i >= 0 {
			name = name[i+len(":event-bus/"):]
		}
		if name == "" || name == "default" || !env.OwnsRule(name) {
			return Finding{}, false
		}
		bus := "trailwatch's central event bus " + name
		f.Resource = Resource{Type: "EventBridge event bus", Name: name, Region: rec.AWSRegion, ARN: regionalResourceARN(rec, "events", "event-bus/"+name)}
		switch rec.EventName {
		case "DeleteEventBus":
			f.Severity = SeverityCritical
			f.Changes = []Change{{Setting: "Event bus", Before: "exists", After: "deleted"}}
			done, impact, tried = bus+" deleted", ": no member account's events reach trailwatch", "delete "+bus
		case "RemovePermission":
			f.Severity = SeverityCritical
			f.Changes = []Change{{Setting: "Permission " + orNone(str("statementId")), Before: "granted", After: "removed"}}
			done, impact, tried = "Permission removed from "+bus, ": member accounts may no longer forward their events", "remove a permission from "+bus
		default:
			f.Severity = SeverityHigh
			f.Changes = []Change{{Setting: "Policy", Before: NotRecorded, After: "replaced (" + rec.EventName + ")"}}
			f.Evidence = []Evidence{{Label: "Policy in the request", Text: compactJSON(rec.RequestParameters)}}
			done, impact, tried = "Policy of "+bus+" changed", ": who may forward events changed", "change the policy of "+bus
		}
	}
	return selfOutcome(f, rec, done, impact, tried), true
}

func orNone(s string) string {
	if s == "" {
		return "none named"
	}
	return s
}
