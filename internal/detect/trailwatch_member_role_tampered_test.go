package detect

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// memberRoleEvents are the event names the member roles' decision handles.
var memberRoleEvents = []string{"DeleteRole", "CreateRole", "UpdateAssumeRolePolicy", "PutRolePolicy", "DeleteRolePolicy",
	"AttachRolePolicy", "DetachRolePolicy", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
	"UpdateRole", "UpdateRoleDescription"}

// orgEnv is what infra/ puts in the settings in organization mode.
var orgEnv = Env{OwnPrefixes: []string{"Trailwatch-", "TrailwatchForwarder-", "TrailwatchMember-"}}

func TestMemberRoleOf(t *testing.T) {
	acme := &Env{OwnPrefixes: []string{"AcmeSecurityTrailwatchProd-", "TrailwatchForwarder-"}}
	for _, tc := range []struct {
		name string
		env  *Env
		role string
		want memberRole
	}{
		{"look-up role", &orgEnv, "TrailwatchLookup", lookupRole},
		{"look-up role in another case", &orgEnv, "trailwatchLOOKUP", lookupRole},
		{"look-up role, any deployment", acme, "TrailwatchLookup", lookupRole},
		{"look-up role without settings", &Env{}, "TrailwatchLookup", lookupRole},
		{"like the look-up role", &orgEnv, "TrailwatchLookupOld", notMemberRole},
		// CloudFormation cuts the stack instance's name to keep the role
		// name within 64 characters.
		{"forwarding role", &orgEnv, "StackSet-Trailwatch-Members-8c1-ForwardRoleAD41B8CF-Xq3mT9vLp2Ka", forwardRole},
		{"forwarding role, longer UUID part", &orgEnv, "StackSet-Trailwatch-Members-8c1b2e-ForwardRoleAD41B8CF-Xq3mT9vLp2", forwardRole},
		{"forwarding role without settings", &Env{}, "StackSet-Trailwatch-Members-8c1-ForwardRoleAD41B8CF-Xq3mT9vLp2Ka", forwardRole},
		{"forwarding role in another case", &orgEnv, "stackset-trailwatch-members-8c1-forwardroleAD41B8CF-Xq3mT9vLp2Ka", forwardRole},
		{"long stack name cut inside the StackSet name", acme, "StackSet-AcmeSecurityTrailw-ForwardRoleAD41B8CF-Xq3mT9vLp2Ka", forwardRole},
		{"long stack name, other deployment", &orgEnv, "StackSet-AcmeSecurityTrailw-ForwardRoleAD41B8CF-Xq3mT9vLp2Ka", notMemberRole},
		{"cut too short to tell", &orgEnv, "StackSet-Trailwatch-ForwardRoleAD41B8CF-Xq3mT9vLp2Ka", notMemberRole},
		{"another StackSet's forwarding role", &orgEnv, "StackSet-Acme-Networking-4f1b2-ForwardRoleAD41B8CF-Zp8RkQ2mLw4T", notMemberRole},
		{"another StackSet with a longer name", &orgEnv, "StackSet-Trailwatch-MembersOld-1f-ForwardRoleAD41B8CF-Zp8RkQ2mLw4T", notMemberRole},
		{"another role of trailwatch's StackSet", &orgEnv, "StackSet-Trailwatch-Members-8c1-LambdaRoleAB12CD34-Xq3mT9vLp2Ka", notMemberRole},
		{"the home forwarder's role", &orgEnv, "TrailwatchForwarder-us-east-1-ForwardRoleAD41B8CF-Xq3mT9vLp2Ka", notMemberRole},
		{"StackSet- alone", &orgEnv, "StackSet-", notMemberRole},
		{"empty", &orgEnv, "", notMemberRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.env.memberRoleOf(tc.role); got != tc.want {
				t.Errorf("memberRoleOf(%q) = %d, want %d", tc.role, got, tc.want)
			}
		})
	}
}

