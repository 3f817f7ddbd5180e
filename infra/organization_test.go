//lint:file-ignore SA1019 cxapi.SynthesisMessage is what assertions and the Go CDK return for annotations; its successor (@aws-cdk/cloud-assembly-api) has no Go binding in awscdk v2.270.0.

package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"

	"quamina.net/go/quamina"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
)

// testMemberAccount is the member account the fixtures are moved to.
const testMemberAccount = "444455556666"

// policyStatement is one statement of an IAM policy, flattened.
type policyStatement struct {
	Sid       string
	Actions   []string
	Resources []string
	Condition any
}

// statementsOf flattens the statements of a policy document.
func statementsOf(t *testing.T, doc any) []policyStatement {
	t.Helper()
	var out []policyStatement
	for _, st := range statements(t, doc) {
		if st["Effect"] != "Allow" {
			t.Errorf("statement %v is not Allow", st)
			continue
		}
		p := policyStatement{Condition: st["Condition"]}
		p.Sid, _ = st["Sid"].(string)
		for _, a := range asList(st["Action"]) {
			p.Actions = append(p.Actions, a.(string))
		}
		slices.Sort(p.Actions)
		for _, r := range asList(st["Resource"]) {
			p.Resources = append(p.Resources, flat(r))
		}
		out = append(out, p)
	}
	return out
}

// roleStatements returns every statement the role's AWS::IAM::Policy
// resources and inline policies allow.
func roleStatements(t *testing.T, tmpl map[string]any, roleID string) []policyStatement {
	t.Helper()
	var out []policyStatement
	for _, p := range resources(tmpl, "AWS::IAM::Policy") {
		if slices.ContainsFunc(props(p)["Roles"].(arr), func(r any) bool { return equalJSON(r, ref(roleID)) }) {
			out = append(out, statementsOf(t, props(p)["PolicyDocument"])...)
		}
	}
	role := resources(tmpl, "AWS::IAM::Role")[roleID]
	inline, _ := props(role)["Policies"].(arr)
	for _, p := range inline {
		out = append(out, statementsOf(t, p.(obj)["PolicyDocument"])...)
	}
	return out
}

// actionsOf maps each action of the statements to its sorted resources.
func actionsOf(sts []policyStatement) map[string][]string {
	out := map[string][]string{}
	for _, st := range sts {
		for _, a := range st.Actions {
			out[a] = append(out[a], st.Resources...)
			slices.Sort(out[a])
		}
	}
	return out
}

// busRules returns the template's rules on the bus with the given logical
// ID ("" for the default bus), keyed by logical ID.
func busRules(tmpl map[string]any, busID string) map[string]obj {
	out := map[string]obj{}
	for id, r := range resources(tmpl, "AWS::Events::Rule") {
		p := props(r)
		if _, scheduled := p["ScheduleExpression"]; scheduled {
			continue
		}
		onBus := p["EventBusName"] != nil
		if (busID == "" && !onBus) || (busID != "" && equalJSON(p["EventBusName"], ref(busID))) {
			out[id] = p
		}
	}
	return out
}

func TestOrganizationBusPolicy(t *testing.T) {
	s := synth(t)
	busID := logicalID(t, s.org.Stack, s.org.Organization.Bus)
	bus := resources(s.orgJSON, "AWS::Events::EventBus")
	if len(bus) != 1 || props(bus[busID])["Name"] != testOrgStack+"-Organization" {
		t.Fatalf("event buses %v, want one named %s-Organization", bus, testOrgStack)
	}
	if n := len(resources(s.orgJSON, "AWS::Events::EventBusPolicy")); n != 0 {
		t.Errorf("%d AWS::Events::EventBusPolicy resources; the policy is the bus's own", n)
	}
	want := obj{"Version": "2012-10-17", "Statement": arr{obj{
		"Sid":       "OrganizationPutsEvents",
		"Effect":    "Allow",
		"Principal": "*",
		"Action":    "events:PutEvents",
		"Resource":  "arn:aws:events:" + testHomeRegion + ":" + testHomeAccount + ":event-bus/" + testOrgStack + "-Organization",
		"Condition": obj{"StringEquals": obj{"aws:PrincipalOrgID": testOrganizationID}},
	}}}
	if got := props(bus[busID])["Policy"]; !equalJSON(got, want) {
		t.Errorf("bus policy = %v, want %v", got, want)
	}
	// Only the organization mode stack has a bus.
	for name, tmpl := range map[string]map[string]any{"main": s.json, "existing": s.existingJSON} {
		if n := len(resources(tmpl, "AWS::Events::EventBus")); n != 0 {
			t.Errorf("%s stack has %d event buses without organization mode", name, n)
		}
	}
}

