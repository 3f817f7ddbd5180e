package detect

import (
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "trailwatch-rule-tampered",
		Title: "trailwatch's EventBridge rules disabled, deleted or redirected",
		Description: "One of trailwatch's own EventBridge rules (its detection rules, named Trailwatch-<detection>, or a " +
			"forwarder stack's rules) was switched off or cut from the function: the detection it carries goes silent " +
			"without any error. Critical: DisableRule, DeleteRule, RemoveTargets, and PutRule with state DISABLED. High: " +
			"PutRule that redefines the rule otherwise (its pattern may no longer match) and PutTargets (the events may go " +
			"elsewhere). A change CloudFormation makes (deploying or deleting a trailwatch stack) is low; a denied attempt " +
			"is low. Which rules are trailwatch's comes from the settings (the stacks' name prefixes); without settings, " +
			"rules named Trailwatch-* and TrailwatchForwarder-* on the default event bus. A rule that is disabled cannot " +
			"report its own change, so disabling this detection's rule first goes unreported; DisableRule on the other " +
			"rules still is.",
		Severity: SeverityCritical,
		Pattern:  APICall([]string{srcEvents}, "DisableRule", "DeleteRule", "RemoveTargets", "PutRule", "PutTargets"),
		Evaluate: evaluateRuleTampered,
		MITRE:    []string{"T1562.001", "T1562.006"},
		Runbook: "Find out who changed the rule and whether it was a planned trailwatch deployment (a CloudFormation " +
			"stack operation shows in the alert). If not, restore the stack's rules by deploying trailwatch again (npx cdk " +
			"deploy --all), which puts back every rule's pattern, state and target, or by hand (aws events enable-rule " +
			"--name RULE). Check the rules (aws events list-rules --name-prefix Trailwatch-) and their targets (aws events " +
			"list-targets-by-rule --rule RULE). Then replay what the rule missed from CloudTrail (trailwatch replay over the " +
			"trail's log files since the change), treat the principal as compromised until explained, and deny " +
			"events:DisableRule, DeleteRule, RemoveTargets, PutRule and PutTargets on rule/Trailwatch-* to everyone but the " +
			"deployment role with an SCP or permissions boundary.",
		References: []string{
			"https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DisableRule.html",
			"https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html",
			"https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RemoveTargets.html",
			"https://docs.aws.amazon.com/eventbridge/latest/userguide/logging-using-cloudtrail.html",
		},
		FalsePositives: []string{
			"trailwatch deployments and stack deletions (reported low, by CloudFormation).",
			"Someone disabling a noisy detection's rule by hand instead of with an allow-list: use an allow-list rule.",
		},
		Protected: true,
		// The digest of a storm window would be sent by what this
		// detection sees being deleted or cut off.
		Immediate: true,
		Tests: Tests{
			Positive: []Example{
				{"events/trailwatch-rule-tampered-disable-rule.json", SeverityCritical},
				{"events/trailwatch-rule-tampered-delete-rule.json", SeverityCritical},
				{"events/trailwatch-rule-tampered-remove-targets.json", SeverityCritical},
				{"events/trailwatch-rule-tampered-put-rule-disabled.json", SeverityCritical},
				{"events/trailwatch-rule-tampered-put-rule-pattern.json", SeverityHigh},
				{"events/trailwatch-rule-tampered-put-targets.json", SeverityHigh},
				{"events/trailwatch-rule-tampered-forwarder-disable-rule.json", SeverityCritical},
				{"events/trailwatch-rule-tampered-cloudformation-put-rule.json", SeverityLow},
				{"events/trailwatch-rule-tampered-disable-rule-denied.json", SeverityLow},
			},
			Negative: []string{
				"events/trailwatch-rule-tampered-disable-other-rule.json",
				"events/trailwatch-rule-tampered-custom-bus.json",
				"events/trailwatch-rule-tampered-describe-rule.json",
			},
		},
	})
}

// ruleParams are the request parameters of the EventBridge rule APIs:
// DisableRule, DeleteRule and PutRule name the rule in name, RemoveTargets
// and PutTargets in rule.
type ruleParams struct {
	Name         paramValue `json:"name"`
	Rule         paramValue `json:"rule"`
	EventBusName paramValue `json:"eventBusName"`
	State        paramValue `json:"state"`
	EventPattern paramValue `json:"eventPattern"`
	IDs          paramValue `json:"ids"`
	Targets      paramValue `json:"targets"`
}

