package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/s3access"
)

func init() {
	register(&Detection{
		ID:    "s3-bucket-acl-public",
		Title: "S3 bucket ACL grants access to everyone",
		Description: "PutBucketAcl (or CreateBucket with an ACL) granted a permission to the AllUsers group (anyone on " +
			"the internet) or the AuthenticatedUsers group (anyone with any AWS account), through a grant in the " +
			"request body (one grant or a list), a grant header, or a canned public-read, public-read-write or " +
			"authenticated-read ACL. Object ACLs (PutObjectAcl) are data events and are not covered.",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{s3Source}, "PutBucketAcl", "CreateBucket"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			b := bucketOf(ev)
			v, err := s3access.AnalyzeACL(rec.RequestParameters)
			if err != nil || !v.IsPublic() {
				return Finding{}, false
			}
			f := Finding{Resource: b.resource(rec), Severity: exposureSeverity(v.MaxAccess())}
			var grants []string
			for _, g := range v.Public {
				grant := fmt.Sprintf("%s %s", groupLabel(g.Group), g.Permission)
				grants = append(grants, grant)
				f.Evidence = append(f.Evidence, Evidence{Label: "Public grant", Text: grant + " (" + g.Via + ")"})
			}
			f.Changes = []Change{{Setting: "Bucket ACL", After: strings.Join(grants, "; ")}}
			verb := "ACL of %s grants %s"
			if rec.EventName == "CreateBucket" {
				verb = "New %s created with an ACL that grants %s"
			}
			return outcome(f, rec,
				fmt.Sprintf(verb, b.label(), strings.Join(grants, ", ")),
				fmt.Sprintf("grant %s on %s", strings.Join(grants, ", "), b.label())), true
		},
		CIS:   []string{"4.8"},
		MITRE: []string{"T1530"},
		Runbook: "Reset the ACL (aws s3api put-bucket-acl --bucket BUCKET --acl private), set Object Ownership to " +
			"'bucket owner enforced' so ACLs stop applying, turn Block Public Access back on, then review access since the change.",
		References: []string{
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#CannedACL",
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html",
		},
		FalsePositives: []string{"Legacy buckets that serve public content through ACLs."},
		Tests: Tests{
			Positive: []Example{
				{"s3/put-bucket-acl-single-grant-all-users.json", SeverityHigh},
				{"s3/put-bucket-acl-canned-public-read-write.json", SeverityCritical},
				{"s3/put-bucket-acl-authenticated-read.json", SeverityHigh},
				{"s3/put-bucket-acl-not-supported.json", SeverityLow},
				{"s3/create-bucket-public-read.json", SeverityHigh},
				{"s3/put-bucket-acl-grant-header-all-users.json", SeverityHigh},
			},
			Negative: []string{
				"s3/put-bucket-acl-private.json",
				"s3/create-bucket-private.json",
				"s3/get-bucket-acl.json",
			},
		},
	})
}

func groupLabel(group string) string {
	switch group {
	case "AllUsers":
		return "AllUsers (anyone)"
	case "AuthenticatedUsers":
		return "AuthenticatedUsers (any AWS account)"
	}
	return group
}