// TestOrganizationRules: the catalog's rules on the central bus, beside
// the home account's own on the default bus, with the same targets,
// retries and dead-letter queue; read-only detections plain ENABLED.
func TestOrganizationRules(t *testing.T) {
	s := synth(t)
	st := s.org.Stack
	busID := logicalID(t, st, s.org.Organization.Bus)
	fnID := logicalID(t, st, s.org.Function.Function)
	instanceID := logicalID(t, st, s.org.Instance.Function)
	queueID := logicalID(t, st, s.org.Notifications.DeadLetterQueue)
	all := ruled(s.orgDeployed)

	home, central := busRules(s.orgJSON, ""), busRules(s.orgJSON, busID)
	if len(home) != len(all) {
		t.Errorf("%d rules on the default bus, want %d: the home account stays watched", len(home), len(all))
	}
	// One per detection plus the members' dead-letter alarms and their
	// heartbeats.
	if len(central) != len(all)+2 {
		t.Errorf("%d rules on the central bus, want %d", len(central), len(all)+2)
	}
	byName := map[string]obj{}
	for _, r := range central {
		byName[r["Name"].(string)] = r
	}
	for _, d := range all {
		t.Run(d.ID, func(t *testing.T) {
			r, ok := byName[testOrgStack+"-"+d.ID]
			if !ok {
				t.Fatalf("no central rule %s-%s", testOrgStack, d.ID)
			}
			if r["State"] != ruleEnabled {
				t.Errorf("State = %v, want %s (custom buses have no read-only state)", r["State"], ruleEnabled)
			}
			want, err := patternJSON(d.ID, s.orgDeployed.PatternOf(d))
			if err != nil {
				t.Fatal(err)
			}
			if !equalJSON(r["EventPattern"], want) {
				t.Errorf("EventPattern = %v, want the catalog's %v", r["EventPattern"], want)
			}
			target := r["Targets"].(arr)[0].(obj)
			wantFn := fnID
			if d.Function == detect.FunctionInstance {
				wantFn = instanceID
			}
			if !equalJSON(target["Arn"], getAtt(wantFn, "Arn")) {
				t.Errorf("target %v, want %s", target["Arn"], wantFn)
			}
			if got, want := target["InputTransformer"], (obj{"InputTemplate": event.RuleInputTemplate(d.ID)}); !equalJSON(got, want) {
				t.Errorf("InputTransformer = %v, want %v", got, want)
			}
			if !equalJSON(target["DeadLetterConfig"], obj{"Arn": getAtt(queueID, "Arn")}) {
				t.Errorf("DeadLetterConfig = %v", target["DeadLetterConfig"])
			}
			if !equalJSON(target["RetryPolicy"], obj{"MaximumEventAgeInSeconds": targetMaxEventAgeSeconds, "MaximumRetryAttempts": targetMaxRetryAttempts}) {
				t.Errorf("RetryPolicy = %v", target["RetryPolicy"])
			}
		})
	}

	// Both functions may be invoked by the central rules, the queue may
	// take their dead letters: rule/<bus>/<stack>-*.
	wantSource := "arn:aws:events:" + testHomeRegion + ":" + testHomeAccount + ":rule/${" + busID + "}/" + testOrgStack + "-*"
	invokers := map[string]bool{}
	for _, p := range resources(s.orgJSON, "AWS::Lambda::Permission") {
		pp := props(p)
		if flat(pp["SourceArn"]) == wantSource && pp["Principal"] == "events.amazonaws.com" {
			invokers[flat(pp["FunctionName"])] = true
		}
	}
	for _, id := range []string{fnID, instanceID} {
		if !invokers["${"+id+".Arn}"] {
			t.Errorf("function %s may not be invoked by the central rules (%s); permissions by %v", id, wantSource, invokers)
		}
	}
	var queueSources []string
	for _, p := range resources(s.orgJSON, "AWS::SQS::QueuePolicy") {
		for _, st := range statements(t, props(p)["PolicyDocument"]) {
			c, _ := st["Condition"].(obj)
			like, _ := c["ArnLike"].(obj)
			if src, ok := like["aws:SourceArn"]; ok {
				queueSources = append(queueSources, flat(src))
			}
		}
	}
	if !slices.Contains(queueSources, wantSource) {
		t.Errorf("dead-letter queue does not admit the central rules; conditions %v", queueSources)
	}
}

