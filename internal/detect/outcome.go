package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
)

// partitionARN builds an ARN in the partition of the region.
func partitionARN(region, service, arnRegion, account, resource string) string {
	return "arn:" + Partition(region) + ":" + service + ":" + arnRegion + ":" + account + ":" + resource
}

// Partition returns the AWS partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// attemptRaisedNote opens the severity note of a failed attempt kept above
// low; the rest of the note says why.
const attemptRaisedNote = "medium, not low as for other failed attempts: "

// raiseAttempt keeps a failed attempt at medium, for why.
func raiseAttempt(f Finding, why string) Finding {
	f.Severity = SeverityMedium
	f.SeverityNote = attemptRaisedNote + why
	return f
}

// AttemptRaised reports a failed attempt that its detection keeps at
// medium, and says why in the severity note: the few attempts that show
// intent or a permission whatever stopped them. Every other attempt is low.
func AttemptRaised(f Finding) bool {
	return f.Attempt && f.Severity == SeverityMedium && strings.HasPrefix(f.SeverityNote, attemptRaisedNote)
}

// outcome picks the headline for what happened: done when the call
// succeeded, "Failed attempt to <tried>" when AWS rejected it, in which case
// the finding is a low-severity attempt whatever it would have done.
func outcome(f Finding, rec *cloudtrail.Record, done, tried string) Finding {
	if !rec.Failed() {
		f.Headline = done
		return f
	}
	f.Attempt = true
	f.Headline = fmt.Sprintf("Failed attempt to %s (%s)", tried, rec.ErrorCode)
	if f.Severity > SeverityLow {
		f.Severity = SeverityLow
	}
	f.Changes = nil
	return f
}
