package detect

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "cloudtrail-bucket-retention-shortened",
		Title: "Lifecycle rule deletes CloudTrail logs early, or their Object Lock is shortened",
		Description: "PutBucketLifecycle set an enabled lifecycle rule that expires objects sooner than the minimum log " +
			"retention (365 days unless configured) in a bucket that holds CloudTrail logs: a bucket listed as a trail bucket " +
			"(any rule counts, whatever its filter), or any bucket when the rule's prefix points into CloudTrail's AWSLogs/ tree " +
			"(AWSLogs/, AWSLogs/ACCOUNT/, AWSLogs/ACCOUNT/CloudTrail/, also under a key prefix or an organization ID). Expiring " +
			"current objects is critical: the logs themselves disappear, and a one-day rule erases an intrusion's tracks. " +
			"Expiring only noncurrent versions is high: it destroys the copies left behind when someone deletes logs. Rules on " +
			"other buckets, other AWSLogs/ services (load balancer, flow logs), transitions to colder storage and disabled rules " +
			"are not reported; DeleteBucketLifecycle never shortens retention. High too: PutObjectLockConfiguration on a " +
			"trail bucket that removes its default retention or sets one shorter than the minimum (the log files written " +
			"from then on can be deleted or overwritten sooner; those written before keep their own lock).",
		Severity: SeverityCritical,
		Pattern:  APICall([]string{s3Source}, "PutBucketLifecycle", "PutBucketLifecycleConfiguration", "PutObjectLockConfiguration"),
		Evaluate: evaluateLogRetention,
		MITRE:    []string{"T1562.008", "T1070"},
		Runbook: "Read the configuration now in force (aws s3api get-bucket-lifecycle-configuration --bucket BUCKET) and put back " +
			"the intended one (aws s3api put-bucket-lifecycle-configuration --bucket BUCKET --lifecycle-configuration file://LIFECYCLE.json), " +
			"or remove it (aws s3api delete-bucket-lifecycle --bucket BUCKET). S3 applies lifecycle rules asynchronously, so act " +
			"before the next run: if the bucket is versioned, deleted logs can be restored from noncurrent versions " +
			"(aws s3api list-object-versions --bucket BUCKET --prefix PREFIX). Protect the bucket with S3 Object Lock in " +
			"compliance mode and deny s3:PutLifecycleConfiguration to everyone but the log-archive administrators.",
		References: []string{
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html",
			"https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-find-log-files.html",
		},
		FalsePositives: []string{
			"A documented retention policy shorter than the configured minimum (set the minimum to match).",
			"Trail buckets that also hold other data under their own prefixes with short-lived lifecycle rules.",
		},
		Protected: true,
		Tests: Tests{
			Positive: []Example{
				{"s3/cloudtrail-bucket-retention-shortened-trail-bucket-one-day.json", SeverityCritical},
				{"s3/cloudtrail-bucket-retention-shortened-awslogs-prefix.json", SeverityCritical},
				{"s3/cloudtrail-bucket-retention-shortened-noncurrent-only.json", SeverityHigh},
				{"s3/cloudtrail-bucket-retention-shortened-denied.json", SeverityLow},
				{"s3/cloudtrail-bucket-retention-shortened-object-lock-one-day.json", SeverityHigh},
				{"s3/cloudtrail-bucket-retention-shortened-object-lock-removed.json", SeverityHigh},
			},
			Negative: []string{
				"s3/cloudtrail-bucket-retention-shortened-long-retention.json",
				"s3/cloudtrail-bucket-retention-shortened-other-bucket.json",
				"s3/cloudtrail-bucket-retention-shortened-elb-logs.json",
				"s3/cloudtrail-bucket-retention-shortened-disabled-rule.json",
				"s3/cloudtrail-bucket-retention-shortened-get-bucket-lifecycle.json",
				"s3/cloudtrail-bucket-retention-shortened-object-lock-long.json",
				"s3/cloudtrail-bucket-retention-shortened-object-lock-other-bucket.json",
			},
		},
	})
}

