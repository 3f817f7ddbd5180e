package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "cloudtrail-event-selectors-reduced",
		Title: "CloudTrail trail stops recording management or data events",
		Description: "PutEventSelectors replaced a trail's selectors with ones that no longer record all management events: no " +
			"basic selector includes management events, the ones that do are limited to ReadOnly or WriteOnly, or they exclude " +
			"event sources (KMS, RDS Data API); or advanced selectors without a selector for eventCategory Management, or whose " +
			"management selectors are limited by readOnly or exclude event sources. Losing write events (the changes an intruder " +
			"makes) is critical; losing only read events or the excluded sources is high. The trail keeps running, so this is " +
			"quieter than StopLogging. Data events: the event holds only the new selectors, not the ones they replace, so " +
			"a removal of data event selectors (S3 object reads before an exfiltration, Lambda invocations) shows as new " +
			"selectors that record all management events and no data events at all (no basic selector with a data " +
			"resource that names values, no advanced selector for eventCategory Data); that is medium, and low when a " +
			"CloudFormation stack made the call (a stack creating or updating a management-only trail, trailwatch's own " +
			"included). A trail that never recorded data events looks the same, so setting management-only selectors on " +
			"such a trail is reported too; narrowing data selectors (fewer buckets, reads only) while some remain is not " +
			"reported, nor are Insights selectors. trailwatch's own trail records management events only, so there is no " +
			"data selector of its own to compare with. Every finding lists the data events recorded now.",
		Severity: SeverityCritical,
		Pattern:  APICall([]string{srcCloudTrail}, "PutEventSelectors"),
		Evaluate: evaluateEventSelectors,
		MITRE:    []string{"T1562.008"},
		Runbook: "Check the selectors now in force (aws cloudtrail get-event-selectors --trail-name TRAIL_ARN) and restore " +
			"management events, e.g. aws cloudtrail put-event-selectors --trail-name TRAIL_ARN --advanced-event-selectors " +
			"'[{\"Name\":\"Management events\",\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Management\"]}]}]' " +
			"(add back any data event selectors you need: compare with the trail's infrastructure code or an earlier " +
			"PutEventSelectors in event history). Then look at what the principal did while events were not recorded, " +
			"from CloudTrail event history (aws cloudtrail lookup-events --lookup-attributes " +
			"AttributeKey=Username,AttributeValue=PRINCIPAL_NAME), and deny cloudtrail:PutEventSelectors outside the deployment role with an SCP.",
		References: []string{
			"https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html",
		},
		FalsePositives: []string{
			"Cost reduction on a secondary trail (for example a data-events-only trail) while another trail records all management events.",
			"Excluding KMS or RDS Data API events on purpose to cut volume.",
			"Management-only selectors written on a trail that never recorded data events (a Terraform apply creating " +
				"the trail), or data events moved to another trail or event data store.",
		},
		Protected: true,
		Tests: Tests{
			Positive: []Example{
				{"cloudtrail/cloudtrail-event-selectors-reduced-management-off.json", SeverityCritical},
				{"cloudtrail/cloudtrail-event-selectors-reduced-advanced-data-only.json", SeverityCritical},
				{"cloudtrail/cloudtrail-event-selectors-reduced-write-only.json", SeverityHigh},
				{"cloudtrail/cloudtrail-event-selectors-reduced-advanced-exclude-kms.json", SeverityHigh},
				{"cloudtrail/cloudtrail-event-selectors-reduced-wrong-region.json", SeverityLow},
				{"cloudtrail/cloudtrail-event-selectors-reduced-data-removed.json", SeverityMedium},
				{"cloudtrail/cloudtrail-event-selectors-reduced-data-removed-cloudformation.json", SeverityLow},
			},
			Negative: []string{
				"cloudtrail/cloudtrail-event-selectors-reduced-all-management.json",
				"cloudtrail/cloudtrail-event-selectors-reduced-advanced-management-and-data.json",
				"cloudtrail/cloudtrail-event-selectors-reduced-get-event-selectors.json",
			},
		},
	})
}

// managementCoverage is what a set of event selectors records of
// management events.
type managementCoverage struct {
	Reads, Writes bool
	// Excluded are the event sources no management selector records.
	Excluded []string
	// Data are the data events the selectors record, each as the resource
	// type and what the selector names ("AWS::S3::Object: arn:aws:s3").
	Data []string
}

