//lint:file-ignore SA1019 cxapi.SynthesisMessage is what assertions and the Go CDK return for annotations; its successor (@aws-cdk/cloud-assembly-api) has no Go binding in awscdk v2.270.0.

package main

import (
	"reflect"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
)

func TestForwardRegions(t *testing.T) {
	for _, tc := range []struct {
		home       string
		configured []string
		want       []string
	}{
		{"eu-west-1", []string{"us-east-1"}, []string{"us-east-1"}},
		{"us-east-1", []string{"us-east-1"}, nil},
		{"eu-west-1", []string{"us-east-1", "eu-west-1", "eu-central-1", "us-east-1"}, []string{"us-east-1", "eu-central-1"}},
		{"", []string{"us-east-1"}, nil},
	} {
		if got := forwardRegions(tc.home, tc.configured); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("forwardRegions(%q, %v) = %v, want %v", tc.home, tc.configured, got, tc.want)
		}
	}
}

// TestForwarder checks the us-east-1 forwarder of a stack in eu-west-1:
// one rule per detection with the catalog's pattern and state, each sending
// to the home region's default bus through a role that may only put events
// there, with retries and a dead-letter queue whose alarm emails.
func TestForwarder(t *testing.T) {
	s := synth(t)
	tmpl := s.forwarderJSON
	// The stack names its region, so CDK writes the partition as a literal.
	bus := map[string]any{"Fn::Join": []any{"", []any{"arn:aws:events:" + testHomeRegion + ":", map[string]any{"Ref": "AWS::AccountId"}, ":event-bus/default"}}}
	roleID := logicalID(t, s.forwarder.Stack, s.forwarder.Role)
	queueID := logicalID(t, s.forwarder.Stack, s.forwarder.Notifications.DeadLetterQueue)

	rules := resources(tmpl, "AWS::Events::Rule")
	if len(rules) != len(ruled(s.existingCatalog)) {
		t.Fatalf("%d forwarding rules for %d detections with rules", len(rules), len(ruled(s.existingCatalog)))
	}
	for id, d := range s.forwarder.Rules {
		r := props(rules[logicalID(t, s.forwarder.Stack, d)])
		det, _ := s.existingCatalog.Get(id)
		want, err := patternOf(det)
		if err != nil {
			t.Fatal(err)
		}
		if !equalJSON(r["EventPattern"], want) {
			t.Errorf("%s: pattern %v, want the catalog's %v", id, r["EventPattern"], want)
		}
		if r["State"] != ruleState(det) {
			t.Errorf("%s: state %v, want %s", id, r["State"], ruleState(det))
		}
		targets, _ := r["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("%s: %d targets", id, len(targets))
		}
		target := targets[0].(map[string]any)
		if !equalJSON(target["Arn"], bus) {
			t.Errorf("%s: target %v, want the home bus", id, target["Arn"])
		}
		if !equalJSON(target["RoleArn"], getAtt(roleID, "Arn")) {
			t.Errorf("%s: role %v", id, target["RoleArn"])
		}
		if !equalJSON(target["DeadLetterConfig"], map[string]any{"Arn": getAtt(queueID, "Arn")}) || target["RetryPolicy"] == nil {
			t.Errorf("%s: dead-letter %v, retry %v", id, target["DeadLetterConfig"], target["RetryPolicy"])
		}
		if target["InputTransformer"] != nil {
			t.Errorf("%s: forwarded events must stay untouched", id)
		}
	}
	wantPerms := map[string]string{"events:PutEvents": "arn:aws:events:" + testHomeRegion + ":${AWS::AccountId}:event-bus/default"}
	if got := rolePermissions(t, tmpl, roleID); !reflect.DeepEqual(got, wantPerms) {
		t.Errorf("forwarding role may %v, want %v", got, wantPerms)
	}
	alarms := resources(tmpl, "AWS::CloudWatch::Alarm")
	if len(alarms) != 1 {
		t.Errorf("%d alarms, want the dead-letter alarm", len(alarms))
	}
	if n := len(resources(tmpl, "AWS::SNS::Subscription")); n != len(testEmails) {
		t.Errorf("%d email subscriptions, want %d", n, len(testEmails))
	}
	for _, level := range []cxapi.SynthesisMessageLevel{cxapi.SynthesisMessageLevel_ERROR, cxapi.SynthesisMessageLevel_WARNING} {
		for _, m := range findMessages(s.forwarderMessages, level, nagFinding) {
			t.Errorf("cdk-nag %s on the forwarder: %v", level, m.Entry.Data)
		}
	}
}
