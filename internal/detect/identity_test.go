package detect

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/iampolicy"
)

// identityIDs are the detections of identity.go's group.
var identityIDs = []string{
	"api-call-unauthorized", "console-login-without-mfa", "root-account-used", "iam-policy-changed",
	"console-login-failed", "root-access-key-created", "root-password-changed", "root-mfa-deactivated",
	"iam-user-created", "access-key-created-for-another-user", "login-profile-created-or-changed",
	"role-trust-policy-changed",
}

func identityDetection(t *testing.T, id string) *Detection {
	t.Helper()
	for _, d := range builtin {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("detection %s is not registered", id)
	return nil
}

// ctEvent wraps a CloudTrail record, given as JSON fields on top of a
// minimal valid record, into the envelope EventBridge delivers.
func ctEvent(t *testing.T, fields map[string]any) *event.Event {
	t.Helper()
	detail := map[string]any{
		"eventVersion": "1.11", "eventTime": "2026-11-23T10:00:00Z", "awsRegion": "us-east-1",
		"eventID": "00000000-0000-4000-8000-000000000001", "eventType": "AwsApiCall",
		"recipientAccountId": "111122223333",
	}
	for k, v := range fields {
		if v == nil {
			delete(detail, k)
			continue
		}
		detail[k] = v
	}
	detailType := event.DetailTypeFor(detail["eventType"].(string))
	source, _ := detail["eventSource"].(string)
	env := map[string]any{
		"version": "0", "id": "11111111-2222-4333-8444-555555555555", "detail-type": detailType,
		"source": event.SourceFor(source), "account": "111122223333", "time": "2026-11-23T10:00:00Z",
		"region": "us-east-1", "resources": []any{}, "detail": detail,
	}
	return eventOf(t, env)
}

var (
	testRoot    = map[string]any{"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}
	testIAMUser = map[string]any{"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333", "userName": "alice"}
	testRole    = map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/admin/bob", "accountId": "111122223333"}
)

func TestParsePolicyDocument(t *testing.T) {
	compact := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	console := "{\n\t\"Version\": \"2012-10-17\",\n\t\"Statement\": [\n\t\t{\n\t\t\t\"Effect\": \"Allow\",\n\t\t\t\"Action\": [\"*\"],\n\t\t\t\"Resource\": [\"*\"]\n\t\t}\n\t]\n}"
	plus := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a+b/*"}}`
	jsonString := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for _, tc := range []struct {
		name       string
		raw        string
		statements int
		wantErr    error // nil: parses; errNoPolicyDocument or iampolicy.ErrNotPolicy
		resource   string
	}{
		{"json string", jsonString(compact), 1, nil, "*"},
		{"console formatting", jsonString(console), 1, nil, "*"},
		{"url-encoded string", jsonString(url.PathEscape(compact)), 1, nil, "*"},
		{"url-encoded keeps plus", jsonString(strings.ReplaceAll(url.PathEscape(plus), "%2B", "+")), 1, nil, "arn:aws:s3:::a+b/*"},
		{"object", compact, 1, nil, "*"},
		{"missing", ``, 0, errNoPolicyDocument, ""},
		{"null", `null`, 0, errNoPolicyDocument, ""},
		{"empty string", `""`, 0, errNoPolicyDocument, ""},
		{"blank string", `"  "`, 0, errNoPolicyDocument, ""},
		{"number", `42`, 0, iampolicy.ErrNotPolicy, ""},
		{"list", `[1,2]`, 0, iampolicy.ErrNotPolicy, ""},
		{"string that is not a policy", `"hello"`, 0, iampolicy.ErrNotPolicy, ""},
		{"bad url escape", `"%zz"`, 0, iampolicy.ErrNotPolicy, ""},
		{"policy without statements", jsonString(`{"Version":"2012-10-17"}`), 0, iampolicy.ErrNotPolicy, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePolicyDocument(json.RawMessage(tc.raw))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("parsePolicyDocument(%s) error = %v, want %v", tc.raw, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePolicyDocument(%s): %v", tc.raw, err)
			}
			if got := len(p.Statements); got != tc.statements {
				t.Errorf("%d statements, want %d", got, tc.statements)
			}
			if got := p.Statements[0].Resource[0]; got != tc.resource {
				t.Errorf("resource %q, want %q", got, tc.resource)
			}
			if text := policyDocumentText(json.RawMessage(tc.raw)); !strings.HasPrefix(text, "{") || strings.Contains(text, "\n") {
				t.Errorf("policyDocumentText = %q, want compact JSON", text)
			}
		})
	}
}

func TestAdminGrantOf(t *testing.T) {
	for _, tc := range []struct {
		name, statement string
		admin           bool
	}{
		{"star on star", `{"Effect":"Allow","Action":"*","Resource":"*"}`, true},
		{"star in lists", `{"Effect":"Allow","Action":["s3:GetObject","*"],"Resource":["arn:aws:s3:::x","*"]}`, true},
		{"iam star", `{"Effect":"Allow","Action":"IAM:*","Resource":"*"}`, true},
		{"not action", `{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"}`, true},
		{"not resource", `{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::audit/*"}`, true},
		{"with condition still counts", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`, true},
		{"deny", `{"Effect":"Deny","Action":"*","Resource":"*"}`, false},
		{"scoped resource", `{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::x/*"}`, false},
		{"service star", `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`, false},
		{"iam read", `{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}`, false},
		{"not action star", `{"Effect":"Allow","NotAction":"*","Resource":"*"}`, false},
		{"no effect", `{"Action":"*","Resource":"*"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := iampolicy.Parse([]byte(`{"Statement":` + tc.statement + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := adminGrantOf(p.Statements[0]) != ""; got != tc.admin {
				t.Errorf("adminGrantOf(%s) = %q, want admin %t", tc.statement, adminGrantOf(p.Statements[0]), tc.admin)
			}
		})
	}
}

func TestAnalyzeTrust(t *testing.T) {
	const self = "111122223333"
	for _, tc := range []struct {
		name, statements string
		want             trustReach
	}{
		{"everyone", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`, reachEveryone},
		{"aws star in list", `{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","*"]},"Action":"sts:AssumeRole"}`, reachEveryone},
		{"external id does not narrow", `{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}`, reachEveryone},
		{"negated operator does not narrow", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}}`, reachEveryone},
		{"IfExists does not narrow", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}}`, reachEveryone},
		{"wildcard value does not narrow", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"*"}}}`, reachEveryone},
		{"not principal", `{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}`, reachEveryone},
		{"org", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1b2c3"}}}`, reachOther},
		{"own account by condition", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}`, reachAccount},
		{"org and own account: most restrictive wins", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-a1","aws:PrincipalAccount":"111122223333"}}}`, reachAccount},
		{"arn with any account", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/ci"}}}`, reachOther},
		{"arn of own account", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/ci"}}}`, reachAccount},
		{"other account root", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}`, reachOther},
		{"other account id", `{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole"}`, reachOther},
		{"unique id", `{"Effect":"Allow","Principal":{"AWS":"AROAEXAMPLEDELETED"},"Action":"sts:AssumeRole"}`, reachOther},
		{"own account role", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ci"},"Action":"sts:AssumeRole"}`, reachAccount},
		{"service", `{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}`, reachAccount},
		{"github without sub", `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}`, reachOther},
		{"github with sub", `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/infra:*"}}}`, reachAccount},
		{"cognito without aud", `{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}`, reachOther},
		{"cognito with aud", `{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:1111"}}}`, reachAccount},
		{"saml provider of own account", `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/okta"},"Action":"sts:AssumeRoleWithSAML"}`, reachAccount},
		{"deny everyone is not a grant", `[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]`, reachAccount},
		{"worst statement decides", `[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole"}]`, reachOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := iampolicy.Parse([]byte(`{"Version":"2012-10-17","Statement":` + tc.statements + `}`))
			if err != nil {
				t.Fatal(err)
			}
			got := reachAccount
			var whys []string
			for _, g := range analyzeTrust(p, self) {
				got = max(got, g.Reach)
				whys = append(whys, g.Why)
			}
			if got != tc.want {
				t.Errorf("reach = %d (%v), want %d", got, whys, tc.want)
			}
		})
	}
}

func TestIAMPrincipalAccount(t *testing.T) {
	for in, want := range map[string]string{
		"111122223333":                               "111122223333",
		"arn:aws:iam::444455556666:root":             "444455556666",
		"arn:aws-cn:iam::444455556666:role/a/b":      "444455556666",
		"arn:aws:sts::444455556666:assumed-role/r/s": "444455556666",
		"arn:aws:iam::*:root":                        "",
		"AROAEXAMPLE":                                "",
		"*":                                          "",
		"":                                           "",
		"11112222333":                                "",
	} {
		if got := iamPrincipalAccount(in); got != want {
			t.Errorf("iamPrincipalAccount(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIdentityDecisions covers decisions the fixtures do not: each case is
// one record and the severity it must produce (0: no finding).
func TestIdentityDecisions(t *testing.T) {
	signIn := func(identity map[string]any, result string, extra any) map[string]any {
		return map[string]any{
			"eventType": "AwsConsoleSignIn", "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
			"userIdentity": identity, "responseElements": map[string]any{"ConsoleLogin": result}, "additionalEventData": extra,
		}
	}
	iamCall := func(identity map[string]any, name string, req any) map[string]any {
		return map[string]any{"eventSource": "iam.amazonaws.com", "eventName": name, "userIdentity": identity, "requestParameters": req}
	}
	trust := func(doc string) map[string]any {
		return iamCall(testIAMUser, "UpdateAssumeRolePolicy", map[string]any{"roleName": "r", "policyDocument": doc})
	}
	for _, tc := range []struct {
		name, id string
		record   map[string]any
		want     Severity
	}{
		{"sign-in without MFAUsed is reported", "console-login-without-mfa", signIn(testIAMUser, "Success", map[string]any{"LoginTo": "x"}), SeverityMedium},
		{"SAML sign-in is skipped", "console-login-without-mfa", signIn(testIAMUser, "Success", map[string]any{"MFAUsed": "No", "SamlProviderArn": "arn:aws:iam::111122223333:saml-provider/okta"}), 0},
		{"federated user is skipped", "console-login-without-mfa", signIn(map[string]any{"type": "FederatedUser"}, "Success", map[string]any{"MFAUsed": "No"}), 0},
		{"odd additionalEventData", "console-login-without-mfa", signIn(testIAMUser, "Success", "MFAUsed=No"), SeverityMedium},
		{"failed sign-in of a role session", "console-login-failed", signIn(testRole, "Failure", nil), SeverityLow},
		{"sign-in result missing", "console-login-failed", map[string]any{"eventType": "AwsConsoleSignIn", "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "userIdentity": testRoot, "responseElements": nil}, 0},
		{"root sign-in result missing", "root-account-used", map[string]any{"eventType": "AwsConsoleSignIn", "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "userIdentity": testRoot}, 0},
		{"root call invoked by a service", "root-account-used", iamCall(map[string]any{"type": "Root", "invokedBy": "cloudformation.amazonaws.com"}, "CreateRole", nil), 0},
		{"root service event", "root-account-used", map[string]any{"eventType": "AwsServiceEvent", "eventSource": "iam.amazonaws.com", "eventName": "X", "userIdentity": testRoot}, 0},
		{"assumed root call", "root-account-used", iamCall(map[string]any{"type": "Root", "sessionContext": map[string]any{"assumedRoot": "true"}}, "DeleteLoginProfile", nil), SeverityMedium},
		{"unauthorized by root", "api-call-unauthorized", map[string]any{"eventSource": "ec2.amazonaws.com", "eventName": "DescribeVpcs", "userIdentity": testRoot, "errorCode": "Client.UnauthorizedOperation"}, SeverityMedium},
		{"unauthorized KMS", "api-call-unauthorized", map[string]any{"eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "userIdentity": testRole, "errorCode": "AccessDeniedException"}, SeverityMedium},
		{"other error code", "api-call-unauthorized", map[string]any{"eventSource": "ec2.amazonaws.com", "eventName": "DescribeVpcs", "userIdentity": testRole, "errorCode": "Client.RequestLimitExceeded"}, 0},
		{"own key, no userName", "access-key-created-for-another-user", iamCall(testIAMUser, "CreateAccessKey", nil), 0},
		{"key by user known only by ARN", "access-key-created-for-another-user", iamCall(map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/ops/alice"}, "CreateAccessKey", map[string]any{"userName": "alice"}), 0},
		{"own key, name in another case", "access-key-created-for-another-user", iamCall(testIAMUser, "CreateAccessKey", map[string]any{"userName": "Alice"}), 0},
		{"userName of the wrong type", "access-key-created-for-another-user", iamCall(testRole, "CreateAccessKey", map[string]any{"userName": 7}), 0},
		{"root key with empty request", "root-access-key-created", iamCall(testRoot, "CreateAccessKey", map[string]any{}), SeverityCritical},
		{"own password without userName", "login-profile-created-or-changed", iamCall(testIAMUser, "UpdateLoginProfile", nil), SeverityLow},
		{"password reset flag as a string", "login-profile-created-or-changed", iamCall(testRole, "UpdateLoginProfile", map[string]any{"userName": "alice", "passwordResetRequired": "true"}), SeverityHigh},
		{"root device deleted by an admin, other name", "root-mfa-deactivated", iamCall(testRole, "DeleteVirtualMFADevice", map[string]any{"serialNumber": "arn:aws:iam::111122223333:mfa/alice"}), 0},
		{"root security key deactivated by root", "root-mfa-deactivated", iamCall(testRoot, "DeactivateMFADevice", map[string]any{"serialNumber": "arn:aws:iam::111122223333:u2f/root/key-ABC"}), SeverityCritical},
		{"root managing a user's device", "root-mfa-deactivated", iamCall(testRoot, "DeactivateMFADevice", map[string]any{"userName": "alice", "serialNumber": "arn:aws:iam::111122223333:mfa/alice"}), 0},
		{"root sets a user's password", "root-password-changed", iamCall(testRoot, "UpdateLoginProfile", map[string]any{"userName": "alice"}), 0},
		{"root changes own password by API", "root-password-changed", iamCall(testRoot, "ChangePassword", nil), SeverityHigh},
		{"attach admin to a role, other partition", "iam-policy-changed", iamCall(testRole, "AttachRolePolicy", map[string]any{"roleName": "r", "policyArn": "arn:aws-us-gov:iam::aws:policy/IAMFullAccess"}), SeverityHigh},
		{"customer policy named like an AWS one", "iam-policy-changed", iamCall(testRole, "AttachRolePolicy", map[string]any{"roleName": "r", "policyArn": "arn:aws:iam::111122223333:policy/AdministratorAccess"}), SeverityMedium},
		{"url-encoded admin document", "iam-policy-changed", iamCall(testRole, "PutGroupPolicy", map[string]any{"groupName": "g", "policyName": "p", "policyDocument": url.PathEscape(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)}), SeverityHigh},
		{"unreadable document", "iam-policy-changed", iamCall(testRole, "CreatePolicy", map[string]any{"policyName": "p", "policyDocument": "{not json"}), SeverityMedium},
		{"document of the wrong type", "iam-policy-changed", iamCall(testRole, "CreatePolicyVersion", map[string]any{"policyArn": "arn:aws:iam::111122223333:policy/p", "policyDocument": []any{1}}), SeverityMedium},
		{"delete policy version", "iam-policy-changed", iamCall(testRole, "DeletePolicyVersion", map[string]any{"policyArn": "arn:aws:iam::111122223333:policy/p", "versionId": "v2"}), SeverityLow},
		{"trust: own account by condition", "role-trust-policy-changed", trust(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}}`), SeverityMedium},
		{"trust: cognito without aud", "role-trust-policy-changed", trust(`{"Statement":{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}}`), SeverityHigh},
		{"trust: no document", "role-trust-policy-changed", iamCall(testIAMUser, "UpdateAssumeRolePolicy", map[string]any{"roleName": "r"}), SeverityMedium},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := identityDetection(t, tc.id)
			f, ok := d.Evaluate(ctEvent(t, tc.record), &Env{})
			switch {
			case tc.want == 0 && ok:
				t.Errorf("%s fired (%s: %s), want no finding", tc.id, f.Severity, f.Headline)
			case tc.want != 0 && !ok:
				t.Errorf("%s did not fire, want %s", tc.id, tc.want)
			case ok && f.Severity != tc.want:
				t.Errorf("%s: severity %s (%s), want %s", tc.id, f.Severity, f.Headline, tc.want)
			}
			if ok && (f.Headline == "" || f.Resource.Type == "") {
				t.Errorf("finding without headline or resource: %+v", f)
			}
			for _, e := range f.Evidence {
				if e.Label == "" {
					t.Errorf("evidence without label: %+v", e)
				}
			}
		})
	}
}

// TestIdentityDetectionsSurviveOddInput runs every detection of the group on
// records whose variable parts have the wrong shape: none may panic, and
// none may fire on an event without a CloudTrail record.
func TestIdentityDetectionsSurviveOddInput(t *testing.T) {
	odd := []any{nil, "x", 7, true, []any{}, []any{"a", 1}, map[string]any{}, map[string]any{"userName": []any{"a"}, "policyDocument": map[string]any{"Statement": 5}}}
	names := []string{"ConsoleLogin", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile", "PutUserPolicy",
		"CreatePolicyVersion", "AttachRolePolicy", "DeactivateMFADevice", "UpdateAssumeRolePolicy", "CreateUser",
		"PasswordUpdated", "PasswordRecoveryRequested"}
	identities := []map[string]any{testRoot, testIAMUser, testRole, {}}
	notCloudTrail, err := event.Decode([]byte(`{"version":"0","id":"x","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{"type":"Recon"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range identityIDs {
		d := identityDetection(t, id)
		t.Run(id, func(t *testing.T) {
			if _, ok := d.Evaluate(notCloudTrail, &Env{}); ok {
				t.Error("fired on an event without a CloudTrail record")
			}
			for _, name := range names {
				for _, who := range identities {
					for _, v := range odd {
						for _, source := range []string{"iam.amazonaws.com", "signin.amazonaws.com"} {
							rec := map[string]any{"eventSource": source, "eventName": name, "userIdentity": who,
								"requestParameters": v, "responseElements": v, "additionalEventData": v, "errorCode": "AccessDenied"}
							ev := ctEvent(t, rec)
							func() {
								defer func() {
									if r := recover(); r != nil {
										t.Fatalf("panic on %s by %v with %v: %v", name, who, v, r)
									}
								}()
								d.Evaluate(ev, &Env{})
								delete(rec, "errorCode")
								d.Evaluate(ctEvent(t, rec), &Env{})
							}()
						}
					}
				}
			}
		})
	}
}
