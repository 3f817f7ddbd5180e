package detect

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// sharingIDs are the detections whose helpers live in sharing.go.
var sharingIDs = []string{
	"ami-public", "ebs-snapshot-public", "lambda-function-public", "organization-left",
	"organizations-changed", "rds-snapshot-public", "s3-bucket-config-changed",
}

func sharingDetections(t testing.TB) []*Detection {
	t.Helper()
	var out []*Detection
	for _, id := range sharingIDs {
		found := false
		for _, d := range builtin {
			if d.ID == id {
				out = append(out, d)
				found = true
			}
		}
		if !found {
			t.Fatalf("detection %s is not registered", id)
		}
	}
	return out
}

func TestEC2PermissionAdds(t *testing.T) {
	const own = "111122223333"
	for _, tc := range []struct {
		name string
		perm string
		want Sharing
	}{
		{"group all", `{"add":{"items":[{"group":"all"}]}}`, Sharing{Public: true}},
		{"one account", `{"add":{"items":[{"userId":"444455556666"}]}}`, Sharing{Accounts: []string{"444455556666"}}},
		{"own account only", `{"add":{"items":[{"userId":"111122223333"}]}}`, Sharing{}},
		{"single item, not a list", `{"add":{"items":{"group":"all"}}}`, Sharing{Public: true}},
		{"bare list under add", `{"add":[{"userId":"444455556666"},{"group":"all"}]}`, Sharing{Public: true, Accounts: []string{"444455556666"}}},
		{"accounts sorted and deduplicated", `{"add":{"items":[{"userId":"999988887777"},{"userId":"444455556666"},{"userId":"999988887777"}]}}`,
			Sharing{Accounts: []string{"444455556666", "999988887777"}}},
		{"organization", `{"add":{"items":[{"organizationArn":"arn:aws:organizations::111122223333:organization/o-exampleorgid"}]}}`,
			Sharing{Groups: []string{"arn:aws:organizations::111122223333:organization/o-exampleorgid"}}},
		{"removal only", `{"remove":{"items":[{"group":"all"},{"userId":"444455556666"}]}}`, Sharing{}},
		{"userId all", `{"add":{"items":[{"userId":"ALL"}]}}`, Sharing{Public: true}},
		{"wrong types", `{"add":{"items":[{"group":7},{"userId":["444455556666"]},"all",null]}}`, Sharing{}},
		{"add is a string", `{"add":"all"}`, Sharing{}},
		{"not an object", `[1,2]`, Sharing{}},
		{"absent", ``, Sharing{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ec2PermissionAdds(json.RawMessage(tc.perm), own)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ec2PermissionAdds(%s) = %+v, want %+v", tc.perm, got, tc.want)
			}
		})
	}
}

func TestSharingSeverityAndAudience(t *testing.T) {
	for _, tc := range []struct {
		s        Sharing
		severity Severity
		audience string
	}{
		{Sharing{Public: true}, SeverityCritical, "everyone (all AWS accounts)"},
		{Sharing{Public: true, Accounts: []string{"444455556666"}}, SeverityCritical, "everyone (all AWS accounts) and account 444455556666"},
		{Sharing{Accounts: []string{"444455556666", "999988887777"}}, SeverityMedium, "accounts 444455556666, 999988887777"},
		{Sharing{Groups: []string{"arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-a1b2-c3d4e5f6"}}, SeverityLow,
			"arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-a1b2-c3d4e5f6"},
	} {
		if got := tc.s.Severity(); got != tc.severity {
			t.Errorf("%+v: Severity() = %v, want %v", tc.s, got, tc.severity)
		}
		if got := tc.s.Audience(); got != tc.audience {
			t.Errorf("%+v: Audience() = %q, want %q", tc.s, got, tc.audience)
		}
	}
}