func TestMemberStackSet(t *testing.T) {
	s := synth(t)
	sets := resources(s.orgJSON, "AWS::CloudFormation::StackSet")
	if len(sets) != 1 {
		t.Fatalf("%d StackSets, want 1", len(sets))
	}
	busID := logicalID(t, s.org.Stack, s.org.Organization.Bus)
	var p obj
	for _, r := range sets {
		p = props(r)
	}
	wantRegions := slices.Sorted(slices.Values(testMemberRegions))
	for key, want := range map[string]any{
		"PermissionModel":  "SERVICE_MANAGED",
		"AutoDeployment":   obj{"Enabled": true, "RetainStacksOnAccountRemoval": false},
		"CallAs":           config.CallAsDelegatedAdmin,
		"Capabilities":     arr{"CAPABILITY_NAMED_IAM"},
		"ManagedExecution": obj{"Active": true},
		"StackSetName":     testOrgStack + "-Members",
		"StackInstancesGroup": arr{obj{
			"DeploymentTargets": obj{
				"OrganizationalUnitIds": arr{testOrgTarget},
				"AccountFilterType":     "DIFFERENCE",
				"Accounts":              arr{ref("AWS::AccountId")},
			},
			"Regions": wantRegions,
		}},
		"OperationPreferences": obj{
			"RegionConcurrencyType": "PARALLEL", "MaxConcurrentPercentage": 100, "FailureTolerancePercentage": 10,
			"ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
		},
		"Parameters": arr{
			obj{"ParameterKey": paramCentralBusArn, "ParameterValue": getAtt(busID, "Arn")},
			obj{"ParameterKey": paramHomeAccountID, "ParameterValue": ref("AWS::AccountId")},
			obj{"ParameterKey": paramLookupPrincipalArns, "ParameterValue": obj{"Fn::Join": arr{",", arr{
				getAtt(logicalID(t, s.org.Stack, s.org.Function.Role), "Arn"),
				getAtt(logicalID(t, s.org.Stack, s.org.Instance.Role), "Arn"),
			}}}},
		},
	} {
		if !equalJSON(p[key], want) {
			t.Errorf("%s = %v, want %v", key, p[key], want)
		}
	}
	body, _ := p["TemplateBody"].(string)
	switch {
	case len(s.member.JSON) > maxTemplateBodyBytes:
		// Too large to go inline: a file asset (TestMemberTemplateAsAsset
		// checks its bytes).
		if body != "" || p["TemplateURL"] == nil {
			t.Errorf("member template of %d bytes (over TemplateBody's %d): TemplateBody %d bytes, TemplateURL %v; want the URL only",
				len(s.member.JSON), maxTemplateBodyBytes, len(body), p["TemplateURL"])
		}
	case body != string(s.member.JSON):
		t.Errorf("TemplateBody is not the member template (%d bytes, want %d)", len(body), len(s.member.JSON))
	}
	t.Logf("member template: %d bytes (TemplateBody takes up to %d)", len(s.member.JSON), maxTemplateBodyBytes)

	outputs, _ := s.orgJSON["Outputs"].(obj)
	for id, want := range map[string]string{"OrganizationBusArn": "${" + busID + ".Arn}", "MemberStackSetName": testOrgStack + "-Members"} {
		out, _ := outputs[id].(obj)
		if got := flat(out["Value"]); got != want {
			t.Errorf("output %s = %s, want %s", id, got, want)
		}
	}
}