// parseSelectors reads the selectors of a PutEventSelectors request. ok is
// false when the request carries neither basic nor advanced selectors in a
// readable shape.
func parseSelectors(requestParameters []byte) (cov managementCoverage, raw paramValue, ok bool) {
	var rp struct {
		EventSelectors         paramValue `json:"eventSelectors"`
		AdvancedEventSelectors paramValue `json:"advancedEventSelectors"`
	}
	decodeInto(requestParameters, &rp)
	switch {
	case !rp.AdvancedEventSelectors.Null():
		sels := rp.AdvancedEventSelectors.Objects()
		return advancedCoverage(sels), rp.AdvancedEventSelectors, sels != nil || isEmptyList(rp.AdvancedEventSelectors)
	case !rp.EventSelectors.Null():
		sels := rp.EventSelectors.Objects()
		return basicCoverage(sels), rp.EventSelectors, sels != nil || isEmptyList(rp.EventSelectors)
	}
	return cov, nil, false
}

func isEmptyList(v paramValue) bool {
	var list []json.RawMessage
	return json.Unmarshal(v, &list) == nil && list != nil && len(list) == 0
}

// basicCoverage reads basic event selectors: IncludeManagementEvents
// (default true), ReadWriteType (default All), ExcludeManagementEventSources.
func basicCoverage(selectors []json.RawMessage) managementCoverage {
	var cov managementCoverage
	var excluded [][]string
	for _, raw := range selectors {
		var s struct {
			ReadWriteType                 paramValue `json:"readWriteType"`
			IncludeManagementEvents       paramValue `json:"includeManagementEvents"`
			ExcludeManagementEventSources paramValue `json:"excludeManagementEventSources"`
			DataResources                 paramValue `json:"dataResources"`
		}
		decodeInto(raw, &s)
		for _, draw := range s.DataResources.Objects() {
			var dr struct {
				Type   paramValue `json:"type"`
				Values paramValue `json:"values"`
			}
			decodeInto(draw, &dr)
			typ, _ := dr.Type.Str()
			values := slices.DeleteFunc(dr.Values.Strings(), func(v string) bool { return v == "" })
			// A data resource without values names no resource: it
			// records nothing.
			if typ != "" && len(values) > 0 {
				cov.Data = append(cov.Data, typ+": "+listPhrase(values))
			}
		}
		if include, set := s.IncludeManagementEvents.Bool(); set && !include {
			continue
		}
		rw, _ := s.ReadWriteType.Str()
		reads, writes := true, true
		switch strings.ToLower(rw) {
		case "readonly":
			writes = false
		case "writeonly":
			reads = false
		}
		cov.Reads = cov.Reads || reads
		cov.Writes = cov.Writes || writes
		excluded = append(excluded, s.ExcludeManagementEventSources.Strings())
	}
	cov.Excluded = excludedByAll(excluded)
	return cov
}

// advancedCoverage reads advanced event selectors: a management selector
// has field eventCategory equal to Management; readOnly narrows it to reads
// or writes; eventSource NotEquals excludes sources.
func advancedCoverage(selectors []json.RawMessage) managementCoverage {
	var cov managementCoverage
	var excluded [][]string
	for _, raw := range selectors {
		var s struct {
			Name           paramValue `json:"name"`
			FieldSelectors paramValue `json:"fieldSelectors"`
		}
		decodeInto(raw, &s)
		management, data := false, false
		var resourceTypes []string
		reads, writes := true, true
		var notSources []string
		for _, fraw := range s.FieldSelectors.Objects() {
			var fs struct {
				Field     paramValue `json:"field"`
				Equals    paramValue `json:"equals"`
				NotEquals paramValue `json:"notEquals"`
			}
			decodeInto(fraw, &fs)
			field, _ := fs.Field.Str()
			switch strings.ToLower(field) {
			case "eventcategory":
				management = slices.ContainsFunc(fs.Equals.Strings(), func(v string) bool { return strings.EqualFold(v, "Management") })
				data = slices.ContainsFunc(fs.Equals.Strings(), func(v string) bool { return strings.EqualFold(v, "Data") })
			case "resources.type":
				resourceTypes = fs.Equals.Strings()
			case "readonly":
				vals := fs.Equals.Strings()
				if len(vals) > 0 {
					reads = slices.ContainsFunc(vals, func(v string) bool { return strings.EqualFold(v, "true") })
					writes = slices.ContainsFunc(vals, func(v string) bool { return strings.EqualFold(v, "false") })
				}
			case "eventsource":
				notSources = fs.NotEquals.Strings()
			}
		}
		if data {
			what := "data events"
			if len(resourceTypes) > 0 {
				what = listPhrase(resourceTypes)
			}
			if name, _ := s.Name.Str(); name != "" {
				what += " (selector " + strconv.Quote(name) + ")"
			}
			cov.Data = append(cov.Data, what)
		}
		if !management {
			continue
		}
		cov.Reads = cov.Reads || reads
		cov.Writes = cov.Writes || writes
		excluded = append(excluded, notSources)
	}
	cov.Excluded = excludedByAll(excluded)
	return cov
}

