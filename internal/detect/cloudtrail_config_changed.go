package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "cloudtrail-config-changed",
		Title: "CloudTrail trail stopped, deleted or weakened",
		Description: "A trail was created, updated or deleted, or its logging was started or stopped (CreateTrail, UpdateTrail, " +
			"DeleteTrail, StartLogging, StopLogging): the CIS 4.5 monitoring of CloudTrail configuration changes. StopLogging and " +
			"DeleteTrail blind the audit trail and are critical; a failed attempt at either is medium (other failed changes are low): " +
			"whatever stopped it, the principal set out to blind the log. UpdateTrail is high when it weakens the trail (single-region, " +
			"no log file validation, no global service events, KMS encryption removed, logs sent to a bucket that is not a known " +
			"trail bucket, organization trail turned into an account trail, CloudWatch Logs delivery removed) and medium otherwise; " +
			"CreateTrail and StartLogging are low. Event selector changes are left to cloudtrail-event-selectors-reduced, CloudTrail " +
			"Lake event data stores and channels are not covered.",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{srcCloudTrail}, "CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"),
		Evaluate: evaluateTrailChange,
		CIS:      []string{"4.5"},
		MITRE:    []string{"T1562.008"},
		Runbook: "Treat a stop or deletion nobody announced as an intrusion in progress. Restart logging (aws cloudtrail start-logging " +
			"--name TRAIL_ARN) or recreate the trail from infrastructure code, and check it (aws cloudtrail get-trail-status --name TRAIL_ARN; " +
			"aws cloudtrail describe-trails --trail-name-list TRAIL_ARN). For a weakened trail, restore the settings (aws cloudtrail " +
			"update-trail --name TRAIL_ARN --is-multi-region-trail --enable-log-file-validation --include-global-service-events " +
			"--kms-key-id KMS_KEY_ARN --s3-bucket-name TRAIL_BUCKET). Then review what the principal did while the trail was blind: " +
			"CloudTrail event history keeps 90 days of management events even without a trail (aws cloudtrail lookup-events " +
			"--lookup-attributes AttributeKey=Username,AttributeValue=PRINCIPAL_NAME --start-time START_TIME), and restrict " +
			"cloudtrail:StopLogging, DeleteTrail and UpdateTrail with an SCP.",
		References: []string{
			"https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_UpdateTrail.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StopLogging.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/best-practices-security.html",
		},
		FalsePositives: []string{
			"Infrastructure-as-code deployments that recreate or update trails (check the principal and the user agent).",
			"Moving logs to a new bucket during a planned migration: list the new bucket in the trail bucket setting.",
		},
		Protected: true,
		Tests: Tests{
			Positive: []Example{
				{"cloudtrail/cloudtrail-config-changed-stop-logging.json", SeverityCritical},
				{"cloudtrail/cloudtrail-config-changed-delete-trail.json", SeverityCritical},
				{"cloudtrail/cloudtrail-config-changed-update-trail-weakened.json", SeverityHigh},
				{"cloudtrail/cloudtrail-config-changed-update-trail-unknown-bucket.json", SeverityHigh},
				{"cloudtrail/cloudtrail-config-changed-update-trail-known-bucket.json", SeverityMedium},
				{"cloudtrail/cloudtrail-config-changed-create-trail.json", SeverityLow},
				{"cloudtrail/cloudtrail-config-changed-start-logging.json", SeverityLow},
				{"cloudtrail/cloudtrail-config-changed-stop-logging-denied.json", SeverityMedium},
			},
			Negative: []string{
				"cloudtrail/cloudtrail-config-changed-get-trail-status.json",
			},
		},
	})
}

// trailParams are the request parameters of the trail APIs (and the
// response elements of CreateTrail and UpdateTrail, which echo the trail).
// Every field is optional: UpdateTrail sends only what it changes.
type trailParams struct {
	Name                       paramValue `json:"name"`
	TrailARN                   paramValue `json:"trailARN"`
	S3BucketName               paramValue `json:"s3BucketName"`
	S3KeyPrefix                paramValue `json:"s3KeyPrefix"`
	SNSTopicName               paramValue `json:"snsTopicName"`
	IncludeGlobalServiceEvents paramValue `json:"includeGlobalServiceEvents"`
	IsMultiRegionTrail         paramValue `json:"isMultiRegionTrail"`
	EnableLogFileValidation    paramValue `json:"enableLogFileValidation"`
	CloudWatchLogsLogGroupARN  paramValue `json:"cloudWatchLogsLogGroupArn"`
	KMSKeyID                   paramValue `json:"kmsKeyId"`
	IsOrganizationTrail        paramValue `json:"isOrganizationTrail"`
}

// trailResource names the trail an event acts on. The name parameter may
// be a name or an ARN; CreateTrail and UpdateTrail answer with the ARN.
func trailResource(rec *cloudtrail.Record, name paramValue) Resource {
	r := Resource{Type: "CloudTrail trail", Region: rec.AWSRegion}
	var resp trailParams
	decodeInto(rec.ResponseElements, &resp)
	n, _ := name.Str()
	arn, _ := resp.TrailARN.Str()
	if strings.HasPrefix(n, "arn:") {
		arn = n
	}
	if n == "" {
		n, _ = resp.Name.Str()
	}
	if n == "" {
		n = arn
	}
	r.Name = arnResourceName(n, "trail/")
	switch {
	case arn != "":
		r.ARN = arn
		if reg := arnRegion(arn); reg != "" {
			r.Region = reg // the trail's home region, not the caller's
		}
	case r.Name != "":
		r.ARN = regionalResourceARN(rec, "cloudtrail", "trail/"+r.Name)
	}
	return r
}