// lifecycleRule is one rule of a lifecycle configuration as CloudTrail
// records it (the XML body turned into JSON: one rule is an object, several
// a list).
type lifecycleRule struct {
	ID     paramValue `json:"ID"`
	Status paramValue `json:"Status"`
	Prefix paramValue `json:"Prefix"` // the deprecated rule-level prefix
	Filter paramValue `json:"Filter"` // {"Prefix": ...}, {"And": {"Prefix": ...}}, or ""
	// Expiration is {"Days": n}, {"Date": ...} or {"ExpiredObjectDeleteMarker": true}.
	Expiration                  paramValue `json:"Expiration"`
	NoncurrentVersionExpiration paramValue `json:"NoncurrentVersionExpiration"`
}

// prefix is the key prefix the rule applies to ("" for the whole bucket).
func (r lifecycleRule) prefix() string {
	if p, ok := r.Prefix.Str(); ok && p != "" {
		return p
	}
	var f struct {
		Prefix paramValue `json:"Prefix"`
		And    struct {
			Prefix paramValue `json:"Prefix"`
		} `json:"And"`
	}
	decodeInto(r.Filter, &f)
	if p, ok := f.Prefix.Str(); ok && p != "" {
		return p
	}
	p, _ := f.And.Prefix.Str()
	return p
}

// enabled reports whether S3 applies the rule. A rule without a readable
// status is taken as enabled: S3 requires one, so this errs on the side of
// reporting.
func (r lifecycleRule) enabled() bool {
	s, ok := r.Status.Str()
	return !ok || !strings.EqualFold(s, "Disabled")
}

// expiryDays is after how many days the rule deletes current objects, and
// noncurrentDays the same for noncurrent versions; ok is false when the
// rule does not expire them. A fixed expiry date counts from the event.
func (r lifecycleRule) expiryDays(at time.Time) (days int, ok bool) {
	var e struct {
		Days paramValue `json:"Days"`
		Date paramValue `json:"Date"`
	}
	decodeInto(r.Expiration, &e)
	if d, ok := e.Days.Int(); ok && d > 0 {
		return d, true
	}
	if s, ok := e.Date.Str(); ok {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return max(0, int(t.Sub(at).Hours()/24)), true
			}
		}
	}
	return 0, false
}

func (r lifecycleRule) noncurrentDays() (days int, ok bool) {
	var e struct {
		NoncurrentDays paramValue `json:"NoncurrentDays"`
	}
	decodeInto(r.NoncurrentVersionExpiration, &e)
	if d, ok := e.NoncurrentDays.Int(); ok && d > 0 {
		return d, true
	}
	return 0, false
}

// coversCloudTrailLogs reports whether a key prefix can hold CloudTrail log
// files, which CloudTrail writes under [KEY_PREFIX/]AWSLogs/[ORG_ID/]ACCOUNT/CloudTrail/
// (and CloudTrail-Digest/, CloudTrail-Insight/). A prefix that stops partway
// still covers them; one that names another service's folder does not.
func coversCloudTrailLogs(prefix string) bool {
	i := strings.Index(prefix, "AWSLogs/")
	if i < 0 || (i > 0 && prefix[i-1] != '/') {
		return false
	}
	segments := strings.Split(prefix[i+len("AWSLogs/"):], "/")
	for n, seg := range segments {
		last := n == len(segments)-1
		switch {
		case seg == "" && last:
			return true
		case strings.HasPrefix(seg, "CloudTrail"):
			return true
		case last && strings.HasPrefix("CloudTrail", seg):
			return true // "AWSLogs/111122223333/Cloud" still covers CloudTrail/
		case isAccountOrOrgSegment(seg, last):
			continue
		default:
			return false
		}
	}
	return true
}

