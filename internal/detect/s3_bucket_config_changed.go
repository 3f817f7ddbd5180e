package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/s3access"
)

// bucketConfigs describes each bucket configuration call the detection
// monitors: the setting it changes (as a Change names it, and as a headline
// does), the request parameter that carries the new configuration, and
// whether the call deletes it.
var bucketConfigs = map[string]struct {
	setting string
	noun    string
	param   string
	deleted bool
}{
	"PutBucketAcl":            {"Bucket ACL", "ACL", "AccessControlPolicy", false},
	"PutBucketPolicy":         {"Bucket policy", "policy", "bucketPolicy", false},
	"PutBucketCors":           {"CORS configuration", "CORS configuration", "CORSConfiguration", false},
	"PutBucketLifecycle":      {"Lifecycle configuration", "lifecycle rules", "LifecycleConfiguration", false},
	"PutBucketReplication":    {"Replication configuration", "replication configuration", "ReplicationConfiguration", false},
	"DeleteBucketPolicy":      {"Bucket policy", "policy", "", true},
	"DeleteBucketCors":        {"CORS configuration", "CORS configuration", "", true},
	"DeleteBucketLifecycle":   {"Lifecycle configuration", "lifecycle rules", "", true},
	"DeleteBucketReplication": {"Replication configuration", "replication configuration", "", true},
}

