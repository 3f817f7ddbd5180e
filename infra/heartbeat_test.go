package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"quamina.net/go/quamina"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
)

// heartbeatActions are the Organizations calls of the heartbeat check.
var heartbeatActions = []string{"organizations:DescribeOrganization", "organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"}

// heartbeatFixture is the recorded member heartbeat under events/.
func heartbeatFixture(name string) bool {
	return name == "heartbeat/trailwatch-member-silent-heartbeat.json"
}

// TestHeartbeats checks both ends of the heartbeat: the member template's
// scheduled rule to the central bus through the forwarding role, and the
// central side's rule, check schedule, and the digest function's
// permissions and settings.
func TestHeartbeats(t *testing.T) {
	s := synth(t)
	m := s.member
	roleID := logicalID(t, m.Stack.Stack, m.Stack.ForwardRole)
	queueID := logicalID(t, m.Stack.Stack, m.Stack.DeadLetterQueue)
	member := props(resources(m.Template, "AWS::Events::Rule")[logicalID(t, m.Stack.Stack, m.Stack.HeartbeatRule)])
	if member["Name"] != heartbeat.RuleName || member["ScheduleExpression"] != "rate(1 hour)" || member["State"] != ruleEnabled {
		t.Errorf("member heartbeat rule: Name %v, ScheduleExpression %v, State %v", member["Name"], member["ScheduleExpression"], member["State"])
	}
	if member["EventBusName"] != nil || member["EventPattern"] != nil {
		t.Errorf("member heartbeat rule: bus %v, pattern %v; want a schedule on the default bus", member["EventBusName"], member["EventPattern"])
	}
	checkForwardTarget(t, "heartbeat", member, roleID, queueID)

	st := s.org.Stack
	busID := logicalID(t, st, s.org.Organization.Bus)
	digestID := logicalID(t, st, s.org.Digest.Function)
	dlqID := logicalID(t, st, s.org.Notifications.DeadLetterQueue)
	hb := s.org.Organization.Heartbeats
	rules := resources(s.orgJSON, "AWS::Events::Rule")
	central := props(rules[logicalID(t, st, hb.Rule)])
	if central["Name"] != testOrgStack+"-member-heartbeats" || !equalJSON(central["EventBusName"], ref(busID)) || central["State"] != ruleEnabled {
		t.Errorf("central heartbeat rule: Name %v, bus %v, State %v", central["Name"], central["EventBusName"], central["State"])
	}
	want, err := patternJSON("heartbeats", heartbeatPattern())
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(central["EventPattern"], want) {
		t.Errorf("central heartbeat pattern %v, want %v", central["EventPattern"], want)
	}
	check := props(rules[logicalID(t, st, hb.Check)])
	if check["ScheduleExpression"] != "rate(1 hour)" || check["EventBusName"] != nil {
		t.Errorf("check schedule: %v on %v", check["ScheduleExpression"], check["EventBusName"])
	}
	for what, r := range map[string]obj{"heartbeat rule": central, "check schedule": check} {
		targets, _ := r["Targets"].(arr)
		if len(targets) != 1 {
			t.Fatalf("%s: %d targets", what, len(targets))
		}
		tg := targets[0].(obj)
		if !equalJSON(tg["Arn"], obj{"Fn::GetAtt": arr{digestID, "Arn"}}) {
			t.Errorf("%s targets %v, want the digest function", what, tg["Arn"])
		}
		if !equalJSON(tg["RetryPolicy"], obj{"MaximumEventAgeInSeconds": targetMaxEventAgeSeconds, "MaximumRetryAttempts": targetMaxRetryAttempts}) {
			t.Errorf("%s: retry policy %v", what, tg["RetryPolicy"])
		}
		if !equalJSON(tg["DeadLetterConfig"], obj{"Arn": obj{"Fn::GetAtt": arr{dlqID, "Arn"}}}) {
			t.Errorf("%s: dead-letter config %v", what, tg["DeadLetterConfig"])
		}
		wantInput := any(nil)
		if what == "check schedule" {
			wantInput = heartbeat.CheckInput
		}
		if tg["Input"] != wantInput {
			t.Errorf("%s: Input %v, want %v", what, tg["Input"], wantInput)
		}
	}
	invokers := 0
	for _, p := range resources(s.orgJSON, "AWS::Lambda::Permission") {
		pp := props(p)
		if equalJSON(pp["FunctionName"], obj{"Fn::GetAtt": arr{digestID, "Arn"}}) && pp["Principal"] == "events.amazonaws.com" &&
			(equalJSON(pp["SourceArn"], obj{"Fn::GetAtt": arr{logicalID(t, st, hb.Rule), "Arn"}}) || equalJSON(pp["SourceArn"], obj{"Fn::GetAtt": arr{logicalID(t, st, hb.Check), "Arn"}})) {
			invokers++
		}
	}
	if invokers != 2 {
		t.Errorf("%d permissions for the heartbeat rules to invoke the digest function, want 2", invokers)
	}

	// The digest function: its settings, and exactly the Organizations
	// calls of the check, on this organization's root and OUs.
	env := functionEnv(t, s.orgJSON, digestID)
	if env[heartbeat.EnvTargets] != testOrgTarget || env[heartbeat.EnvRegions] != "ap-southeast-2,eu-west-1,us-east-1" || env[heartbeat.EnvPeriodMinutes] != "60" {
		t.Errorf("digest function environment: %v", env)
	}
	if env[heartbeat.EnvHomeAccount] != testHomeAccount {
		t.Errorf("%s = %v, want the stack's account %s", heartbeat.EnvHomeAccount, env[heartbeat.EnvHomeAccount], testHomeAccount)
	}
	sts := roleStatements(t, s.orgJSON, logicalID(t, st, s.org.Digest.Role))
	wantList := policyStatement{
		Sid: "ListTargetAccounts", Actions: []string{"organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"},
		Resources: []string{"arn:${AWS::Partition}:organizations::*:ou/" + testOrganizationID + "/ou-*", "arn:${AWS::Partition}:organizations::*:root/" + testOrganizationID + "/r-*"},
	}
	wantDescribe := policyStatement{Sid: "DescribeOrganization", Actions: []string{"organizations:DescribeOrganization"}, Resources: []string{"*"}}
	for _, w := range []policyStatement{wantList, wantDescribe} {
		if !slices.ContainsFunc(sts, func(st policyStatement) bool { return equalJSON(st, w) }) {
			t.Errorf("digest role: no statement %+v in %+v", w, sts)
		}
	}
	// Without organization mode: no heartbeat settings, no such rules.
	if env := functionEnv(t, s.json, logicalID(t, s.stack.Stack, s.stack.Digest.Function)); env[heartbeat.EnvTargets] != nil {
		t.Errorf("standalone digest function has %s", heartbeat.EnvTargets)
	}
	for a := range actionsOf(roleStatements(t, s.json, logicalID(t, s.stack.Stack, s.stack.Digest.Role))) {
		if strings.HasPrefix(a, "organizations:") {
			t.Errorf("standalone digest function may %s", a)
		}
	}
}