func TestReplicationDestinations(t *testing.T) {
	rule := func(id, status, bucket, account string) string {
		dest := fmt.Sprintf(`{"Bucket":%q`, bucket)
		if account != "" {
			dest += fmt.Sprintf(`,"Account":%q`, account)
		}
		return fmt.Sprintf(`{"ID":%q,"Status":%q,"Destination":%s}}`, id, status, dest)
	}
	type dest struct {
		Rule, Bucket, Account string
		Enabled               bool
	}
	for _, tc := range []struct {
		name string
		rp   string
		want []dest
	}{
		{"one rule object", `{"ReplicationConfiguration":{"Rule":` + rule("a", "Enabled", "arn:aws:s3:::x", "444455556666") + `}}`,
			[]dest{{"a", "arn:aws:s3:::x", "444455556666", true}}},
		{"rule list", `{"ReplicationConfiguration":{"Rule":[` + rule("a", "Enabled", "arn:aws:s3:::x", "") + `,` + rule("b", "Disabled", "arn:aws:s3:::y", "444455556666") + `]}}`,
			[]dest{{"a", "arn:aws:s3:::x", "", true}, {"b", "arn:aws:s3:::y", "444455556666", false}}},
		{"lower-case keys", `{"replicationConfiguration":{"rule":{"id":"a","destination":{"bucket":"arn:aws:s3:::x","account":"444455556666"}}}}`,
			[]dest{{"a", "arn:aws:s3:::x", "444455556666", true}}},
		{"Rules spelling", `{"ReplicationConfiguration":{"Rules":[` + rule("a", "Enabled", "arn:aws:s3:::x", "") + `]}}`,
			[]dest{{"a", "arn:aws:s3:::x", "", true}}},
		{"destination of the wrong type", `{"ReplicationConfiguration":{"Rule":{"ID":"a","Destination":"arn:aws:s3:::x"}}}`,
			[]dest{{"a", "", "", true}}},
		{"no configuration", `{"bucketName":"b"}`, nil},
		{"configuration is a string", `{"ReplicationConfiguration":"<xml/>"}`, nil},
		{"null", `null`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []dest
			for _, d := range replicationDestinations(json.RawMessage(tc.rp)) {
				got = append(got, dest{d.Rule, d.Bucket, d.Account, d.Enabled})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("replicationDestinations(%s) = %+v, want %+v", tc.rp, got, tc.want)
			}
		})
	}
}

func TestLambdaGrantExposure(t *testing.T) {
	for _, tc := range []struct {
		name string
		rp   string
		sev  Severity // zero: no exposure
	}{
		{"anyone", `{"principal":"*","action":"lambda:InvokeFunction"}`, SeverityCritical},
		{"anyone with IAM-auth URL", `{"principal":"*","action":"lambda:InvokeFunctionUrl","functionUrlAuthType":"AWS_IAM"}`, SeverityCritical},
		{"anyone through a public URL", `{"principal":"*","action":"lambda:InvokeFunctionUrl","functionUrlAuthType":"NONE"}`, SeverityHigh},
		{"anyone invoking via the URL", `{"principal":"*","action":"lambda:InvokeFunction","invokedViaFunctionUrl":true}`, SeverityHigh},
		{"anyone in the organization", `{"principal":"*","principalOrgID":"o-exampleorgid"}`, 0},
		{"anyone from one account", `{"principal":"*","sourceAccount":"111122223333"}`, 0},
		{"service pinned to a source", `{"principal":"s3.amazonaws.com","sourceArn":"arn:aws:s3:::acme-uploads"}`, 0},
		{"service without a source", `{"principal":"events.amazonaws.com"}`, SeverityLow},
		{"another account", `{"principal":"444455556666"}`, 0},
		{"account root ARN", `{"principal":"arn:aws:iam::444455556666:root"}`, 0},
		{"principal of the wrong type", `{"principal":{"AWS":"*"}}`, 0},
		{"empty", `{}`, 0},
		{"not an object", `"*"`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sev, ok := parseLambdaGrant(json.RawMessage(tc.rp)).exposure()
			if ok != (tc.sev != 0) || sev != tc.sev {
				t.Errorf("exposure(%s) = %v, %t; want %v", tc.rp, sev, ok, tc.sev)
			}
		})
	}
}

