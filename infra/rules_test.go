package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

// templateRule is an AWS::Events::Rule of a synthesized template.
type templateRule struct {
	LogicalID string
	Props     map[string]any
	Target    map[string]any
}

// InputTemplate is what the rule's only target sends the function.
func (r templateRule) InputTemplate() string {
	it, _ := r.Target["InputTransformer"].(obj)
	s, _ := it["InputTemplate"].(string)
	return s
}

// templateRules maps every rule of the template to the detection it serves,
// found through the input template, the one place the rule names its
// detection for the function. Rules that serve no detection of the catalog
// fail the test.
func templateRules(t *testing.T, tmpl map[string]any, catalog *detect.Catalog) map[string]templateRule {
	t.Helper()
	byTemplate := map[string]string{}
	for _, d := range catalog.All() {
		byTemplate[event.RuleInputTemplate(d.ID)] = d.ID
	}
	out := map[string]templateRule{}
	for id, res := range resources(tmpl, "AWS::Events::Rule") {
		p := props(res)
		if _, scheduled := p["ScheduleExpression"]; scheduled {
			continue // the digest schedule; TestDigestSchedule checks it
		}
		targets, _ := p["Targets"].(arr)
		if len(targets) != 1 {
			t.Errorf("rule %s has %d targets, want 1", id, len(targets))
			continue
		}
		r := templateRule{LogicalID: id, Props: p, Target: targets[0].(obj)}
		detectionID, ok := byTemplate[r.InputTemplate()]
		if !ok {
			t.Errorf("rule %s: input template %q serves no detection of the catalog", id, r.InputTemplate())
			continue
		}
		if prev, dup := out[detectionID]; dup {
			t.Errorf("rules %s and %s both serve %s", prev.LogicalID, id, detectionID)
		}
		out[detectionID] = r
	}
	return out
}

func TestOneRulePerDetection(t *testing.T) {
	s := synth(t)
	all := ruled(s.catalog)
	assert(t, "rule count", func() {
		// One per detection, plus the digest schedule.
		s.template.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(float64(len(all)+1)))
	})
	rules := templateRules(t, s.json, s.catalog)
	if len(rules) != len(all) {
		t.Errorf("%d rules serve detections, want %d (one per detection)", len(rules), len(all))
	}
	fnID := logicalID(t, s.stack.Stack, s.stack.Function.Function)
	instanceID := logicalID(t, s.stack.Stack, s.stack.Instance.Function)
	queueID := logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue)
	// The rules are the patterns under the stack's settings (the
	// configuration's plus its own names), as its functions decide.
	deployed, err := s.catalog.WithEnv(s.stack.Settings.Env)
	if err != nil {
		t.Fatal(err)
	}

	for _, d := range all {
		t.Run(d.ID, func(t *testing.T) {
			r, ok := rules[d.ID]
			if !ok {
				t.Fatalf("no rule for %s", d.ID)
			}
			if got, want := r.Props["Description"], fmt.Sprintf("trailwatch %s: %s", d.ID, d.Title); got != want {
				t.Errorf("Description = %q, want %q", got, want)
			}
			want := ruleEnabled
			if d.NeedsReadOnly {
				want = ruleEnabledAllManagementEvents
			}
			if got := r.Props["State"]; got != want {
				t.Errorf("State = %v, want %v", got, want)
			}
			if got, want := r.Props["Name"], "Trailwatch-"+d.ID; got != want {
				t.Errorf("Name = %v, want %v", got, want)
			}
			wantPattern, err := patternJSON(d.ID, deployed.PatternOf(d))
			if err != nil {
				t.Fatal(err)
			}
			if !equalJSON(r.Props["EventPattern"], wantPattern) {
				t.Errorf("EventPattern = %v, want the catalog's %v", r.Props["EventPattern"], wantPattern)
			}
			if got, want := r.InputTemplate(), event.RuleInputTemplate(d.ID); got != want {
				t.Errorf("InputTemplate = %s, want %s", got, want)
			}
			wantFn := fnID
			if d.Function == detect.FunctionInstance {
				wantFn = instanceID
			}
			if got := r.Target["Arn"]; !equalJSON(got, getAtt(wantFn, "Arn")) {
				t.Errorf("target = %v, want function %s", got, wantFn)
			}
			if got := r.Target["DeadLetterConfig"]; !equalJSON(got, obj{"Arn": getAtt(queueID, "Arn")}) {
				t.Errorf("DeadLetterConfig = %v, want the dead-letter queue", got)
			}
			retry := obj{"MaximumEventAgeInSeconds": targetMaxEventAgeSeconds, "MaximumRetryAttempts": targetMaxRetryAttempts}
			if got := r.Target["RetryPolicy"]; !equalJSON(got, retry) {
				t.Errorf("RetryPolicy = %v, want %v", got, retry)
			}
		})
	}
}