// TestMemberRoleFollowsSettings: the fixtures raise the same severities
// under organization mode's settings; under another deployment's the
// forwarding role is not trailwatch's, the look-up role (one name for every
// deployment) still is.
func TestMemberRoleFollowsSettings(t *testing.T) {
	d := defenseDetection(t, "trailwatch-member-role-tampered")
	other := Env{OwnPrefixes: []string{"Alerts-"}}
	for _, ex := range d.Tests.Positive {
		t.Run(ex.File, func(t *testing.T) {
			ev, err := event.Decode(fixture.Read(t, ex.File))
			if err != nil {
				t.Fatal(err)
			}
			f, ok := d.Evaluate(ev, &orgEnv)
			if !ok || f.Severity != ex.Severity {
				t.Errorf("organization settings: got %v (reported %v), want %v", f.Severity, ok, ex.Severity)
			}
			lookup := strings.EqualFold(f.Resource.Name, MemberLookupRole)
			if _, ok := d.Evaluate(ev, &other); ok != lookup {
				t.Errorf("settings of another deployment: reported %v, want %v (look-up role %v)", ok, lookup, lookup)
			}
		})
	}
}

// TestMemberRoleSeverities covers the branches the fixtures leave out.
func TestMemberRoleSeverities(t *testing.T) {
	const fwd = "StackSet-Trailwatch-Members-8c1-ForwardRoleAD41B8CF-Xq3mT9vLp2Ka"
	d := defenseDetection(t, "trailwatch-member-role-tampered")
	for _, tc := range []struct {
		name, event, params string
		want                Severity
	}{
		{"look-up policy deleted", "DeleteRolePolicy", `{"roleName":"TrailwatchLookup","policyName":"Lookups"}`, SeverityHigh},
		{"another inline policy deleted", "DeleteRolePolicy", `{"roleName":"TrailwatchLookup","policyName":"Extra"}`, SeverityMedium},
		{"another inline policy of the forwarding role deleted", "DeleteRolePolicy", `{"roleName":"` + fwd + `","policyName":"Extra"}`, SeverityMedium},
		{"look-up role created", "CreateRole", `{"roleName":"TrailwatchLookup","assumeRolePolicyDocument":"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\"}}"}`, SeverityHigh},
		{"look-up trust not readable", "UpdateAssumeRolePolicy", `{"roleName":"TrailwatchLookup","policyDocument":"{not json"}`, SeverityHigh},
		{"forwarding role trust not readable", "UpdateAssumeRolePolicy", `{"roleName":"` + fwd + `","policyDocument":"{not json"}`, SeverityHigh},
		{"policy put on the forwarding role", "PutRolePolicy", `{"roleName":"` + fwd + `","policyName":"x","policyDocument":"{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"events:PutEvents\",\"Resource\":\"*\"}}"}`, SeverityHigh},
		{"policy attached to the forwarding role", "AttachRolePolicy", `{"roleName":"` + fwd + `","policyArn":"arn:aws:iam::444455556666:policy/deny-all"}`, SeverityHigh},
		{"boundary on the forwarding role", "PutRolePermissionsBoundary", `{"roleName":"` + fwd + `","permissionsBoundary":"arn:aws:iam::444455556666:policy/b"}`, SeverityHigh},
		{"boundary on the look-up role", "PutRolePermissionsBoundary", `{"roleName":"TrailwatchLookup","permissionsBoundary":"arn:aws:iam::444455556666:policy/b"}`, SeverityMedium},
		{"boundary removed", "DeleteRolePermissionsBoundary", `{"roleName":"` + fwd + `"}`, SeverityMedium},
		{"look-up sessions kept at one hour", "UpdateRole", `{"roleName":"TrailwatchLookup","maxSessionDuration":3600}`, SeverityLow},
		{"forwarding role sessions longer", "UpdateRole", `{"roleName":"` + fwd + `","maxSessionDuration":43200}`, SeverityLow},
		{"description", "UpdateRoleDescription", `{"roleName":"TrailwatchLookup","description":"<!channel> hi"}`, SeverityLow},
		{"tags are not covered", "TagRole", `{"roleName":"TrailwatchLookup","tags":[]}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := d.Evaluate(apiEvent(tc.event, tc.params, "", ""), &orgEnv)
			if tc.want == 0 {
				if ok {
					t.Errorf("reported %v %q, want nothing", f.Severity, f.Headline)
				}
				return
			}
			if !ok || f.Severity != tc.want {
				t.Errorf("got %v (reported %v) %q, want %v", f.Severity, ok, f.Headline, tc.want)
			}
			if len(f.Changes) == 0 {
				t.Errorf("no What changed in %+v", f)
			}
		})
	}
}

func TestMemberRoleDecisionSurvivesOddInput(t *testing.T) {
	d := defenseDetection(t, "trailwatch-member-role-tampered")
	for _, env := range []*Env{{}, &orgEnv} {
		for _, name := range memberRoleEvents {
			for _, params := range append(oddInputs,
				`{"roleName":"TrailwatchLookup","policyDocument":7,"assumeRolePolicyDocument":[],"policyName":{},"policyArn":null,`+
					`"permissionsBoundary":[1],"maxSessionDuration":"long","description":{}}`,
				`{"roleName":"StackSet-Trailwatch-Members-8c1-ForwardRole","policyDocument":"{\"Statement\":[null,7,{\"Principal\":[]}]}"}`) {
				for _, errorCode := range []string{"", "AccessDenied"} {
					f, ok := d.Evaluate(apiEvent(name, params, params, errorCode), env)
					if !ok {
						continue
					}
					if f.Headline == "" || f.Resource.Type == "" || f.Resource.Name == "" || !f.Severity.Valid() {
						t.Errorf("%s %s: incomplete finding %+v", name, params, f)
					}
					if errorCode != "" && (!f.Attempt || f.Severity > SeverityLow) {
						t.Errorf("failed %s %s: got %v attempt=%v, want a low attempt", name, params, f.Severity, f.Attempt)
					}
				}
			}
		}
	}
}

// FuzzMemberRoleDecision feeds arbitrary role names and request parameters
// to the member roles' decision.
func FuzzMemberRoleDecision(f *testing.F) {
	for _, n := range memberRoleEvents {
		f.Add(n, `{"roleName":"TrailwatchLookup","policyDocument":"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\"}}"}`)
		f.Add(n, `{"roleName":"StackSet-Trailwatch-Members-8c1-ForwardRoleAD41B8CF-Xq3mT9vLp2Ka","policyName":"ForwardRoleDefaultPolicy1"}`)
	}
	d := defenseDetection(f, "trailwatch-member-role-tampered")
	f.Fuzz(func(t *testing.T, name, params string) {
		if fd, ok := d.Evaluate(apiEvent(name, params, "", ""), &orgEnv); ok && (fd.Headline == "" || fd.Resource.Type == "" || !fd.Severity.Valid()) {
			t.Errorf("incomplete finding %+v", fd)
		}
	})
}

// TestSelfDefenseLeadsAtEqualSeverity: an alert on a change to
// trailwatch's own resources leads with that finding, whose runbook
// restores trailwatch, when another detection rates the event the same.
func TestSelfDefenseLeadsAtEqualSeverity(t *testing.T) {
	own := defenseDetection(t, "trailwatch-member-role-tampered")
	trust := defenseDetection(t, "role-trust-policy-changed")
	broad := &Detection{ID: "a-broad", Broad: true}
	fs := []Finding{
		{Detection: broad, Severity: SeverityHigh},
		{Detection: trust, Severity: SeverityHigh},
		{Detection: own, Severity: SeverityHigh},
		{Detection: trust, Severity: SeverityCritical},
	}
	SortFindings(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Detection.ID+" "+f.Severity.String())
	}
	want := []string{"role-trust-policy-changed critical", "trailwatch-member-role-tampered high", "role-trust-policy-changed high", "a-broad high"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("order %q, want %q", got, want)
	}
}