func TestDescribeOrgChange(t *testing.T) {
	for _, tc := range []struct {
		name, event, rp string
		want            Severity // zero: not covered
		resource        string
	}{
		{"leave", "LeaveOrganization", `null`, SeverityCritical, "AWS account"},
		{"remove account", "RemoveAccountFromOrganization", `{"accountId":"444455556666"}`, SeverityHigh, "AWS account"},
		{"delete organization", "DeleteOrganization", `null`, SeverityHigh, "AWS organization"},
		{"disable SCPs", "DisablePolicyType", `{"rootId":"r-a1b2","policyType":"SERVICE_CONTROL_POLICY"}`, SeverityHigh, "Organization root"},
		{"disable tag policies", "DisablePolicyType", `{"rootId":"r-a1b2","policyType":"TAG_POLICY"}`, SeverityHigh, "Organization root"},
		{"enable policy type", "EnablePolicyType", `{"rootId":"r-a1b2","policyType":"SERVICE_CONTROL_POLICY"}`, SeverityLow, "Organization root"},
		{"detach policy", "DetachPolicy", `{"policyId":"p-7h3kq9xd","targetId":"444455556666"}`, SeverityHigh, "Organizations policy"},
		{"detach FullAWSAccess", "DetachPolicy", `{"policyId":"p-FullAWSAccess","targetId":"ou-a1b2-c3d4e5f6"}`, SeverityMedium, "Organizations policy"},
		{"detach RCPFullAWSAccess", "DetachPolicy", `{"policyId":"p-RCPFullAWSAccess","targetId":"r-a1b2"}`, SeverityMedium, "Organizations policy"},
		{"attach policy", "AttachPolicy", `{"policyId":"p-7h3kq9xd","targetId":"r-a1b2"}`, SeverityMedium, "Organizations policy"},
		{"create policy", "CreatePolicy", `{"name":"n","type":"SERVICE_CONTROL_POLICY","content":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}`, SeverityLow, "Organizations policy"},
		{"update policy", "UpdatePolicy", `{"policyId":"p-7h3kq9xd","content":"not json"}`, SeverityMedium, "Organizations policy"},
		{"delete policy", "DeletePolicy", `{"policyId":"p-7h3kq9xd"}`, SeverityLow, "Organizations policy"},
		{"move account", "MoveAccount", `{"accountId":"444455556666","sourceParentId":"ou-a1b2-c3d4e5f6","destinationParentId":"r-a1b2"}`, SeverityMedium, "AWS account"},
		{"create account", "CreateAccount", `{"accountName":"HIDDEN_DUE_TO_SECURITY_REASONS","email":"HIDDEN_DUE_TO_SECURITY_REASONS"}`, SeverityMedium, "AWS account"},
		{"invite account", "InviteAccountToOrganization", `{"target":{"id":"444455556666","type":"ACCOUNT"}}`, SeverityMedium, "AWS account"},
		{"accept handshake", "AcceptHandshake", `{"handshakeId":"h-examplehandshakeid111"}`, SeverityMedium, "Organizations handshake"},
		{"decline handshake", "DeclineHandshake", `{"handshakeId":"h-examplehandshakeid111"}`, SeverityLow, "Organizations handshake"},
		{"create OU", "CreateOrganizationalUnit", `{"parentId":"r-a1b2","name":"Sandbox"}`, SeverityLow, "Organizational unit"},
		{"delete OU", "DeleteOrganizationalUnit", `{"organizationalUnitId":"ou-a1b2-c3d4e5f6"}`, SeverityLow, "Organizational unit"},
		{"rename OU", "UpdateOrganizationalUnit", `{"organizationalUnitId":"ou-a1b2-c3d4e5f6","name":"Prod"}`, SeverityLow, "Organizational unit"},
		{"parameters of the wrong types", "DetachPolicy", `{"policyId":7,"targetId":["r-a1b2"]}`, SeverityHigh, "Organizations policy"},
		{"read-only call", "ListPolicies", `{"filter":"SERVICE_CONTROL_POLICY"}`, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &cloudtrail.Record{EventName: tc.event, EventSource: organizationsSource, AWSRegion: "us-east-1",
				RecipientAccountID: "111122223333", RequestParameters: json.RawMessage(tc.rp)}
			c, ok := describeOrgChange(rec)
			if ok != (tc.want != 0) || c.Severity != tc.want {
				t.Fatalf("describeOrgChange(%s %s) = %v, %t; want %v", tc.event, tc.rp, c.Severity, ok, tc.want)
			}
			if !ok {
				return
			}
			if c.Resource.Type != tc.resource {
				t.Errorf("resource type = %q, want %q", c.Resource.Type, tc.resource)
			}
			if c.Done == "" || c.Tried == "" || len(c.Changes) == 0 {
				t.Errorf("incomplete description: %+v", c)
			}
			for _, ev := range c.Evidence {
				if strings.Contains(ev.Label, "p-7h3kq9xd") || strings.Contains(ev.Label, "Sandbox") {
					t.Errorf("evidence label %q carries event text", ev.Label)
				}
			}
		})
	}
}

