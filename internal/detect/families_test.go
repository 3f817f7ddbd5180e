package detect

import (
	"testing"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
)

func TestLogGroupKind(t *testing.T) {
	configured := &Env{OwnPrefixes: []string{"Trailwatch-"}}
	for _, tc := range []struct {
		name string
		env  *Env
		want string
	}{
		{"aws-cloudtrail-logs-111122223333-6f1c2a9e", &Env{}, "security"},
		{"/acme/prod/VPC-Flow-Logs", &Env{}, "security"},
		{"/aws/route53/example.com", &Env{}, "security"},
		{"aws-waf-logs-prod-alb", &Env{}, "security"},
		{"/aws/events/guardduty-findings", &Env{}, "security"},
		{"/aws/lambda/acme-nightly-sync", &Env{}, "lambda"},
		// A function's log group is its function's, whatever its name says.
		{"/aws/lambda/cloudtrail-processor", &Env{}, "lambda"},
		{"/aws/lambda/Trailwatch-CloudTrailFunction15067864-Ab3dEf9GhIjK", &Env{}, "own"},
		{"/aws/lambda/Trailwatch-CloudTrailFunction15067864-Ab3dEf9GhIjK", configured, "own"},
		{"Trailwatch-CloudTrailFunctionLogGroup5E8B6C3F-hT6uV8wX0yZ1", configured, "own"},
		// With settings, a name merely holding the word is not trailwatch's.
		{"/aws/lambda/my-trailwatch-copy", configured, "lambda"},
		{"/acme/billing/api", &Env{}, ""},
		{"", &Env{}, ""},
	} {
		if got := logGroupKind(tc.name, tc.env); got != tc.want {
			t.Errorf("logGroupKind(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestLayerAccount(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:lambda:eu-west-1:444455556666:layer:perf-telemetry:3": "444455556666",
		"arn:aws-cn:lambda:cn-north-1:444455556666:layer:x:1":          "444455556666",
		"arn:aws:lambda:eu-west-1:444455556666:function:not-a-layer":   "",
		"arn:aws:lambda:eu-west-1:4444:layer:short-account:1":          "",
		"arn:aws:s3:eu-west-1:444455556666:layer:wrong-service:1":      "",
		"perf-telemetry": "",
		"":               "",
		"arn:aws:lambda:eu-west-1:444455556666:layer":                      "",
		"arn:aws:lambda:eu-west-1:444455556666:layer:name-without-version": "444455556666",
	} {
		if got := layerAccount(in); got != want {
			t.Errorf("layerAccount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPersonSession(t *testing.T) {
	issuer := func(name, mfa string) *cloudtrail.SessionContext {
		return &cloudtrail.SessionContext{SessionIssuer: &cloudtrail.SessionIssuer{UserName: name},
			Attributes: &cloudtrail.SessionAttributes{MFAAuthenticated: mfa}}
	}
	for _, tc := range []struct {
		name   string
		rec    cloudtrail.Record
		person bool
	}{
		{"console", cloudtrail.Record{UserIdentity: cloudtrail.UserIdentity{Type: identityAssumedRole}, SessionCredentialFromConsole: "true"}, true},
		{"iam user key", cloudtrail.Record{UserIdentity: cloudtrail.UserIdentity{Type: identityIAMUser, AccessKeyID: "AKIAEXAMPLE", UserName: "u"}}, true},
		{"identity center", cloudtrail.Record{UserIdentity: cloudtrail.UserIdentity{Type: identityAssumedRole,
			SessionContext: issuer("AWSReservedSSO_Admin_0123456789abcdef", "false")}}, true},
		{"mfa role", cloudtrail.Record{UserIdentity: cloudtrail.UserIdentity{Type: identityAssumedRole, SessionContext: issuer("ops", "true")}}, true},
		{"pipeline role", cloudtrail.Record{UserIdentity: cloudtrail.UserIdentity{Type: identityAssumedRole, SessionContext: issuer("deploy", "false")}}, false},
		{"service", cloudtrail.Record{UserIdentity: cloudtrail.UserIdentity{Type: "AWSService", InvokedBy: "lambda.amazonaws.com"}}, false},
		{"nothing", cloudtrail.Record{}, false},
	} {
		if got := personSession(&tc.rec) != ""; got != tc.person {
			t.Errorf("%s: person = %v, want %v", tc.name, got, tc.person)
		}
	}
}

func TestIsResolverID(t *testing.T) {
	for in, want := range map[string]bool{
		"rqlc-8ca61fe7c055415a": true, "rqlc-": false, "rqlc-XYZ": false, "rslvr-rr-1": false,
		"rqlc-8ca61fe7c055415a/../x": false, "": false,
	} {
		if got := isResolverID(in, "rqlc-"); got != want {
			t.Errorf("isResolverID(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestFamilyDecisionsSurviveOddInput feeds the Lambda, Bedrock and root
// decisions events whose parameters are not what AWS writes.
func TestFamilyDecisionsSurviveOddInput(t *testing.T) {
	names := map[string][]string{
		"lambda-code-or-layers-changed": {"UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2",
			"CreateFunction20150331", "CreateFunctionUrlConfig20211031"},
		"bedrock-model-access-granted":        {"PutFoundationModelEntitlement", "CreateFoundationModelAgreement", "PutUseCaseForModelAccess"},
		"bedrock-invoked-with-long-term-keys": {"InvokeModel", "ConverseStream"},
	}
	env := &Env{}
	for id, events := range names {
		d := defenseDetection(t, id)
		for _, name := range events {
			for _, params := range append(oddInputs, `{"layers":"arn:aws:lambda:eu-west-1:444455556666:layer:x:1"}`,
				`{"layers":[1,{"a":2},null,"arn:aws:lambda:eu-west-1:444455556666:layer:x:1"]}`, `{"modelId":"arn:aws:bedrock:x\n<script>"}`) {
				for _, errorCode := range []string{"", "AccessDenied", "ValidationException"} {
					ev := apiEvent(name, params, params, errorCode)
					ev.CloudTrail.UserIdentity = cloudtrail.UserIdentity{Type: identityIAMUser, AccessKeyID: "AKIAEXAMPLE"}
					f, ok := d.Evaluate(ev, env)
					if !ok {
						continue
					}
					if f.Headline == "" || f.Resource.Type == "" || !f.Severity.Valid() {
						t.Errorf("%s on %s %s: incomplete finding %+v", id, name, params, f)
					}
					if containsControl(f.Resource.ARN) {
						t.Errorf("%s on %s %s: ARN %q built from an invalid name", id, name, params, f.Resource.ARN)
					}
				}
			}
		}
		if _, ok := d.Evaluate(&event.Event{}, env); ok {
			t.Errorf("%s reported an event without a CloudTrail record", id)
		}
	}
}

func containsControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == '<' || r == '>' {
			return true
		}
	}
	return false
}