func init() {
	register(&Detection{
		ID:    "s3-bucket-config-changed",
		Title: "S3 bucket policy, ACL, CORS, lifecycle or replication changed",
		Description: "CIS 4.8 monitoring: PutBucketAcl, PutBucketPolicy, PutBucketCors, PutBucketLifecycle, PutBucketReplication " +
			"and their Delete counterparts (DeleteBucketPolicy, DeleteBucketCors, DeleteBucketLifecycle, DeleteBucketReplication). " +
			"Every change is reported at low severity; a deleted bucket policy (which may have held Deny guardrails such as " +
			"TLS-only or VPC-only access) and replication to a bucket in another account (Destination.Account differs from the " +
			"bucket's account: a standing copy of every new object leaves the account) are medium, as is a bucket policy whose " +
			"Allow statements name principals of another account (an account ID, or an IAM or STS ARN of that account: a " +
			"backdoor for reading the data out), high when they may write, delete or change permissions. Whether a policy or ACL makes " +
			"the bucket public is judged by s3-bucket-policy-public and s3-bucket-acl-public, which fire beside this one; " +
			"shortened retention of the CloudTrail bucket by cloudtrail-bucket-retention-shortened. Not covered: object-level " +
			"ACLs (data events), Block Public Access, encryption, versioning, logging, website and ownership settings, and " +
			"replication to another account that the rule does not name (the destination bucket ARN carries no account).",
		Severity: SeverityLow,
		Pattern: APICall([]string{s3Source},
			"PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication",
			"DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication"),
		Evaluate: evaluateBucketConfigChange,
		// A catch-all monitor: specific detections of the same event lead.
		Broad: true,
		CIS:   []string{"4.8"},
		MITRE: []string{"T1530", "T1537"},
		Runbook: "Confirm the change with the principal or the change record. Read the current configuration " +
			"(aws s3api get-bucket-policy --bucket BUCKET, get-bucket-acl, get-bucket-cors, get-bucket-lifecycle-configuration, " +
			"get-bucket-replication with the same --bucket BUCKET). Restore a deleted or altered policy from version control " +
			"(aws s3api put-bucket-policy --bucket BUCKET --policy file://POLICY.json). For unexpected replication to another " +
			"account, remove it at once (aws s3api delete-bucket-replication --bucket BUCKET), find out who owns DESTINATION_ACCOUNT, " +
			"and treat objects written since the change as copied out. For lifecycle changes, check that no rule expires data " +
			"that must be kept (aws s3api get-bucket-lifecycle-configuration --bucket BUCKET).",
		References: []string{
			"https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-8",
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html",
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-walkthrough-2.html",
		},
		FalsePositives: []string{
			"Infrastructure as code (CloudFormation, Terraform, CDK) re-applying bucket settings on every deployment.",
			"Cross-account replication to a backup or log-archive account of the same organization.",
		},
		Tests: Tests{
			Positive: []Example{
				{"s3/s3-bucket-config-changed-delete-bucket-policy.json", SeverityMedium},
				{"s3/s3-bucket-config-changed-replication-cross-account.json", SeverityMedium},
				{"s3/s3-bucket-config-changed-replication-same-account.json", SeverityLow},
				{"s3/s3-bucket-config-changed-policy-other-account-read.json", SeverityMedium},
				{"s3/s3-bucket-config-changed-policy-other-account-write.json", SeverityHigh},
				{"s3/s3-bucket-config-changed-policy-own-account.json", SeverityLow},
				{"s3/s3-bucket-config-changed-put-bucket-cors.json", SeverityLow},
				{"s3/s3-bucket-config-changed-put-bucket-lifecycle.json", SeverityLow},
				{"s3/s3-bucket-config-changed-delete-bucket-replication-denied.json", SeverityLow},
				// Fixtures of the S3 exposure detections: every bucket policy
				// and ACL change is also a CIS 4.8 change.
				{"s3/put-bucket-acl-authenticated-read.json", SeverityLow},
				{"s3/put-bucket-acl-canned-public-read-write.json", SeverityLow},
				{"s3/put-bucket-acl-grant-header-all-users.json", SeverityLow},
				{"s3/put-bucket-acl-not-supported.json", SeverityLow},
				{"s3/put-bucket-acl-private.json", SeverityLow},
				{"s3/put-bucket-acl-single-grant-all-users.json", SeverityLow},
				{"s3/put-bucket-policy-cloudtrail-service.json", SeverityLow},
				{"s3/put-bucket-policy-hostile.json", SeverityLow},
				{"s3/put-bucket-policy-office-ip-only.json", SeverityLow},
				{"s3/put-bucket-policy-org-only.json", SeverityLow},
				{"s3/put-bucket-policy-public-denied.json", SeverityLow},
				{"s3/put-bucket-policy-public-read.json", SeverityLow},
				{"s3/put-bucket-policy-public-write-terraform.json", SeverityLow},
				{"s3/put-bucket-policy-source-ip-anywhere.json", SeverityLow},
				// Fixtures of cloudtrail-bucket-retention-shortened: every
				// lifecycle change is a CIS 4.8 change too.
				{"s3/cloudtrail-bucket-retention-shortened-awslogs-prefix.json", SeverityLow},
				{"s3/cloudtrail-bucket-retention-shortened-denied.json", SeverityLow},
				{"s3/cloudtrail-bucket-retention-shortened-disabled-rule.json", SeverityLow},
				{"s3/cloudtrail-bucket-retention-shortened-elb-logs.json", SeverityLow},
				{"s3/cloudtrail-bucket-retention-shortened-long-retention.json", SeverityLow},
				{"s3/cloudtrail-bucket-retention-shortened-noncurrent-only.json", SeverityLow},
				{"s3/cloudtrail-bucket-retention-shortened-other-bucket.json", SeverityLow},
				{"s3/cloudtrail-bucket-retention-shortened-trail-bucket-one-day.json", SeverityLow},
			},
			Negative: []string{
				"s3/s3-bucket-config-changed-get-bucket-replication.json",
				"s3/get-bucket-policy.json",
				"s3/get-bucket-acl.json",
				"s3/create-bucket-public-read.json",
				"s3/put-bucket-public-access-block-all-off.json",
			},
		},
	})
}