// onDefaultBus reports whether an eventBusName parameter (absent, a name or
// an ARN) is the default event bus, where trailwatch's rules live.
func onDefaultBus(bus paramValue) bool {
	name, ok := bus.Str()
	return !ok || name == "" || name == "default" || strings.HasSuffix(name, ":event-bus/default")
}

func ruleResource(rec *cloudtrail.Record, name string) Resource {
	r := Resource{Type: "EventBridge rule", Name: name, Region: rec.AWSRegion}
	if strings.HasPrefix(name, "arn:") {
		r.ARN, r.Name = name, arnResourceName(name, "rule/")
	} else if name != "" {
		r.ARN = regionalResourceARN(rec, "events", "rule/"+name)
	}
	return r
}

func evaluateRuleTampered(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	var rp ruleParams
	decodeInto(rec.RequestParameters, &rp)
	name, _ := rp.Name.Str()
	if rec.EventName == "RemoveTargets" || rec.EventName == "PutTargets" {
		name, _ = rp.Rule.Str()
	}
	f := Finding{Resource: ruleResource(rec, name)}
	if !onDefaultBus(rp.EventBusName) || !env.OwnsRule(f.Resource.Name) {
		return Finding{}, false
	}
	rule := "trailwatch rule " + f.Resource.Name
	silent := ": its detection no longer reaches trailwatch"
	switch rec.EventName {
	case "DisableRule":
		f.Severity = SeverityCritical
		f.Changes = []Change{{Setting: "State", Before: NotRecorded, After: "DISABLED"}}
		return selfOutcome(f, rec, rule+" disabled", silent, "disable "+rule), true
	case "DeleteRule":
		f.Severity = SeverityCritical
		f.Changes = []Change{{Setting: "Rule", Before: "exists", After: "deleted"}}
		return selfOutcome(f, rec, rule+" deleted", silent, "delete "+rule), true
	case "RemoveTargets":
		f.Severity = SeverityCritical
		ids := rp.IDs.Strings()
		for _, id := range ids {
			f.Changes = append(f.Changes, Change{Setting: "Target " + id, Before: NotRecorded, After: "removed"})
		}
		what := "targets"
		if len(ids) > 0 {
			what = countPhrase(len(ids), "target", "targets") + " (" + listPhrase(ids) + ")"
		}
		return selfOutcome(f, rec, rule+" lost "+what, silent, "remove targets from "+rule), true
	case "PutRule":
		state, _ := rp.State.Str()
		f.Evidence = []Evidence{{Label: "Rule definition in the request", Text: compactJSON(rec.RequestParameters)}}
		if pattern, ok := rp.EventPattern.Str(); ok {
			f.Changes = append(f.Changes, Change{Setting: "Event pattern", Before: NotRecorded, After: pattern})
		}
		if state != "" {
			f.Changes = append(f.Changes, Change{Setting: "State", Before: NotRecorded, After: state})
		}
		if strings.EqualFold(state, "DISABLED") {
			f.Severity = SeverityCritical
			return selfOutcome(f, rec, rule+" redefined as disabled", silent, "redefine "+rule), true
		}
		f.Severity = SeverityHigh
		return selfOutcome(f, rec, rule+" redefined", ": its pattern may no longer match what the detection needs",
			"redefine "+rule), true
	case "PutTargets":
		f.Severity = SeverityHigh
		for _, raw := range rp.Targets.Objects() {
			var t struct {
				ID  paramValue `json:"id"`
				ARN paramValue `json:"arn"`
			}
			decodeInto(raw, &t)
			id, _ := t.ID.Str()
			arn, _ := t.ARN.Str()
			f.Changes = append(f.Changes, Change{Setting: "Target " + id, Before: NotRecorded, After: arn})
		}
		f.Evidence = []Evidence{{Label: "Targets in the request", Text: rp.Targets.JSON()}}
		return selfOutcome(f, rec, rule+" given new targets", ": its events may go elsewhere", "change the targets of "+rule), true
	}
	return Finding{}, false
}