// TestMemberTemplateAsAsset: a template larger than TemplateBody allows
// goes to the StackSet as a file asset with its bytes unchanged.
func TestMemberTemplateAsAsset(t *testing.T) {
	s := synth(t)
	if s.assetProbeAsset == nil {
		t.Fatal("no asset for a template over the limit")
	}
	p := props(resources(s.assetProbeJSON, "AWS::CloudFormation::StackSet")[logicalID(t, s.assetProbe, s.assetProbe.Node().FindChild(strPtr("Members")))])
	if p["TemplateBody"] != nil {
		t.Errorf("TemplateBody set beside TemplateURL")
	}
	sub, _ := p["TemplateURL"].(obj)
	url, _ := sub["Fn::Sub"].(string)
	hash := *s.assetProbeAsset.AssetHash()
	if !strings.HasPrefix(url, "https://s3.") || !strings.Contains(url, hash+".json") {
		t.Errorf("TemplateURL = %s, want the asset %s.json in the assets bucket", url, hash)
	}
	got, err := os.ReadFile(filepath.Join(s.outdir, "asset."+hash+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(s.member.JSON) {
		t.Errorf("asset holds %d bytes, not the member template's %d", len(got), len(s.member.JSON))
	}
}

func strPtr(s string) *string { return &s }

// TestOrganizationFunctions: every function is told the organization and
// the look-up role; every one may read account names and OUs (routes and
// digests decide by them); those that look up may assume the role in the
// organization only; the digest function may not.
func TestOrganizationFunctions(t *testing.T) {
	s := synth(t)
	for _, fn := range []*AlertFunction{s.org.Function, s.org.Instance, s.org.Digest} {
		env := functionEnv(t, s.orgJSON, logicalID(t, s.org.Stack, fn.Function))
		if env[config.EnvOrganizationID] != testOrganizationID || env[config.EnvLookupRole] != config.LookupRoleName {
			t.Errorf("%s: %s = %v, %s = %v", *fn.Node().Path(), config.EnvOrganizationID, env[config.EnvOrganizationID], config.EnvLookupRole, env[config.EnvLookupRole])
		}
	}
	// Without organization mode, neither is set.
	env := functionEnv(t, s.json, logicalID(t, s.stack.Stack, s.stack.Function.Function))
	if _, ok := env[config.EnvOrganizationID]; ok {
		t.Errorf("main stack's function has %s", config.EnvOrganizationID)
	}

	wantAssume := policyStatement{
		Sid: "AssumeLookupRoleInOrganization", Actions: []string{"sts:AssumeRole"},
		Resources: []string{"arn:${AWS::Partition}:iam::*:role/" + config.LookupRoleName},
		Condition: map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": testOrganizationID}},
	}
	wantOrgs := policyStatement{
		Sid:     "NameAccountsAndUnits",
		Actions: []string{"organizations:DescribeAccount", "organizations:DescribeOrganizationalUnit", "organizations:ListParents"},
		Resources: []string{"arn:${AWS::Partition}:organizations::*:account/" + testOrganizationID + "/*",
			"arn:${AWS::Partition}:organizations::*:ou/" + testOrganizationID + "/*"},
	}
	for _, fn := range []*AlertFunction{s.org.Function, s.org.Instance} {
		sts := roleStatements(t, s.orgJSON, logicalID(t, s.org.Stack, fn.Role))
		for _, want := range []policyStatement{wantAssume, wantOrgs} {
			if !slices.ContainsFunc(sts, func(st policyStatement) bool { return equalJSON(st, want) }) {
				t.Errorf("%s: no statement %+v in %+v", *fn.Node().Path(), want, sts)
			}
		}
	}
	digest := roleStatements(t, s.orgJSON, logicalID(t, s.org.Stack, s.org.Digest.Role))
	if !slices.ContainsFunc(digest, func(st policyStatement) bool { return equalJSON(st, wantOrgs) }) {
		t.Errorf("digest function: no statement %+v (its routes need OU paths)", wantOrgs)
	}
	// Beyond naming accounts, the digest function lists the targets'
	// accounts for the heartbeat check, and nothing else of Organizations
	// or STS.
	for a := range actionsOf(digest) {
		if strings.HasPrefix(a, "sts:") || strings.HasPrefix(a, "organizations:") && !slices.Contains(heartbeatActions, a) && !slices.Contains(wantOrgs.Actions, a) {
			t.Errorf("digest function may %s", a)
		}
	}
}

// memberRules maps the member template's forwarding rules to their
// detection IDs, through their names.
func memberRules(t *testing.T, s *synthesized) map[string]obj {
	t.Helper()
	out := map[string]obj{}
	for id, r := range resources(s.member.Template, "AWS::Events::Rule") {
		p := props(r)
		name, _ := p["Name"].(string)
		if name == memberDeadLettersRule || name == heartbeat.RuleName {
			continue // TestMemberAlarms, TestHeartbeats
		}
		detectionID, ok := strings.CutPrefix(name, memberRulePrefix)
		if !ok {
			t.Errorf("member rule %s is named %q, not %s<detection>", id, name, memberRulePrefix)
			continue
		}
		if _, ok := s.memberDeployed.Get(detectionID); !ok {
			t.Errorf("member rule %s serves no detection (%s)", id, detectionID)
		}
		out[detectionID] = p
	}
	return out
}

// TestMemberTemplate checks the member template as the StackSet deploys
// it: one forwarding rule per detection with the catalog's pattern and
// read-only state, all to the central bus through the forwarding role
// with retries and the dead-letter queue; the role may only put events on
// that bus; no CDK bootstrap resources.
func TestMemberTemplate(t *testing.T) {
	s := synth(t)
	m := s.member
	tmpl := m.Template
	roleID := logicalID(t, m.Stack.Stack, m.Stack.ForwardRole)
	queueID := logicalID(t, m.Stack.Stack, m.Stack.DeadLetterQueue)

	rules := memberRules(t, s)
	all := ruled(s.memberDeployed)
	if len(rules) != len(all) {
		t.Errorf("%d member forwarding rules for %d detections", len(rules), len(all))
	}
	readOnly := 0
	for _, d := range all {
		r, ok := rules[d.ID]
		if !ok {
			t.Errorf("no member rule for %s", d.ID)
			continue
		}
		want, err := patternJSON(d.ID, s.memberDeployed.PatternOf(d))
		if err != nil {
			t.Fatal(err)
		}
		if !equalJSON(r["EventPattern"], want) {
			t.Errorf("%s: pattern %v, want the catalog's %v", d.ID, r["EventPattern"], want)
		}
		wantState := ruleEnabled
		if d.NeedsReadOnly {
			wantState = ruleEnabledAllManagementEvents
			readOnly++
		}
		if r["State"] != wantState {
			t.Errorf("%s: State %v, want %s", d.ID, r["State"], wantState)
		}
		if r["EventBusName"] != nil {
			t.Errorf("%s: on bus %v, want the member's default bus", d.ID, r["EventBusName"])
		}
		checkForwardTarget(t, d.ID, r, roleID, queueID)
	}
	if readOnly == 0 {
		t.Error("no detection needs read-only events: the read-only state is untested")
	}
	t.Logf("%d member forwarding rules, %d with read-only events, plus the dead-letter alarm's", len(rules), readOnly)

	wantPerms := map[string][]string{"events:PutEvents": {"${" + paramCentralBusArn + "}"}}
	if got := actionsOf(roleStatements(t, tmpl, roleID)); !reflect.DeepEqual(got, wantPerms) {
		t.Errorf("forwarding role may %v, want %v", got, wantPerms)
	}
	if _, ok := tmpl["Rules"]; ok {
		t.Errorf("member template has Rules (CDK's bootstrap check?): %v", tmpl["Rules"])
	}
	params, _ := tmpl["Parameters"].(obj)
	var names []string
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{paramCentralBusArn, paramHomeAccountID, paramLookupPrincipalArns}; !slices.Equal(names, want) {
		t.Errorf("member parameters %v, want %v (no BootstrapVersion: members are not bootstrapped)", names, want)
	}
	if n := len(resources(tmpl, "AWS::SNS::Topic")) + len(resources(tmpl, "AWS::Lambda::Function")); n != 0 {
		t.Errorf("member template has %d topics or functions", n)
	}
}

func checkForwardTarget(t *testing.T, what string, r obj, roleID, queueID string) {
	t.Helper()
	targets, _ := r["Targets"].(arr)
	if len(targets) != 1 {
		t.Fatalf("%s: %d targets", what, len(targets))
	}
	target := targets[0].(obj)
	if !equalJSON(target["Arn"], ref(paramCentralBusArn)) {
		t.Errorf("%s: target %v, want the central bus", what, target["Arn"])
	}
	if !equalJSON(target["RoleArn"], getAtt(roleID, "Arn")) {
		t.Errorf("%s: role %v", what, target["RoleArn"])
	}
	if !equalJSON(target["DeadLetterConfig"], obj{"Arn": getAtt(queueID, "Arn")}) || target["RetryPolicy"] == nil {
		t.Errorf("%s: dead-letter %v, retry %v", what, target["DeadLetterConfig"], target["RetryPolicy"])
	}
	if target["InputTransformer"] != nil {
		t.Errorf("%s: forwarded events must stay untouched", what)
	}
}

// TestLookupRole: TrailwatchLookup in one region per account, assumable by
// the home account's function roles only, with exactly the functions'
// look-ups.
func TestLookupRole(t *testing.T) {
	s := synth(t)
	m := s.member
	id := logicalID(t, m.Stack.Stack, m.Stack.LookupRole)
	role := resources(m.Template, "AWS::IAM::Role")[id]
	p := props(role)
	if p["RoleName"] != config.LookupRoleName {
		t.Errorf("RoleName = %v, want %s", p["RoleName"], config.LookupRoleName)
	}
	condID := logicalID(t, m.Stack.Stack, m.Stack.LookupRoleCondition)
	if role["Condition"] != condID {
		t.Errorf("role's Condition = %v, want %s", role["Condition"], condID)
	}
	conds, _ := m.Template["Conditions"].(obj)
	if want := (obj{"Fn::Equals": arr{ref("AWS::Region"), testHomeRegion}}); !equalJSON(conds[condID], want) {
		t.Errorf("condition %s = %v, want %v", condID, conds[condID], want)
	}
	trust := statements(t, p["AssumeRolePolicyDocument"])
	wantTrust := []obj{{
		"Action":    "sts:AssumeRole",
		"Effect":    "Allow",
		"Principal": obj{"AWS": obj{"Fn::Join": arr{"", arr{"arn:", ref("AWS::Partition"), ":iam::", ref(paramHomeAccountID), ":root"}}}},
		"Condition": obj{"ArnEquals": obj{"aws:PrincipalArn": ref(paramLookupPrincipalArns)}},
	}}
	if !equalJSON(trust, wantTrust) {
		got, _ := json.Marshal(trust)
		t.Errorf("trust = %s, want the home account with the functions' role ARNs as condition", got)
	}
	if n := len(resources(m.Template, "AWS::IAM::Policy")); n != 1 {
		t.Errorf("%d AWS::IAM::Policy resources, want only the forwarding role's (the look-up role's policy is inline, under its condition)", n)
	}

	// Exactly what the home functions' look-ups hold, nothing else.
	got := actionsOf(roleStatements(t, m.Template, id))
	want := map[string][]string{}
	for _, fn := range []*AlertFunction{s.stack.Function, s.stack.Instance} {
		for a, r := range actionsOf(roleStatements(t, s.json, logicalID(t, s.stack.Stack, fn.Role))) {
			if slices.Contains([]string{"s3", "iam", "cloudtrail", "ec2", "cloudwatch"}, strings.Split(a, ":")[0]) {
				want[a] = slices.Compact(slices.Sorted(slices.Values(append(want[a], r...))))
			}
		}
	}
	for a := range got {
		got[a] = slices.Compact(got[a])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("look-up role may %v, want the functions' look-ups %v", got, want)
	}
}

// TestMemberAlarms: the fleet CPU alarm and the dead-letter alarm, neither
// with an action (no cross-account SNS); the dead-letter alarm's state
// change is forwarded and the central side emails it.
func TestMemberAlarms(t *testing.T) {
	s := synth(t)
	m := s.member
	alarms := resources(m.Template, "AWS::CloudWatch::Alarm")
	if len(alarms) != 2 {
		t.Errorf("%d member alarms, want the fleet CPU alarm and the dead-letter alarm", len(alarms))
	}
	fleet := props(alarms[logicalID(t, m.Stack.Stack, m.Stack.CPUAlarms.Fleet)])
	metrics, _ := fleet["Metrics"].(arr)
	if fleet["AlarmName"] != detect.CPUAlarmPrefix+"Fleet" || len(metrics) != 1 || metrics[0].(obj)["Expression"] != FleetQuery {
		t.Errorf("fleet alarm %v", fleet)
	}
	if fleet["Threshold"] != float64(s.orgCfg.CPUThreshold) {
		t.Errorf("fleet threshold %v, want %d", fleet["Threshold"], s.orgCfg.CPUThreshold)
	}
	dl := props(alarms[logicalID(t, m.Stack.Stack, m.Stack.DeadLetters)])
	if dl["AlarmName"] != memberDeadLettersAlarm {
		t.Errorf("dead-letter alarm named %v", dl["AlarmName"])
	}
	for id, a := range alarms {
		for _, k := range []string{"AlarmActions", "OKActions", "InsufficientDataActions"} {
			if props(a)[k] != nil {
				t.Errorf("member alarm %s has %s %v: alarms reach the central side as events", id, k, props(a)[k])
			}
		}
	}

	// The fleet alarm's state change and the dead-letter alarm's, as
	// CloudWatch would send them from the member, pass the member's rules
	// and then the central ones.
	memberQ := compileRules(t, "member", resources(m.Template, "AWS::Events::Rule"))
	busID := logicalID(t, s.org.Stack, s.org.Organization.Bus)
	centralQ := compileRules(t, "central", busRules(s.orgJSON, busID))
	for _, tc := range []struct {
		alarm, wantMember, wantCentral string
	}{
		{detect.CPUAlarmPrefix + "Fleet", memberRulePrefix + "ec2-cpu-spike", testOrgStack + "-ec2-cpu-spike"},
		{memberDeadLettersAlarm, memberDeadLettersRule, testOrgStack + "-member-dead-letters"},
	} {
		ev := alarmEvent(tc.alarm)
		for _, q := range []struct {
			q    *quamina.Quamina
			want string
		}{{memberQ, tc.wantMember}, {centralQ, tc.wantCentral}} {
			got, err := q.q.MatchesForEvent(ev)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != q.want {
				t.Errorf("%s in ALARM matches %v, want only %s", tc.alarm, got, q.want)
			}
		}
	}

	r := props(resources(s.orgJSON, "AWS::Events::Rule")[logicalID(t, s.org.Stack, s.org.Organization.MemberAlarms)])
	topicID := logicalID(t, s.org.Stack, s.org.Notifications.Topic)
	target := r["Targets"].(arr)[0].(obj)
	if !equalJSON(target["Arn"], ref(topicID)) || !equalJSON(r["EventBusName"], ref(busID)) {
		t.Errorf("member alarms rule on %v sends to %v, want the central bus and the topic", r["EventBusName"], target["Arn"])
	}
	it, _ := target["InputTransformer"].(obj)
	if tmplText, _ := it["InputTemplate"].(string); !strings.Contains(tmplText, "<account>") || !strings.Contains(tmplText, "<alarm>") ||
		!equalJSON(it["InputPathsMap"].(obj)["alarm"], "$.detail.alarmName") {
		t.Errorf("email text does not name the account and alarm: %s", it)
	}
	var topicOK, keyOK bool
	for _, p := range resources(s.orgJSON, "AWS::SNS::TopicPolicy") {
		for _, st := range statements(t, props(p)["PolicyDocument"]) {
			if st["Sid"] == "AllowMemberAlarmsRuleToPublish" && equalJSON(st["Principal"], obj{"Service": "events.amazonaws.com"}) &&
				strings.Contains(flat(st["Condition"]), logicalID(t, s.org.Stack, s.org.Organization.MemberAlarms)) {
				topicOK = true
			}
		}
	}
	for _, k := range resources(s.orgJSON, "AWS::KMS::Key") {
		for _, st := range statements(t, props(k)["KeyPolicy"]) {
			if st["Sid"] == "AllowEventBridgeToPublish" && equalJSON(st["Principal"], obj{"Service": "events.amazonaws.com"}) {
				keyOK = true
			}
		}
	}
	if !topicOK || !keyOK {
		t.Errorf("EventBridge may publish to the topic: %v, use its key: %v", topicOK, keyOK)
	}
}

// alarmEvent is a CloudWatch alarm state change to ALARM as EventBridge
// delivers it in a member account.
func alarmEvent(name string) []byte {
	b, _ := json.Marshal(obj{
		"version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", "detail-type": "CloudWatch Alarm State Change",
		"source": "aws.cloudwatch", "account": testMemberAccount, "time": "2026-12-03T12:00:00Z", "region": "ap-southeast-2",
		"resources": arr{"arn:aws:cloudwatch:ap-southeast-2:" + testMemberAccount + ":alarm:" + name},
		"detail": obj{
			"alarmName":     name,
			"state":         obj{"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2026-12-03T12:00:00.000+0000"},
			"previousState": obj{"value": "OK", "reason": "Threshold Crossed", "timestamp": "2026-12-03T11:00:00.000+0000"},
			"configuration": obj{"metrics": arr{}},
		},
	})
	return b
}

// compileRules compiles the rules' patterns with quamina, each under its
// rule's name.
func compileRules(t *testing.T, what string, rules map[string]obj) *quamina.Quamina {
	t.Helper()
	q, err := quamina.New()
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range rules {
		p := props(obj{"Properties": r})
		if inner, ok := r["Properties"].(obj); ok {
			p = inner
		}
		if _, scheduled := p["ScheduleExpression"]; scheduled {
			continue // a schedule matches no event (the member heartbeat)
		}
		b, err := json.Marshal(p["EventPattern"])
		if err != nil {
			t.Fatal(err)
		}
		name, _ := p["Name"].(string)
		if name == "" {
			name = id
		}
		// A pattern with "$or" compiles as its alternatives (quamina
		// does not know the operator).
		plain, err := detect.MatcherPatterns(string(b))
		if err != nil {
			t.Errorf("%s rule %s: pattern %s: %v", what, name, b, err)
			continue
		}
		for _, pp := range plain {
			if err := q.AddPattern(name, pp); err != nil {
				t.Errorf("%s rule %s: pattern %s not understood by quamina, so it is NOT checked: %v", what, name, pp, err)
			}
		}
	}
	return q
}

// asMember moves a recorded event to a member account: its account and
// the account IDs in its ARNs, as EventBridge delivers it there and
// forwards it to the central bus unchanged.
func asMember(t *testing.T, raw []byte) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	home, _ := ev["account"].(string)
	if home == "" {
		t.Fatal("event has no account")
	}
	return []byte(strings.ReplaceAll(string(raw), home, testMemberAccount))
}

// TestMemberRulesMatchFixtures runs every fixture, moved to a member
// account, through the member template's forwarding rules and then through
// the central bus's rules: each must pick exactly the detections the
// catalog matches under the settings that rule set was built from (the
// member's, the organization configuration's; the central's, the org
// stack's own), and the central rules only events the member forwarded, so
// a labelled event recorded in a member account reaches its detection's
// function.
func TestMemberRulesMatchFixtures(t *testing.T) {
	s := synth(t)
	memberQ := compileRules(t, "member", resources(s.member.Template, "AWS::Events::Rule"))
	busID := logicalID(t, s.org.Stack, s.org.Organization.Bus)
	centralQ := compileRules(t, "central", busRules(s.orgJSON, busID))

	names := fixture.All(t)
	matched, positives, heartbeats := 0, 0, 0
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			raw := asMember(t, fixture.Read(t, name))
			ev, err := event.Decode(raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			wanted := func(c *detect.Catalog) []string {
				ds, err := c.Match(ev)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, d := range ds {
					if !d.Scheduled { // no rule feeds it
						want = append(want, d.ID)
					}
				}
				return want
			}
			memberWant, centralWant := wanted(s.memberDeployed), wanted(s.orgDeployed)
			for _, id := range centralWant {
				if !slices.Contains(memberWant, id) {
					t.Errorf("the central rule for %s matches %s, which its member rule does not forward", id, name)
				}
			}
			for _, q := range []struct {
				q      *quamina.Quamina
				prefix string
				want   []string
			}{{memberQ, memberRulePrefix, memberWant}, {centralQ, testOrgStack + "-", centralWant}} {
				got, err := q.q.MatchesForEvent(ev.JSON)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, x := range got {
					id, _ := strings.CutPrefix(x.(string), q.prefix)
					if id == "member-heartbeats" {
						// The central heartbeat rule, which serves no
						// detection: only the recorded heartbeat matches it.
						if !heartbeatFixture(name) {
							t.Errorf("the central heartbeat rule matches %s, which is no heartbeat", name)
						}
						heartbeats++
						continue
					}
					ids = append(ids, id)
				}
				ids = slices.Compact(slices.Sorted(slices.Values(ids)))
				if !slices.Equal(ids, q.want) {
					t.Errorf("%s rules matching %s = %v, catalog.Match = %v", q.prefix, name, ids, q.want)
				}
			}
			if len(memberWant) > 0 {
				matched++
			}
		})
	}
	// Every labelled positive fixture reaches its own detection.
	for _, d := range ruled(s.memberDeployed) {
		for _, ex := range d.Tests.Positive {
			positives++
			got, err := memberQ.MatchesForEvent(asMember(t, fixture.Read(t, ex.File)))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(got, any(memberRulePrefix+d.ID)) {
				t.Errorf("member rule for %s does not match its positive fixture %s (matched %v)", d.ID, ex.File, got)
			}
		}
	}
	if heartbeats != 1 {
		t.Errorf("the central heartbeat rule matched %d fixtures, want the recorded heartbeat only", heartbeats)
	}
	t.Logf("%d fixtures through %d member and central rules; %d matched some detection; %d labelled positives reach their detection",
		len(names), len(s.member.Stack.Rules)+1, matched, positives)
}