func evaluateBucketConfigChange(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	cfg, ok := bucketConfigs[rec.EventName]
	if !ok {
		return Finding{}, false
	}
	b := bucketOf(ev)
	f := Finding{Severity: SeverityLow, Resource: b.resource(rec)}
	if cfg.deleted {
		f.Changes = []Change{{Setting: cfg.setting, Before: NotRecorded, After: "deleted"}}
		if rec.EventName == "DeleteBucketPolicy" {
			// The policy may have held Deny guardrails (TLS only, VPC only,
			// no deletes) that stop applying with it.
			f.Severity = SeverityMedium
		}
		return outcome(f, rec,
			fmt.Sprintf("%s of %s deleted", capitalize(cfg.noun), b.label()),
			fmt.Sprintf("delete the %s of %s", cfg.noun, b.label())), true
	}

	after := "replaced (see evidence)"
	params := ev.RequestParams()
	newConfig := field(params, cfg.param)
	if rec.EventName == "PutBucketPolicy" && !hasContent(newConfig) {
		newConfig = field(params, "policy") // see evaluateBucketPolicy
	}
	switch {
	case hasContent(newConfig):
		f.Evidence = append(f.Evidence, Evidence{Label: "New " + cfg.noun, Text: excerpt(newConfig)})
	case rec.EventName == "PutBucketAcl" && aclHeaders(params) != "":
		after = aclHeaders(params)
	default:
		after = "replaced (the event does not carry the new content)"
	}
	f.Changes = []Change{{Setting: cfg.setting, After: after}}
	done := capitalize(cfg.noun) + " of " + b.label() + " replaced"
	tried := "replace the " + cfg.noun + " of " + b.label()

	if rec.EventName == "PutBucketReplication" {
		var external, all []string
		var offending []Evidence
		for _, d := range replicationDestinations(rec.RequestParameters) {
			dest := bucketName(d.Bucket)
			if dest == "" {
				dest = "an unnamed bucket"
			}
			switch {
			case d.Account != "" && !d.Enabled:
				dest += " (account " + d.Account + ", rule disabled)"
			case d.Account != "":
				dest += " (account " + d.Account + ")"
			case !d.Enabled:
				dest += " (rule disabled)"
			}
			all = append(all, dest)
			if d.Enabled && d.Account != "" && d.Account != rec.Account() {
				external = append(external, dest)
				offending = append(offending, Evidence{Label: "Enabled rule that replicates to another account", Text: excerpt(d.Raw)})
			}
		}
		if len(all) > 0 {
			f.Changes = []Change{{Setting: "Replication destinations", Before: NotRecorded, After: strings.Join(all, ", ")}}
			done = fmt.Sprintf("Replication of %s configured to %s", b.label(), strings.Join(all, ", "))
		}
		if len(external) > 0 {
			// The rules that send data out say more than the whole configuration.
			f.Evidence = offending
			f.Severity = SeverityMedium
			done = fmt.Sprintf("%s now replicates new objects to another account: %s", capitalize(b.label()), strings.Join(external, ", "))
			tried = fmt.Sprintf("replicate %s to another account (%s)", b.label(), strings.Join(external, ", "))
		}
	}
	if rec.EventName == "PutBucketPolicy" && hasContent(newConfig) {
		if policy, err := s3access.ParsePolicy(newConfig); err == nil {
			if grants := s3access.OtherAccounts(policy, rec.Account()); len(grants) > 0 {
				var who string
				f, who = otherAccountsFinding(f, grants)
				done = fmt.Sprintf("Policy of %s lets %s", b.label(), who)
				tried = fmt.Sprintf("let %s through the policy of %s", who, b.label())
			}
		}
	}
	return outcome(f, rec, done, tried), true
}

// otherAccountsFinding reports a bucket policy that lets other accounts in:
// a backdoor for reading data out as much as a deliberate share, medium,
// high when they may write, delete or change permissions.
// who names the accounts and what they may do ("account X read objects").
func otherAccountsFinding(f Finding, grants []s3access.AccountStatement) (_ Finding, who string) {
	var accounts []string
	var max s3access.Access
	f.Evidence = nil
	for _, g := range grants {
		for _, a := range g.Accounts {
			if !slices.Contains(accounts, a) {
				accounts = append(accounts, a)
			}
		}
		max = maxAccess(max, g.Access)
		f.Evidence = append(f.Evidence, Evidence{
			Label: fmt.Sprintf("Statement %d lets account %s %s", g.Index, strings.Join(g.Accounts, ", "), g.Access),
			Text:  compactJSON(g.Statement.Raw),
		})
	}
	f.Severity = SeverityMedium
	if max >= s3access.AccessWrite {
		f.Severity = SeverityHigh
	}
	noun := "account "
	if len(accounts) > 1 {
		noun = "accounts "
	}
	who = noun + strings.Join(accounts, ", ") + " " + max.String()
	f.Changes = []Change{{Setting: "Bucket policy", After: "lets " + who}}
	return f, who
}

func maxAccess(a, b s3access.Access) s3access.Access {
	if b > a {
		return b
	}
	return a
}

// hasContent reports whether a request parameter carries a value: CloudTrail
// records some bodies as "" or null.
func hasContent(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != `""` && s != "{}"
}

// aclHeaders summarises an ACL given as a canned ACL or grant headers
// (x-amz-acl, x-amz-grant-*) rather than an AccessControlPolicy body.
func aclHeaders(params map[string]json.RawMessage) string {
	var parts []string
	for _, h := range []string{"x-amz-acl", "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control"} {
		if vals := jsonStrings(field(params, h)); len(vals) > 0 {
			parts = append(parts, h+": "+strings.Join(vals, ", "))
		}
	}
	return strings.Join(parts, "; ")
}
