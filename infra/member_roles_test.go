package main

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// generatedRoleName is the name CloudFormation gives a role without a
// RoleName in a stack instance of the StackSet set: "StackSet-<set>-<UUID>"
// cut short, the logical ID, a random suffix, 64 characters at most (as in
// StackSet-StackSetPasswordPolicy-5e1837a-LambdaRole-1TCLUMCY77KXG).
func generatedRoleName(set, logicalID string) string {
	const uuid, suffix, maxLen = "8c1b2e4f-0a3d-4c5b-9e6f-7a8b9c0d1e2f", "Xq3mT9vLp2Ka", 64
	stack := "StackSet-" + set + "-" + uuid
	if keep := maxLen - len(logicalID) - len(suffix) - 2; len(stack) > keep {
		stack = stack[:keep]
	}
	return stack + "-" + logicalID + "-" + suffix
}

// TestMemberRolesDetected: trailwatch-member-role-tampered knows the roles
// of the member template as the StackSet creates them, under the settings
// the organization stack gives its functions: the forwarding role by the
// StackSet's name and its logical ID, its PutEvents policy by name, and
// TrailwatchLookup.
func TestMemberRolesDetected(t *testing.T) {
	s := synth(t)
	tmpl := s.member.Template
	roleID := logicalID(t, s.member.Stack.Stack, s.member.Stack.ForwardRole)
	if !strings.HasPrefix(roleID, "ForwardRole") {
		t.Fatalf("forwarding role's logical ID %s: the detection looks for ForwardRole in its generated name", roleID)
	}
	if p := props(tmpl["Resources"].(obj)[roleID].(obj)); p["RoleName"] != nil {
		t.Errorf("forwarding role named %v: the detection expects CloudFormation's generated name", p["RoleName"])
	}
	var policyName string
	for _, res := range resources(tmpl, "AWS::IAM::Policy") {
		if p := props(res); equalJSON(p["Roles"], arr{ref(roleID)}) {
			policyName, _ = p["PolicyName"].(string)
		}
	}
	if !strings.HasPrefix(policyName, "ForwardRoleDefaultPolicy") {
		t.Fatalf("forwarding role's policy %q: the detection rates deleting ForwardRoleDefaultPolicy* critical", policyName)
	}
	var set string
	for _, res := range resources(s.orgJSON, "AWS::CloudFormation::StackSet") {
		set, _ = props(res)["StackSetName"].(string)
	}
	if set != testOrgStack+detect.MemberStackSetSuffix {
		t.Fatalf("StackSet name %q, want %q", set, testOrgStack+detect.MemberStackSetSuffix)
	}

	deployed, err := s.catalog.WithEnv(s.org.Settings.Env)
	if err != nil {
		t.Fatal(err)
	}
	// The fixtures' forwarding role belongs to a stack called Trailwatch.
	const fixtureRole = "StackSet-Trailwatch-Members-8c1-ForwardRoleAD41B8CF-Xq3mT9vLp2Ka"
	forward := generatedRoleName(set, roleID)
	t.Logf("forwarding role as generated in the org test's stack instances: %s", forward)
	for _, tc := range []struct {
		fixture, from, to string
		want              detect.Severity
	}{
		{"iam/trailwatch-member-role-tampered-forward-delete-role.json", fixtureRole, forward, detect.SeverityCritical},
		{"iam/trailwatch-member-role-tampered-forward-delete-policy.json", fixtureRole, forward, detect.SeverityCritical},
		{"iam/trailwatch-member-role-tampered-forward-delete-policy.json", "ForwardRoleDefaultPolicy1711493F", policyName, detect.SeverityCritical},
		{"iam/trailwatch-member-role-tampered-lookup-delete-role.json", detect.MemberLookupRole, props(tmpl["Resources"].(obj)[logicalID(t, s.member.Stack.Stack, s.member.Stack.LookupRole)].(obj))["RoleName"].(string), detect.SeverityHigh},
		// Another deployment's StackSet in the same organization.
		{"iam/trailwatch-member-role-tampered-forward-delete-role.json", fixtureRole, generatedRoleName("Acme-Members", roleID), 0},
	} {
		t.Run(tc.fixture+"/"+tc.to, func(t *testing.T) {
			raw := strings.ReplaceAll(string(fixture.Read(t, tc.fixture)), tc.from, tc.to)
			if tc.from == "ForwardRoleDefaultPolicy1711493F" {
				raw = strings.ReplaceAll(raw, fixtureRole, forward)
			}
			ev, err := event.Decode([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			findings, err := deployed.Evaluate(ev)
			if err != nil {
				t.Fatal(err)
			}
			var got detect.Severity
			for _, f := range findings {
				if f.Detection.ID == "trailwatch-member-role-tampered" {
					got = f.Severity
				}
			}
			if got != tc.want {
				t.Errorf("trailwatch-member-role-tampered: %v, want %v (0: not raised)", got, tc.want)
			}
		})
	}
}