func TestPolicyContentEvidence(t *testing.T) {
	for _, tc := range []struct {
		content, label string
	}{
		{`"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"`,
			"New policy content: 2 statement(s), 1 of them Deny"},
		{`"{\"tags\":{\"costcenter\":{\"tag_key\":{\"@@assign\":\"CostCenter\"}}}}"`, "New policy content"},
		{`42`, "New policy content"},
	} {
		if got := policyContentEvidence(json.RawMessage(tc.content)); got.Label != tc.label || got.Text == "" {
			t.Errorf("policyContentEvidence(%s) = %+v, want label %q", tc.content, got, tc.label)
		}
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc..."},
		{"aé", 2, "a..."}, // never cut inside a rune
	} {
		if got := clip(tc.in, tc.n); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestSharingFindings runs the group's fixtures through the group's
// detections alone and checks what the messages will say, beside the
// severities the catalog test checks.
func TestSharingFindings(t *testing.T) {
	c, err := New(sharingDetections(t)...)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		ID       string
		Severity Severity
		Headline string
		Resource string
		Attempt  bool
	}
	for _, tc := range []struct {
		file string
		want []got
	}{
		{"s3/s3-bucket-config-changed-replication-cross-account.json", []got{{"s3-bucket-config-changed", SeverityMedium,
			"Bucket acme-prod-customer-data now replicates new objects to another account: external-sync-bucket-7781 (account 444455556666)",
			"S3 bucket acme-prod-customer-data arn:aws:s3:::acme-prod-customer-data", false}}},
		{"s3/s3-bucket-config-changed-replication-same-account.json", []got{{"s3-bucket-config-changed", SeverityLow,
			"Replication of bucket acme-prod-media configured to acme-dr-media-us-west-2, partner-drop-zone (account 444455556666, rule disabled)",
			"S3 bucket acme-prod-media arn:aws:s3:::acme-prod-media", false}}},
		{"s3/s3-bucket-config-changed-delete-bucket-policy.json", []got{{"s3-bucket-config-changed", SeverityMedium,
			"Policy of bucket acme-prod-invoices deleted", "S3 bucket acme-prod-invoices arn:aws:s3:::acme-prod-invoices", false}}},
		{"s3/s3-bucket-config-changed-delete-bucket-replication-denied.json", []got{{"s3-bucket-config-changed", SeverityLow,
			"Failed attempt to delete the replication configuration of bucket acme-prod-media (AccessDenied)",
			"S3 bucket acme-prod-media arn:aws:s3:::acme-prod-media", true}}},
		{"s3/put-bucket-acl-canned-public-read-write.json", []got{{"s3-bucket-config-changed", SeverityLow,
			"ACL of bucket acme-marketing-assets replaced", "S3 bucket acme-marketing-assets arn:aws:s3:::acme-marketing-assets", false}}},
		{"s3/s3-bucket-config-changed-get-bucket-replication.json", nil},
		{"ec2/ebs-snapshot-public-group-all.json", []got{{"ebs-snapshot-public", SeverityCritical,
			"EBS snapshot snap-0a1b2c3d4e5f60718 made public: every AWS account can use it",
			"EBS snapshot snap-0a1b2c3d4e5f60718 arn:aws:ec2:us-east-1::snapshot/snap-0a1b2c3d4e5f60718", false}}},
		{"ec2/ebs-snapshot-public-external-account.json", []got{{"ebs-snapshot-public", SeverityMedium,
			"EBS snapshot snap-09f8e7d6c5b4a3921 shared with account 444455556666",
			"EBS snapshot snap-09f8e7d6c5b4a3921 arn:aws:ec2:eu-west-1::snapshot/snap-09f8e7d6c5b4a3921", false}}},
		{"ec2/ebs-snapshot-public-failed-encrypted.json", []got{{"ebs-snapshot-public", SeverityLow,
			"Failed attempt to share EBS snapshot snap-0c2d4e6f8a0b1c3d5 with everyone (all AWS accounts) (Client.InvalidParameter)",
			"EBS snapshot snap-0c2d4e6f8a0b1c3d5 arn:aws:ec2:us-east-1::snapshot/snap-0c2d4e6f8a0b1c3d5", true}}},
		{"ec2/ebs-snapshot-public-remove-account.json", nil},
		{"ec2/ami-public-group-all.json", []got{{"ami-public", SeverityCritical,
			"AMI ami-0f1e2d3c4b5a69788 made public: every AWS account can use it",
			"AMI ami-0f1e2d3c4b5a69788 arn:aws:ec2:eu-central-1::image/ami-0f1e2d3c4b5a69788", false}}},
		{"ec2/ami-public-organization.json", []got{{"ami-public", SeverityLow,
			"AMI ami-0aa1bb2cc3dd4ee5f shared with arn:aws:organizations::111122223333:organization/o-exampleorgid",
			"AMI ami-0aa1bb2cc3dd4ee5f arn:aws:ec2:us-west-2::image/ami-0aa1bb2cc3dd4ee5f", false}}},
		{"ec2/ami-public-description-changed.json", nil},
		{"rds/rds-snapshot-public-db-snapshot-all.json", []got{{"rds-snapshot-public", SeverityCritical,
			"RDS DB snapshot acme-orders-manual-2026-11-21 made public: every AWS account can use it",
			"RDS DB snapshot acme-orders-manual-2026-11-21 arn:aws:rds:eu-west-1:111122223333:snapshot:acme-orders-manual-2026-11-21", false}}},
		{"rds/rds-snapshot-public-cluster-snapshot-account.json", []got{{"rds-snapshot-public", SeverityMedium,
			"RDS DB cluster snapshot acme-ledger-aurora-2026-11-20 shared with account 444455556666",
			"RDS DB cluster snapshot acme-ledger-aurora-2026-11-20 arn:aws:rds:us-east-1:111122223333:cluster-snapshot:acme-ledger-aurora-2026-11-20", false}}},
		{"rds/rds-snapshot-public-remove-account.json", nil},
		{"lambda/lambda-function-public-add-permission-anyone.json", []got{{"lambda-function-public", SeverityCritical,
			"Lambda function acme-billing-export can now be invoked by anyone (principal *) (lambda:InvokeFunction)",
			"Lambda function acme-billing-export arn:aws:lambda:us-east-1:111122223333:function:acme-billing-export", false}}},
		{"lambda/lambda-function-public-function-url-none.json", []got{{"lambda-function-public", SeverityHigh,
			"Lambda function acme-stripe-webhook has a function URL without authentication: anyone who finds the URL can invoke it",
			"Lambda function acme-stripe-webhook arn:aws:lambda:eu-west-1:111122223333:function:acme-stripe-webhook", false}}},
		{"lambda/lambda-function-public-add-permission-s3-source-arn.json", nil},
		{"lambda/lambda-function-public-add-permission-org.json", nil},
		{"lambda/lambda-function-public-update-url-iam.json", nil},
		{"organizations/organizations-changed-detach-scp.json", []got{{"organizations-changed", SeverityHigh,
			"Policy p-7h3kq9xd detached from OU ou-a1b2-c3d4e5f6: the guardrails it enforced no longer apply there",
			"Organizations policy p-7h3kq9xd ", false}}},
		{"organizations/organizations-changed-update-scp.json", []got{{"organizations-changed", SeverityMedium,
			"Service control policy baseline-guardrails changed: the new content applies at once wherever it is attached",
			"Organizations policy p-7h3kq9xd arn:aws:organizations::111122223333:policy/o-exampleorgid/service_control_policy/p-7h3kq9xd", false}}},
		{"organizations/organization-left-leave-organization.json", []got{
			{"organization-left", SeverityCritical,
				"Account 111122223333 left its AWS organization: service control policies and the organization trail no longer apply to it",
				"AWS account 111122223333 ", false},
			{"organizations-changed", SeverityCritical,
				"Account 111122223333 left its AWS organization: service control policies and the organization trail no longer apply to it",
				"AWS account 111122223333 ", false},
		}},
		{"organizations/organization-left-leave-denied-by-scp.json", []got{
			{"organization-left", SeverityLow, "Failed attempt to take account 111122223333 out of its AWS organization (AccessDeniedException)",
				"AWS account 111122223333 ", true},
			{"organizations-changed", SeverityLow, "Failed attempt to take account 111122223333 out of its AWS organization (AccessDeniedException)",
				"AWS account 111122223333 ", true},
		}},
		{"organizations/organizations-changed-list-policies.json", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := event.Decode(fixture.Read(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			findings, err := c.Evaluate(ev)
			if err != nil {
				t.Fatal(err)
			}
			var gotten []got
			for _, f := range findings {
				gotten = append(gotten, got{f.Detection.ID, f.Severity, f.Headline,
					f.Resource.Type + " " + f.Resource.Name + " " + f.Resource.ARN, f.Attempt})
				for _, ev := range f.Evidence {
					if ev.Label == "" || ev.Text == "" {
						t.Errorf("%s: evidence without label or text: %+v", f.Detection.ID, ev)
					}
				}
				if f.Attempt && len(f.Changes) > 0 {
					t.Errorf("%s: a failed attempt reports changes: %+v", f.Detection.ID, f.Changes)
				}
			}
			if !reflect.DeepEqual(gotten, tc.want) {
				t.Errorf("findings =\n%+v\nwant\n%+v", gotten, tc.want)
			}
		})
	}
}

// oddValues are request parameters and response elements of the wrong
// shape: each decision must shrug them off without panicking.
var oddValues = []string{
	`null`, `{}`, `[]`, `""`, `"*"`, `0`, `true`,
	`{"createVolumePermission":"all","launchPermission":[1,2],"valuesToAdd":"all","attributeName":"restore"}`,
	`{"createVolumePermission":{"add":{"items":[null,7,"x",{"group":null,"userId":{}}]}}}`,
	`{"launchPermission":{"add":{"items":{"group":"all"}}},"imageId":42}`,
	`{"attributeName":["restore"],"valuesToAdd":[null,7,{"a":1}],"dBSnapshotIdentifier":{}}`,
	`{"attributeName":"RESTORE","valuesToAdd":"all","dBClusterSnapshotIdentifier":"arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:x"}`,
	`{"principal":["*"],"sourceArn":1,"functionName":null,"authType":{}}`,
	`{"principal":"*","functionName":"arn:aws:lambda","authType":"none","invokedViaFunctionUrl":"yes"}`,
	`{"bucketName":["a","b"],"ReplicationConfiguration":{"Rule":[null,{"Destination":[]},{"Destination":{"Account":5}}]}}`,
	`{"bucketName":7,"bucketPolicy":"{","LifecycleConfiguration":null,"x-amz-acl":[1]}`,
	`{"policyId":[],"targetId":null,"content":{"Statement":"x"},"target":"444455556666","rootId":1}`,
	`{"policy":{"policySummary":[]},"root":"r","handshake":7,"createAccountStatus":null,"statement":"{not json"}`,
}

// sharingEventNames are the event names the group's patterns let through.
var sharingEventNames = []string{
	"PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication",
	"DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication",
	"ModifySnapshotAttribute", "ModifyImageAttribute", "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute",
	"AddPermission20150331v2", "CreateFunctionUrlConfig20211031", "UpdateFunctionUrlConfig20211031",
	"AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy", "DeclineHandshake",
	"DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy", "DisablePolicyType",
	"EnablePolicyType", "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount",
	"RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit",
}

// oddEvent builds a CloudTrail event with the given name and odd parts.
func oddEvent(t testing.TB, name, request, response, errorCode string) *event.Event {
	t.Helper()
	detail := map[string]any{
		"eventVersion": "1.11", "eventTime": "2026-11-21T10:00:00Z", "eventSource": "x.amazonaws.com",
		"eventName": name, "awsRegion": "eu-west-1", "eventID": "odd", "recipientAccountId": "111122223333",
		"requestParameters": json.RawMessage(request), "responseElements": json.RawMessage(response),
	}
	if errorCode != "" {
		detail["errorCode"] = errorCode
	}
	env := map[string]any{"version": "0", "id": "odd", "detail-type": event.DetailTypeAPICall, "source": "aws.x",
		"account": "111122223333", "time": "2026-11-21T10:00:00Z", "region": "eu-west-1", "resources": []string{}, "detail": detail}
	return eventOf(t, env)
}

func checkSharingDecisions(t *testing.T, ev *event.Event) {
	t.Helper()
	for _, d := range sharingDetections(t) {
		f, ok, err := evaluate(d, ev, &Env{})
		if err != nil {
			t.Fatalf("%s: %v", d.ID, err)
		}
		if !ok {
			continue
		}
		if !f.Severity.Valid() || f.Headline == "" || f.Resource.Type == "" {
			t.Errorf("%s on %s: incomplete finding %+v", d.ID, ev.CloudTrail.EventName, f)
		}
		if f.Attempt && f.Severity > SeverityLow {
			t.Errorf("%s on %s: failed attempt at %v", d.ID, ev.CloudTrail.EventName, f.Severity)
		}
	}
}

func TestSharingDecisionsSurviveOddInput(t *testing.T) {
	for _, d := range sharingDetections(t) {
		if _, ok := d.Evaluate(&event.Event{}, &Env{}); ok {
			t.Errorf("%s fires on an event without a CloudTrail record", d.ID)
		}
	}
	for _, name := range sharingEventNames {
		for i, v := range oddValues {
			for _, errorCode := range []string{"", "AccessDenied"} {
				t.Run(fmt.Sprintf("%s/%d/%s", name, i, errorCode), func(t *testing.T) {
					checkSharingDecisions(t, oddEvent(t, name, v, v, errorCode))
				})
			}
		}
	}
}

func FuzzSharingDecisions(f *testing.F) {
	for i, name := range sharingEventNames {
		f.Add(name, oddValues[i%len(oddValues)], oddValues[(i+3)%len(oddValues)])
	}
	f.Fuzz(func(t *testing.T, name, request, response string) {
		if !json.Valid([]byte(request)) || !json.Valid([]byte(response)) || name == "" {
			t.Skip()
		}
		checkSharingDecisions(t, oddEvent(t, name, request, response, ""))
	})
}