// TestOrganizationNag: no unsuppressed cdk-nag finding in the organization
// stack or the member template, and the member's reports list compliant
// checks (TestSuppressionsCarryReasons checks both templates' reasons,
// TestNagRan the organization stack's reports).
func TestOrganizationNag(t *testing.T) {
	s := synth(t)
	for _, msgs := range map[string][]*cxapi.SynthesisMessage{testOrgStack: s.orgMessages, memberStackID: s.member.Messages} {
		for _, level := range []cxapi.SynthesisMessageLevel{cxapi.SynthesisMessageLevel_ERROR, cxapi.SynthesisMessageLevel_WARNING} {
			for _, m := range findMessages(msgs, level, nagFinding) {
				t.Errorf("cdk-nag %s at %s: %v", level, *m.Id, m.Entry.Data)
			}
		}
	}
	if got := nagFindingMessages(s.member); len(got) != 0 {
		t.Errorf("member template findings repeated on the StackSet: %v", got)
	}
	for _, pack := range nagPackNames {
		path := filepath.Join(s.member.Dir, "cdk.out", pack+"--"+memberStackID+"-NagReport.csv")
		f, err := os.Open(path)
		if err != nil {
			t.Errorf("cdk-nag report: %v", err)
			continue
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		compliant := 0
		for _, row := range rows[1:] {
			switch row[2] {
			case "Compliant":
				compliant++
			case "Suppressed":
			default:
				t.Errorf("member: %s on %s is %s", row[0], row[1], row[2])
			}
		}
		if compliant == 0 {
			t.Errorf("member: cdk-nag's %s pack reports no compliant check; did it run?", pack)
		}
	}
	// The region warnings are for other configurations.
	for _, m := range findMessages(s.orgMessages, cxapi.SynthesisMessageLevel_WARNING, regexpMust(`memberRegions`)) {
		t.Errorf("unexpected warning: %v", m.Entry.Data)
	}
}

func TestLookupRoleRegion(t *testing.T) {
	for _, tc := range []struct {
		home    string
		regions []string
		want    string
	}{
		{"eu-west-1", []string{"ap-southeast-2", "eu-west-1", "us-east-1"}, "eu-west-1"},
		{"eu-central-1", []string{"ap-southeast-2", "eu-west-1", "us-east-1"}, "us-east-1"},
		{"eu-central-1", []string{"ap-southeast-2", "eu-west-1"}, "ap-southeast-2"},
		{"", []string{"us-east-1"}, "us-east-1"},
	} {
		if got := lookupRoleRegion(tc.home, tc.regions); got != tc.want {
			t.Errorf("lookupRoleRegion(%q, %v) = %q, want %q", tc.home, tc.regions, got, tc.want)
		}
	}
}

func TestHomeForwardRegions(t *testing.T) {
	org := config.Default()
	org.OrganizationID, org.OrganizationTargets = testOrganizationID, []string{testOrgTarget}
	withRegions := org
	withRegions.MemberRegions = testMemberRegions
	for _, tc := range []struct {
		name string
		cfg  config.Config
		home string
		want []string
	}{
		{"standalone", config.Default(), "eu-west-1", []string{"us-east-1"}},
		{"organization, default member regions", org, "eu-west-1", []string{"us-east-1", "eu-west-1"}},
		{"organization, member regions", withRegions, "eu-west-1", []string{"us-east-1", "ap-southeast-2", "eu-west-1"}},
	} {
		got := homeForwardRegions(tc.cfg, tc.home)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: homeForwardRegions = %v, want %v", tc.name, got, tc.want)
		}
		// Home itself never gets a forwarder.
		if fr := forwardRegions(tc.home, got); slices.Contains(fr, tc.home) {
			t.Errorf("%s: forwarder for the home region", tc.name)
		}
	}
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
