package scan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// This file holds what `trailwatch scan --remote` needs of the package: it
// reads back the report the distributed scan's summary step wrote
// (Report.WriteJSON's shape) and narrows the prefix the state machine
// lists.

// MaxReportBytes bounds a report read back: a summary holds one entry per
// detection, day and principal, far below this even for an organization's
// years.
const MaxReportBytes = 64 << 20

// ReadReport decodes a report as Report.WriteJSON writes it. The report
// comes from an S3 object: it is checked to be one JSON object within
// MaxReportBytes, and entries that would break the writers (a detection
// that is null) are dropped, so what it holds can be printed as it is.
func ReadReport(r io.Reader) (Report, error) {
	var rep Report
	dec := json.NewDecoder(io.LimitReader(r, MaxReportBytes+1))
	if err := dec.Decode(&rep); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Report{}, fmt.Errorf("report: cut short or over %d MiB", MaxReportBytes>>20)
		}
		return Report{}, fmt.Errorf("report: %w", err)
	}
	if dec.More() {
		return Report{}, errors.New("report: more than one JSON value")
	}
	if rep.Stats == nil {
		rep.Stats = &Stats{}
	}
	for id, d := range rep.Stats.Detections {
		if d == nil {
			delete(rep.Stats.Detections, id)
		}
	}
	return rep, nil
}

// NarrowPrefix lengthens a key prefix by CloudTrail's layout,
// AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/, when exactly one account
// (or region) is wanted and the prefix ends just before that level, so a
// listing of the whole archive becomes a listing of that account's (or
// region's) folder. Where the level is not certain it leaves the prefix as
// it is: after "AWSLogs/" an organization trail has its ID, not accounts.
func NarrowPrefix(prefix string, accounts, regions []string) string {
	if !strings.HasSuffix(prefix, "/") {
		return prefix
	}
	segs := strings.Split(strings.TrimSuffix(prefix, "/"), "/")
	last := func(i int) string {
		if len(segs) < i {
			return ""
		}
		return segs[len(segs)-i]
	}
	oneAccount := len(accounts) == 1 && accountSegment.MatchString(accounts[0])
	oneRegion := len(regions) == 1 && regionSegment.MatchString(regions[0])
	underAWSLogs := func(i int) bool { // segs[len-i] is the level under AWSLogs/[o-org/]
		return last(i+1) == "AWSLogs" || orgSegment.MatchString(last(i+1)) && last(i+2) == "AWSLogs"
	}
	switch {
	case orgSegment.MatchString(last(1)) && last(2) == "AWSLogs" && oneAccount:
		prefix += accounts[0] + "/CloudTrail/"
		if oneRegion {
			prefix += regions[0] + "/"
		}
	case accountSegment.MatchString(last(1)) && underAWSLogs(1) && oneRegion:
		prefix += "CloudTrail/" + regions[0] + "/"
	case last(1) == "CloudTrail" && accountSegment.MatchString(last(2)) && underAWSLogs(2) && oneRegion:
		prefix += regions[0] + "/"
	}
	return prefix
}