// isAccountOrOrgSegment reports whether seg is (or, when partial, may begin)
// an account ID or an organization ID.
func isAccountOrOrgSegment(seg string, partial bool) bool {
	if strings.HasPrefix(seg, "o-") || (partial && seg == "o") {
		return true
	}
	if seg == "" || len(seg) > 12 || (!partial && len(seg) != 12) {
		return false
	}
	for _, c := range seg {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func evaluateLogRetention(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	if env == nil {
		env = &Env{}
	}
	b := bucketOf(ev)
	trailBucket := b != "" && slices.Contains(env.TrailBuckets, string(b))
	if rec.EventName == "PutObjectLockConfiguration" {
		if !trailBucket {
			return Finding{}, false
		}
		return evaluateObjectLock(rec, b, env.RetentionDays())
	}
	var rp struct {
		LifecycleConfiguration struct {
			Rule  paramValue `json:"Rule"`
			Rules paramValue `json:"Rules"`
		} `json:"LifecycleConfiguration"`
	}
	decodeInto(rec.RequestParameters, &rp)
	rules := rp.LifecycleConfiguration.Rule.Objects()
	if rules == nil {
		rules = rp.LifecycleConfiguration.Rules.Objects()
	}
	minDays := env.RetentionDays()
	f := Finding{Resource: b.resource(rec)}
	shortest := -1 // days until current logs expire; -1: they do not
	for i, raw := range rules {
		var r lifecycleRule
		decodeInto(raw, &r)
		if !r.enabled() || (!trailBucket && !coversCloudTrailLogs(r.prefix())) {
			continue
		}
		setting := fmt.Sprintf("Lifecycle rule %d", i+1)
		hit := false
		if d, ok := r.expiryDays(rec.EventTime); ok && d < minDays {
			f.Severity = SeverityCritical
			f.Changes = append(f.Changes, Change{Setting: setting + ": objects expire after", Before: NotRecorded, After: countPhrase(d, "day", "days")})
			if shortest < 0 || d < shortest {
				shortest = d
			}
			hit = true
		}
		if d, ok := r.noncurrentDays(); ok && d < minDays {
			f.Severity = max(f.Severity, SeverityHigh)
			f.Changes = append(f.Changes, Change{Setting: setting + ": noncurrent versions expire after", Before: NotRecorded, After: countPhrase(d, "day", "days")})
			hit = true
		}
		if hit {
			f.Evidence = append(f.Evidence, Evidence{
				Label: fmt.Sprintf("Rule %d deletes logs sooner than the %d-day minimum", i+1, minDays),
				Text:  compactJSON(raw),
			})
		}
	}
	if len(f.Changes) == 0 {
		return Finding{}, false
	}
	where := "CloudTrail log " + b.label()
	if !trailBucket {
		where = "CloudTrail logs in " + b.label()
	}
	done := fmt.Sprintf("Lifecycle rule on %s deletes logs after %s (minimum %d)", where, countPhrase(shortest, "day", "days"), minDays)
	if shortest < 0 {
		done = fmt.Sprintf("Lifecycle rule on %s deletes deleted or overwritten logs early (minimum %d days)", where, minDays)
	}
	return outcome(f, rec, done, "set a lifecycle rule on "+where+" that deletes logs early"), true
}

// evaluateObjectLock reports a trail bucket's Object Lock default retention
// removed or made shorter than minDays.
func evaluateObjectLock(rec *cloudtrail.Record, b s3Bucket, minDays int) (Finding, bool) {
	var rp struct {
		ObjectLockConfiguration struct {
			ObjectLockEnabled paramValue `json:"ObjectLockEnabled"`
			Rule              struct {
				DefaultRetention struct {
					Mode  paramValue `json:"Mode"`
					Days  paramValue `json:"Days"`
					Years paramValue `json:"Years"`
				} `json:"DefaultRetention"`
			} `json:"Rule"`
		} `json:"ObjectLockConfiguration"`
	}
	decodeInto(rec.RequestParameters, &rp)
	r := rp.ObjectLockConfiguration.Rule.DefaultRetention
	days, ok := r.Days.Int()
	if y, isYears := r.Years.Int(); isYears {
		days, ok = y*365, true
	}
	mode, _ := r.Mode.Str()
	f := Finding{Resource: b.resource(rec), Severity: SeverityHigh}
	where := "CloudTrail log " + b.label()
	switch {
	case !ok || days <= 0:
		f.Changes = []Change{{Setting: "Object Lock default retention", Before: NotRecorded, After: "none"}}
		return outcome(f, rec, "Object Lock default retention removed from "+where+": new log files can be deleted at once",
			"remove the Object Lock default retention of "+where), true
	case days < minDays:
		f.Changes = []Change{{Setting: "Object Lock default retention", Before: NotRecorded, After: countPhrase(days, "day", "days") + " (" + strings.ToLower(mode) + ")"}}
		return outcome(f, rec, fmt.Sprintf("Object Lock default retention of %s shortened to %s (minimum %d)", where, countPhrase(days, "day", "days"), minDays),
			"shorten the Object Lock default retention of "+where), true
	}
	return Finding{}, false
}