// excludedByAll returns the sources every selector excludes: a source one
// selector leaves out is still recorded when another selector takes it.
func excludedByAll(lists [][]string) []string {
	if len(lists) == 0 {
		return nil
	}
	var out []string
	for _, src := range lists[0] {
		all := true
		for _, l := range lists[1:] {
			if !slices.Contains(l, src) {
				all = false
				break
			}
		}
		if all && !slices.Contains(out, src) {
			out = append(out, src)
		}
	}
	return out
}

// gaps says what the coverage loses and how bad that is.
func (c managementCoverage) gaps() (lost []string, sev Severity) {
	switch {
	case !c.Reads && !c.Writes:
		return []string{"no management events are recorded"}, SeverityCritical
	case !c.Writes:
		lost, sev = append(lost, "management write events (changes) are no longer recorded"), SeverityCritical
	case !c.Reads:
		lost, sev = append(lost, "management read events are no longer recorded"), SeverityHigh
	}
	if len(c.Excluded) > 0 {
		lost = append(lost, "management events from "+strings.Join(c.Excluded, ", ")+" are excluded")
		sev = max(sev, SeverityHigh)
	}
	return lost, sev
}

func (c managementCoverage) String() string {
	var s string
	switch {
	case c.Reads && c.Writes:
		s = "all"
	case c.Writes:
		s = "write events only"
	case c.Reads:
		s = "read events only"
	default:
		return "none"
	}
	if len(c.Excluded) > 0 {
		s += ", except " + strings.Join(c.Excluded, ", ")
	}
	return s
}

func evaluateEventSelectors(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	var rp struct {
		TrailName paramValue `json:"trailName"`
	}
	decodeInto(rec.RequestParameters, &rp)
	f := Finding{Resource: trailResource(rec, rp.TrailName)}
	trail := "CloudTrail " + resourcePhrase("trail", f.Resource.Name)
	cov, raw, ok := parseSelectors(rec.RequestParameters)
	if !ok {
		if rec.Failed() {
			return Finding{}, false // nothing changed and nothing to judge
		}
		f.Severity = SeverityMedium
		f.Evidence = []Evidence{{Label: "Request parameters (no readable selectors)", Text: compactJSON(rec.RequestParameters)}}
		return outcome(f, rec,
			"Event selectors of "+trail+" replaced; trailwatch could not read the new selectors",
			"replace the event selectors of "+trail), true
	}
	lost, sev := cov.gaps()
	f.Changes = []Change{{Setting: "Management events recorded", Before: NotRecorded, After: cov.String()}}
	f.Evidence = []Evidence{{Label: "New event selectors", Text: raw.JSON()}}
	if len(cov.Data) > 0 {
		f.Changes = append(f.Changes, Change{Setting: "Data events recorded", Before: NotRecorded, After: strings.Join(cov.Data, "; ")})
	} else {
		f.Changes = append(f.Changes, Change{Setting: "Data events recorded", Before: NotRecorded, After: "none"})
	}
	if len(lost) == 0 {
		if len(cov.Data) > 0 {
			return Finding{}, false
		}
		// All management events, and no data events: whatever data
		// events the trail recorded before are gone, or it never
		// recorded any (the event does not say which).
		f.Severity = SeverityMedium
		done := fmt.Sprintf("Event selectors of %s replaced with selectors that record no data events (object reads and "+
			"writes, function invocations); any data event selectors the trail had are removed", trail)
		tried := "replace the event selectors of " + trail + " with selectors that record no data events"
		if byCloudFormation(rec) && !rec.Failed() {
			// A stack creating or updating a management-only trail.
			f.Severity = SeverityLow
			return outcome(f, rec, done+" by a CloudFormation stack operation", tried), true
		}
		return outcome(f, rec, done, tried), true
	}
	f.Severity = sev
	if len(cov.Data) == 0 {
		lost = append(lost, "no data events are recorded")
	}
	return outcome(f, rec,
		fmt.Sprintf("Event selectors of %s changed: %s", trail, strings.Join(lost, "; ")),
		fmt.Sprintf("change the event selectors of %s so that %s", trail, strings.Join(lost, "; "))), true
}
