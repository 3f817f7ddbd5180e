package suppress

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/detect"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"ci-deploy", "ci-deploy", true},
		{"ci-deploy", "ci-deploy2", false},
		{"*:assumed-role/terraform-*", "arn:aws:sts::111122223333:assumed-role/terraform-apply/GitHubActions", true},
		{"arn:aws:iam::*:role/ci-*", "arn:aws:iam::111122223333:role/ci-deploy", true},
		{"arn:aws:iam::*:role/ci-*", "arn:aws:iam::111122223333:user/ci-deploy", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "", true},
		{"a*", "", false},
		{"**x**", "yyxyy", true},
	} {
		if got := Glob(tc.pattern, tc.name); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func record(t *testing.T, js string) *cloudtrail.Record {
	t.Helper()
	var r cloudtrail.Record
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

var (
	sgChanged = &detect.Detection{ID: "security-group-changed"}
	trailOff  = &detect.Detection{ID: "cloudtrail-config-changed", Protected: true}
	ciRole    = `{"recipientAccountId":"111122223333","sourceIPAddress":"20.42.101.7","userIdentity":{"type":"AssumedRole",
		"arn":"arn:aws:sts::111122223333:assumed-role/ci-deploy/GitHubActions",
		"sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/ci-deploy","userName":"ci-deploy"}}}}`
	person = `{"recipientAccountId":"111122223333","sourceIPAddress":"198.51.100.23","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ana","userName":"ana"}}`
)

func TestCheck(t *testing.T) {
	rules := []Rule{
		{Detections: []string{"security-group-changed"}, Principals: []string{"ci-deploy"}, Reason: "Terraform manages security groups"},
		{Detections: []string{"*"}, Accounts: []string{"999988887777"}, Reason: "sandbox account"},
		{Detections: []string{"*"}, Principals: []string{"arn:aws:iam::111122223333:role/ci-*"}, SourceCIDRs: []string{"20.0.0.0/8"}, Reason: "CI runners"},
	}
	for _, tc := range []struct {
		name    string
		rules   []Rule
		det     *detect.Detection
		rec     string
		rule    int
		refused int
	}{
		{"role name matches", rules[:1], sgChanged, ciRole, 1, 0},
		{"person does not match", rules, sgChanged, person, 0, 0},
		{"all criteria must hold", rules[2:], sgChanged, strings.Replace(ciRole, "20.42.101.7", "198.51.100.1", 1), 0, 0},
		{"role ARN pattern and CIDR", rules[2:], sgChanged, ciRole, 1, 0},
		{"protected detection is not silenced", rules[2:], trailOff, ciRole, 0, 1},
		{"force silences a protected detection", []Rule{{Detections: []string{"*"}, Principals: []string{"ci-deploy"}, Reason: "r", Force: true}}, trailOff, ciRole, 1, 0},
		{"other account", rules[1:2], sgChanged, ciRole, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Check(tc.rules, detect.Finding{Detection: tc.det}, record(t, tc.rec))
			if v.Rule != tc.rule || v.Refused != tc.refused {
				t.Errorf("Check() = %+v, want rule %d refused %d", v, tc.rule, tc.refused)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	known := []string{"security-group-changed"}
	for _, tc := range []struct {
		rule Rule
		want string
	}{
		{Rule{Detections: []string{"nope"}, Principals: []string{"x"}, Reason: "r"}, `unknown detection "nope"`},
		{Rule{Detections: []string{"*"}, Reason: "r"}, "must say whose events"},
		{Rule{Detections: []string{"*"}, Principals: []string{"**"}, Reason: "r"}, "matches everyone"},
		{Rule{Detections: []string{"*"}, Accounts: []string{"1234"}, Reason: "r"}, "12-digit"},
		{Rule{Detections: []string{"*"}, SourceCIDRs: []string{"10.0.0.0/33"}, Reason: "r"}, "source CIDR"},
		{Rule{Detections: []string{"*"}, Principals: []string{"x"}}, "no reason"},
		{Rule{Principals: []string{"x"}, Reason: "r"}, "no detections"},
	} {
		err := Validate([]Rule{tc.rule}, known)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "suppression 1") {
			t.Errorf("Validate(%+v) = %v, want an error mentioning %q", tc.rule, err, tc.want)
		}
	}
	if err := Validate([]Rule{{Detections: []string{"security-group-changed"}, Principals: []string{"ci-deploy"}, Reason: "r"}}, known); err != nil {
		t.Errorf("a good rule was refused: %v", err)
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Add("*:assumed-role/*", strings.Repeat("a", 1000))
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := Glob(pattern, name)
		if pattern == name && !got {
			t.Fatalf("Glob(%q, itself) = false", pattern)
		}
		if !strings.ContainsAny(pattern, "*?") && got != (pattern == name) {
			t.Fatalf("literal pattern %q vs %q = %v", pattern, name, got)
		}
	})
}