func evaluateTrailChange(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	if env == nil {
		env = &Env{}
	}
	var rp trailParams
	decodeInto(rec.RequestParameters, &rp)
	f := Finding{Resource: trailResource(rec, rp.Name)}
	trail := "CloudTrail " + resourcePhrase("trail", f.Resource.Name)
	switch rec.EventName {
	case "StopLogging":
		f.Severity = SeverityCritical
		f.Changes = []Change{{Setting: "Logging", Before: NotRecorded, After: "stopped"}}
		return blindingAttempt(outcome(f, rec, "Logging stopped on "+trail, "stop logging on "+trail)), true
	case "DeleteTrail":
		f.Severity = SeverityCritical
		f.Changes = []Change{{Setting: "Trail", Before: "exists", After: "deleted"}}
		return blindingAttempt(outcome(f, rec, trail+" deleted", "delete "+trail)), true
	case "StartLogging":
		f.Severity = SeverityLow
		f.Changes = []Change{{Setting: "Logging", Before: NotRecorded, After: "started"}}
		return outcome(f, rec, "Logging started on "+trail, "start logging on "+trail), true
	case "CreateTrail":
		f.Severity = SeverityLow
		f.Changes = trailSettings(rp, "")
		f.Evidence = []Evidence{{Label: "Settings of the new trail", Text: compactJSON(rec.RequestParameters)}}
		return outcome(f, rec, trail+" created", "create "+trail), true
	case "UpdateTrail":
		f.Severity = SeverityMedium
		f.Changes = trailSettings(rp, NotRecorded)
		f.Evidence = []Evidence{{Label: "Settings sent with the update", Text: compactJSON(rec.RequestParameters)}}
		done := trail + " updated"
		if weak := trailWeakenings(rp, env); len(weak) > 0 {
			f.Severity = SeverityHigh
			done = fmt.Sprintf("%s weakened: %s", trail, strings.Join(weak, "; "))
			f.Evidence = append([]Evidence{{Label: "How the update weakens the trail", Text: strings.Join(weak, "; ")}}, f.Evidence...)
		}
		return outcome(f, rec, done, "update "+trail), true
	}
	return Finding{}, false
}

// trailSettings lists the settings a CreateTrail or UpdateTrail request
// carries, in the API's order; before is the Before of each change.
func trailSettings(rp trailParams, before string) []Change {
	var out []Change
	add := func(setting string, v paramValue, empty string) {
		if v.Null() {
			return
		}
		s, ok := v.Str()
		switch {
		case !ok:
			s = v.JSON()
		case s == "" && empty != "":
			s = empty
		}
		out = append(out, Change{Setting: setting, Before: before, After: s})
	}
	add("S3 bucket", rp.S3BucketName, "")
	add("S3 key prefix", rp.S3KeyPrefix, "(none)")
	add("SNS topic", rp.SNSTopicName, "(none)")
	add("Include global service events", rp.IncludeGlobalServiceEvents, "")
	add("Multi-region trail", rp.IsMultiRegionTrail, "")
	add("Log file validation", rp.EnableLogFileValidation, "")
	add("CloudWatch Logs log group", rp.CloudWatchLogsLogGroupARN, "(none)")
	add("KMS key", rp.KMSKeyID, "(none: SSE-S3 only)")
	add("Organization trail", rp.IsOrganizationTrail, "")
	return out
}

// trailWeakenings says how an UpdateTrail request weakens the trail. The
// phrases are trailwatch's own; only a new bucket's name comes from the
// event.
func trailWeakenings(rp trailParams, env *Env) []string {
	var weak []string
	off := func(v paramValue) bool {
		b, set := v.Bool()
		return set && !b
	}
	cleared := func(v paramValue) bool {
		s, ok := v.Str()
		return ok && strings.TrimSpace(s) == ""
	}
	if off(rp.IsMultiRegionTrail) {
		weak = append(weak, "records only its home region")
	}
	if off(rp.EnableLogFileValidation) {
		weak = append(weak, "log file validation turned off")
	}
	if off(rp.IncludeGlobalServiceEvents) {
		weak = append(weak, "global service events (IAM, STS, sign-in) no longer recorded")
	}
	if off(rp.IsOrganizationTrail) {
		weak = append(weak, "no longer an organization trail: member accounts stop being recorded")
	}
	if cleared(rp.KMSKeyID) {
		weak = append(weak, "KMS encryption removed")
	}
	if cleared(rp.CloudWatchLogsLogGroupARN) {
		weak = append(weak, "CloudWatch Logs delivery removed")
	}
	if b, ok := rp.S3BucketName.Str(); ok && !slices.Contains(env.TrailBuckets, b) {
		weak = append(weak, fmt.Sprintf("logs now go to bucket %s, which is not a known trail bucket", b))
	}
	return weak
}

// blindingAttempt keeps a failed attempt to stop or delete a trail at
// medium: whatever stopped it (permissions, a wrong name or region), the
// principal set out to blind the account's audit log.
func blindingAttempt(f Finding) Finding {
	if f.Attempt {
		return raiseAttempt(f, "stopping or deleting a trail is an attempt to blind the audit log")
	}
	return f
}
