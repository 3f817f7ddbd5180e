package detect

import (
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "s3-account-public-access-block-disabled",
		Title: "S3 Block Public Access turned off for the whole account",
		Description: "PutAccountPublicAccessBlock set one or more of the account-level Block Public Access settings to false, " +
			"or DeleteAccountPublicAccessBlock removed them. The account-level settings are the last guard for every " +
			"bucket in the account; without them each bucket is protected only by its own settings.",
		Severity: SeverityHigh,
		// S3 records these calls under s3.amazonaws.com; s3-control is listed
		// too because the API is served by the S3 Control endpoint.
		Pattern: APICall([]string{s3Source, "s3-control.amazonaws.com"}, "PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			account := rec.Account()
			f, ok := publicAccessBlockFinding(rec, "account "+account, rec.EventName == "DeleteAccountPublicAccessBlock")
			f.Resource = Resource{Type: "AWS account", Name: account, Region: rec.AWSRegion}
			return f, ok
		},
		// 4.8 watches changes to who may reach a bucket; Block Public
		// Access is the guard over bucket policies and ACLs.
		CIS:        []string{"4.8"},
		CISRelated: []string{"2.1.4"},
		MITRE:      []string{"T1562.007", "T1530"},
		Runbook: "Ask the principal whether the change was intended. If not, turn the account-level settings back on " +
			"(aws s3control put-public-access-block --account-id ACCOUNT --public-access-block-configuration " +
			"BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true), " +
			"then list buckets whose policy or ACL is public (IAM Access Analyzer, S3 console 'Access' column).",
		References: []string{
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-block-public-access-account.html",
			"https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_PutPublicAccessBlock.html",
		},
		FalsePositives: []string{"Accounts that host public content and manage Block Public Access per bucket instead."},
		Tests: Tests{
			Positive: []Example{
				{"s3/put-account-public-access-block-off.json", SeverityHigh},
				{"s3/delete-account-public-access-block-root.json", SeverityHigh},
			},
			Negative: []string{
				"s3/put-account-public-access-block-on.json",
				"s3/get-account-public-access-block.json",
			},
		},
	})
}
