package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/s3access"
)

func init() {
	register(&Detection{
		ID:    "s3-bucket-policy-public",
		Title: "S3 bucket policy lets everyone in",
		Description: "PutBucketPolicy attached a policy with an Allow statement whose principal is everyone (\"*\" or " +
			"{\"AWS\":\"*\"}, or NotPrincipal) and no condition that pins it to an organization, account, principal, " +
			"VPC, VPC endpoint, source IP range or source ARN. The policy is read statement by statement, the way " +
			"S3 decides whether a policy is public; Deny statements never expose a bucket.",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{s3Source}, "PutBucketPolicy"),
		Evaluate: evaluateBucketPolicy,
		CIS:      []string{"4.8"},
		MITRE:    []string{"T1530"},
		Runbook: "Remove or narrow the public statement (aws s3api put-bucket-policy with a corrected policy, or " +
			"aws s3api delete-bucket-policy --bucket BUCKET), turn Block Public Access back on, then review reads " +
			"and writes since the change (S3 server access logs, CloudTrail data events) and rotate anything secret stored in the bucket.",
		References: []string{
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status",
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html",
		},
		FalsePositives: []string{"Buckets that intentionally serve public content; prefer CloudFront with origin access control for those."},
		Tests: Tests{
			Positive: []Example{
				{"s3/put-bucket-policy-public-read.json", SeverityHigh},
				{"s3/put-bucket-policy-public-write-terraform.json", SeverityCritical},
				{"s3/put-bucket-policy-public-denied.json", SeverityLow},
				{"s3/put-bucket-policy-hostile.json", SeverityHigh},
				{"s3/put-bucket-policy-source-ip-anywhere.json", SeverityHigh},
			},
			Negative: []string{
				"s3/put-bucket-policy-org-only.json",
				"s3/put-bucket-policy-office-ip-only.json",
				"s3/put-bucket-policy-cloudtrail-service.json",
				"s3/get-bucket-policy.json",
			},
		},
	})
}

func evaluateBucketPolicy(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	b := bucketOf(ev)
	f := Finding{Resource: b.resource(rec)}
	params := ev.RequestParams()
	doc := field(params, "bucketPolicy")
	if len(doc) == 0 || string(doc) == "null" {
		// CloudTrail records the parsed policy as bucketPolicy and leaves
		// policy empty; read policy when that is all there is.
		doc = field(params, "policy")
	}
	policy, err := s3access.ParsePolicy(doc)
	if err != nil {
		if rec.Failed() {
			return Finding{}, false // nothing changed and nothing to judge
		}
		f.Severity = SeverityMedium
		f.Evidence = []Evidence{{Label: "Could not read the policy", Text: err.Error()}}
		return outcome(f, rec,
			fmt.Sprintf("Policy of %s replaced; trailwatch could not read the new policy", b.label()),
			fmt.Sprintf("replace the policy of %s", b.label())), true
	}
	verdict := s3access.AnalyzePolicy(policy)
	if !verdict.IsPublic() {
		return Finding{}, false
	}
	access := verdict.MaxAccess()
	f.Severity = exposureSeverity(access)
	var where []string
	for _, st := range verdict.Public {
		label := "Statement " + strconv.Itoa(st.Index)
		if st.Statement.Sid != "" {
			label += " (Sid " + st.Statement.Sid + ")"
		}
		where = append(where, label)
		// The label stays free of policy text (the Sid is attacker-chosen):
		// renderers show labels as headings, texts as quoted excerpts.
		f.Evidence = append(f.Evidence, Evidence{
			Label: "Statement " + strconv.Itoa(st.Index) + " grants " + st.Access.String() + " to everyone: " + st.Why,
			Text:  compactJSON(st.Statement.Raw),
		})
	}
	f.Changes = []Change{{Setting: "Bucket policy", After: "public: " + strings.Join(where, ", ") + " lets everyone " + access.String()}}
	return outcome(f, rec,
		"Policy of "+b.label()+" lets everyone "+access.String(),
		"attach a policy to "+b.label()+" that lets everyone "+access.String()), true
}

// compact reports whether raw has no JSON whitespace outside its strings,
// so json.Compact would change nothing.
func compact(raw []byte) bool {
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

func compactJSON(raw []byte) string {
	if compact(raw) {
		// What json.Compact would return, valid or not (it would fail
		// and leave raw as it is).
		return string(raw)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}