func TestReadOnlyDetectionGetsAllManagementEvents(t *testing.T) {
	s := synth(t)
	rules := templateRules(t, s.existingJSON, s.existingCatalog)
	for _, d := range ruled(s.existingCatalog) {
		want := ruleEnabled
		if d.NeedsReadOnly {
			want = ruleEnabledAllManagementEvents
		}
		if got := rules[d.ID].Props["State"]; got != want {
			t.Errorf("%s (NeedsReadOnly %t): State = %v, want %v", d.ID, d.NeedsReadOnly, got, want)
		}
	}
	if _, ok := rules[readOnlyProbeID]; !ok {
		t.Errorf("no rule for the read-only probe %s", readOnlyProbeID)
	}
}

func TestRulesMayInvokeAndDeadLetter(t *testing.T) {
	s := synth(t)
	fnID := logicalID(t, s.stack.Stack, s.stack.Function.Function)
	topicID := logicalID(t, s.stack.Stack, s.stack.Notifications.Topic)
	rulesArn := "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/Trailwatch-*"

	perms := 0
	for id, p := range resources(s.json, "AWS::Lambda::Permission") {
		pp := props(p)
		if !equalJSON(pp["FunctionName"], getAtt(fnID, "Arn")) {
			continue // the digest function's, see TestDigestSchedule
		}
		perms++
		if pp["Principal"] != "events.amazonaws.com" || pp["Action"] != "lambda:InvokeFunction" || flat(pp["SourceArn"]) != rulesArn {
			t.Errorf("permission %s = %v, want events.amazonaws.com to invoke the function from %s", id, pp, rulesArn)
		}
	}
	if perms != 1 {
		t.Errorf("%d Lambda permissions on the CloudTrail function, want 1 for all rules", perms)
	}

	found := false
	for _, qp := range resources(s.json, "AWS::SQS::QueuePolicy") {
		for _, st := range statements(t, props(qp)["PolicyDocument"]) {
			if st["Effect"] != "Allow" {
				continue
			}
			if st["Sid"] == "AllowDigestScheduleToDeadLetter" {
				continue // TestDigestSchedule
			}
			cond, _ := st["Condition"].(obj)
			if principalService(st) == "sns.amazonaws.com" && st["Action"] == "sqs:SendMessage" &&
				equalJSON(cond, obj{"ArnEquals": obj{"aws:SourceArn": ref(topicID)}}) {
				continue // the email subscriptions' dead letters, TestEmailSubscriptions
			}
			like, _ := cond["ArnLike"].(obj)
			if principalService(st) != "events.amazonaws.com" || st["Action"] != "sqs:SendMessage" || flat(like["aws:SourceArn"]) != rulesArn {
				t.Errorf("queue policy allows %v", st)
				continue
			}
			found = true
		}
	}
	if !found {
		t.Error("the dead-letter queue does not let the rules send to it")
	}
}

func TestConstructID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"s3-bucket-acl-public", "S3BucketAclPublic"},
		{"iam-user-created", "IamUserCreated"},
		{"x", "X"},
	}
	for _, tt := range tests {
		if got := constructID(tt.in); got != tt.want {
			t.Errorf("constructID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRuleNamesFitEventBridge(t *testing.T) {
	s := synth(t)
	for _, d := range s.catalog.All() {
		if name := stackName + "-" + d.ID; len(name) > maxRuleNameLength {
			t.Errorf("rule name %s has %d characters, EventBridge allows %d", name, len(name), maxRuleNameLength)
		}
		if strings.ContainsAny(d.ID, " /") {
			t.Errorf("detection ID %q cannot be part of a rule name", d.ID)
		}
	}
}

// TestDigestSchedule: the digest function runs every storm window, with the
// rules' retry policy and dead-letter queue, and may be invoked by that
// schedule only.
func TestDigestSchedule(t *testing.T) {
	s := synth(t)
	scheduleID := logicalID(t, s.stack.Stack, s.stack.DigestSchedule)
	digestID := logicalID(t, s.stack.Stack, s.stack.Digest.Function)
	queueID := logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue)
	rule := props(resources(s.json, "AWS::Events::Rule")[scheduleID])
	if rule["ScheduleExpression"] != "rate(5 minutes)" || rule["State"] != ruleEnabled {
		t.Errorf("schedule %v, state %v", rule["ScheduleExpression"], rule["State"])
	}
	target := rule["Targets"].(arr)[0].(obj)
	if !equalJSON(target["Arn"], getAtt(digestID, "Arn")) || !equalJSON(target["DeadLetterConfig"], obj{"Arn": getAtt(queueID, "Arn")}) || target["RetryPolicy"] == nil {
		t.Errorf("schedule target %v", target)
	}
	found := false
	for _, p := range resources(s.json, "AWS::Lambda::Permission") {
		pp := props(p)
		if equalJSON(pp["FunctionName"], getAtt(digestID, "Arn")) {
			found = true
			if !equalJSON(pp["SourceArn"], getAtt(scheduleID, "Arn")) || pp["Principal"] != "events.amazonaws.com" {
				t.Errorf("digest permission %v", pp)
			}
		}
	}
	if !found {
		t.Error("the schedule may not invoke the digest function")
	}
}