// TestHeartbeatPattern runs the central heartbeat rule's pattern, as
// synthesized, through quamina: it matches the recorded heartbeat, in
// any member account and region, and only events heartbeat.Parse takes
// for one or refuses as forged; not the digest schedule, not other
// scheduled rules, not a custom event.
func TestHeartbeatPattern(t *testing.T) {
	s := synth(t)
	q, err := quamina.New()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(props(resources(s.orgJSON, "AWS::Events::Rule")[logicalID(t, s.org.Stack, s.org.Organization.Heartbeats.Rule)])["EventPattern"])
	if err != nil {
		t.Fatal(err)
	}
	if err := q.AddPattern("heartbeats", string(b)); err != nil {
		t.Fatalf("pattern %s not understood by quamina: %v", b, err)
	}
	recorded := string(fixture.Read(t, "heartbeat/trailwatch-member-silent-heartbeat.json"))
	tests := []struct {
		name  string
		event string
		match bool
	}{
		{"recorded heartbeat", recorded, true},
		{"heartbeat of another member in another region", strings.ReplaceAll(strings.ReplaceAll(recorded, "444455556666", "777788889999"), "eu-west-1", "ap-southeast-2"), true},
		{"the digest schedule", strings.Replace(recorded, "TrailwatchMember-heartbeat", "Trailwatch-DigestSchedule", 1), false},
		{"another scheduled rule of the member", strings.Replace(recorded, "TrailwatchMember-heartbeat", "TrailwatchMember-heartbeat-2", 1), false},
		{"a custom event with the rule's ARN", strings.Replace(recorded, `"source": "aws.events"`, `"source": "custom.heartbeat"`, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := q.MatchesForEvent([]byte(tt.event))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) > 0) != tt.match {
				t.Fatalf("matched %v, want match %t", got, tt.match)
			}
			ev, err := event.Decode([]byte(tt.event))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, ok := heartbeat.Parse(ev.Envelope); ok != tt.match {
				t.Errorf("heartbeat.Parse = %t, the rule matches %t", ok, tt.match)
			}
		})
	}
}
