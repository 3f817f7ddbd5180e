package detect

import "github.com/trailwatch/trailwatch/internal/event"

func init() {
	register(&Detection{
		ID:    "s3-bucket-public-access-block-disabled",
		Title: "S3 Block Public Access turned off for a bucket",
		Description: "PutBucketPublicAccessBlock set one or more of the four Block Public Access settings to false, " +
			"or DeleteBucketPublicAccessBlock removed the bucket's configuration. With the guard off, a public bucket " +
			"policy or ACL takes effect (unless the account-level settings still block it).",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{s3Source}, "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			b := bucketOf(ev)
			f, ok := publicAccessBlockFinding(rec, b.label(), rec.EventName == "DeleteBucketPublicAccessBlock")
			f.Resource = b.resource(rec)
			return f, ok
		},
		// 4.8 watches changes to who may reach a bucket; Block Public
		// Access is the guard over bucket policies and ACLs.
		CIS:        []string{"4.8"},
		CISRelated: []string{"2.1.4"},
		MITRE:      []string{"T1562.007", "T1530"},
		Runbook: "Ask the principal whether the change was intended. If not, turn all four settings back on " +
			"(aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration " +
			"BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true), " +
			"then look for public grants in the bucket policy and ACL and for reads since the change (S3 server access logs, CloudTrail data events).",
		References: []string{
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
			"https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html",
		},
		FalsePositives: []string{"Buckets that intentionally serve public content (static websites, public datasets)."},
		Tests: Tests{
			Positive: []Example{
				{"s3/put-bucket-public-access-block-sso-policy-off.json", SeverityHigh},
				{"s3/put-bucket-public-access-block-all-off.json", SeverityHigh},
				{"s3/delete-bucket-public-access-block.json", SeverityHigh},
				{"s3/put-bucket-public-access-block-denied.json", SeverityLow},
				{"s3/put-bucket-public-access-block-hostile.json", SeverityLow},
				{"s3/put-bucket-public-access-block-partial.json", SeverityHigh},
			},
			Negative: []string{
				"s3/put-bucket-public-access-block-all-on.json",
				"s3/get-bucket-public-access-block.json",
			},
		},
	})
}
