package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
	"github.com/trailwatch/trailwatch/internal/s3access"
)

const s3Source = "s3.amazonaws.com"

// bucketOf names the bucket a CloudTrail S3 record acts on: the bucketName
// request parameter, else the first bucket in resources.
func bucketOf(ev *event.Event) s3Bucket {
	rec := ev.CloudTrail
	name := ""
	if raw := field(ev.RequestParams(), "bucketName"); raw != nil {
		var list []string
		if s, ok := jsonscan.Text(raw); ok {
			name = s
		} else if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
			name = list[0]
		}
	}
	if name == "" {
		for _, r := range rec.Resources {
			if r.Type == "AWS::S3::Bucket" {
				name = strings.TrimPrefix(r.ARN, "arn:aws:s3:::")
				break
			}
		}
	}
	return s3Bucket(name)
}

type s3Bucket string

func (b s3Bucket) resource(rec *cloudtrail.Record) Resource {
	r := Resource{Type: "S3 bucket", Name: string(b), Region: rec.AWSRegion}
	if b != "" {
		r.ARN = partitionARN(rec.AWSRegion, "s3", "", "", string(b))
	}
	return r
}

// label is how headlines name the bucket.
func (b s3Bucket) label() string {
	if b == "" {
		return "an unnamed bucket"
	}
	return "bucket " + string(b)
}

// exposureSeverity maps what a public grant gives away to a severity: any
// real exposure is high, one that lets strangers write, delete or change
// permissions is critical.
func exposureSeverity(a s3access.Access) Severity {
	if a >= s3access.AccessWrite {
		return SeverityCritical
	}
	return SeverityHigh
}

// publicAccessBlockFinding describes a Put or Delete of a Block Public Access
// configuration, at bucket or account level. It reports nothing when the new
// configuration keeps all four settings on.
func publicAccessBlockFinding(rec *cloudtrail.Record, scope string, deleted bool) (Finding, bool) {
	f := Finding{Severity: SeverityHigh}
	if deleted {
		for _, s := range (s3access.PublicAccessBlock{}).Settings() {
			f.Changes = append(f.Changes, Change{Setting: s.Name, Before: NotRecorded, After: "false (configuration deleted)"})
		}
		return outcome(f, rec,
			fmt.Sprintf("Block Public Access configuration deleted from %s: all four settings are off", scope),
			fmt.Sprintf("delete the Block Public Access configuration of %s", scope)), true
	}
	cfg, ok, err := s3access.ParsePublicAccessBlock(rec.RequestParameters)
	if err != nil || !ok {
		why := "the event carries no PublicAccessBlockConfiguration"
		if err != nil {
			why = err.Error()
		}
		f.Severity = SeverityMedium
		f.Evidence = append(f.Evidence, Evidence{Label: "Could not read the new settings", Text: why})
		return outcome(f, rec,
			fmt.Sprintf("Block Public Access settings of %s changed; the new settings could not be read", scope),
			fmt.Sprintf("change the Block Public Access settings of %s", scope)), true
	}
	off := cfg.Off()
	if len(off) == 0 {
		return Finding{}, false
	}
	var all []string
	for _, s := range cfg.Settings() {
		all = append(all, fmt.Sprintf("%s=%t", s.Name, s.On))
		if !s.On {
			f.Changes = append(f.Changes, Change{Setting: s.Name, Before: NotRecorded, After: "false"})
		}
	}
	f.Evidence = append(f.Evidence, Evidence{Label: "New configuration", Text: strings.Join(all, ", ")})
	return outcome(f, rec,
		fmt.Sprintf("Block Public Access turned off on %s: %s", scope, strings.Join(off, ", ")),
		fmt.Sprintf("turn off Block Public Access on %s (%s)", scope, strings.Join(off, ", "))), true
}
