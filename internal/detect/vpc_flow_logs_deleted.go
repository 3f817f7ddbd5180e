package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "vpc-flow-logs-deleted",
		Title: "VPC flow logs deleted",
		Description: "DeleteFlowLogs removed one or more flow logs, the network record of a VPC, subnet or interface " +
			"(which connections were made, from where, how much was sent). Without them exfiltration and lateral movement " +
			"leave no network trace: high. Flow logs EC2 reports as not deleted (the response's unsuccessful items) are left " +
			"out; when none was deleted the finding is a low failed attempt. Changes to the flow logs' destination (the log " +
			"group or bucket, its retention) are not covered.",
		Severity:   SeverityHigh,
		Pattern:    APICall([]string{srcEC2}, "DeleteFlowLogs"),
		Evaluate:   evaluateFlowLogsDeleted,
		CISRelated: []string{"3.7"},
		MITRE:      []string{"T1562.008"},
		Runbook: "Recreate the flow logs from infrastructure code, or: aws ec2 create-flow-logs --resource-type VPC " +
			"--resource-ids VPC_ID --traffic-type ALL --log-destination-type cloud-watch-logs --log-group-name LOG_GROUP " +
			"--deliver-logs-permission-arn ROLE_ARN (or --log-destination-type s3 --log-destination BUCKET_ARN). Find which " +
			"resources they covered from the flow log's CreateFlowLogs event in CloudTrail, and check the destination for the " +
			"last records delivered. Review the principal's other network and data actions since.",
		References: []string{
			"https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteFlowLogs.html",
		},
		FalsePositives: []string{
			"Teardown of VPCs or test environments by infrastructure code.",
			"Replacing a flow log with one that has a new format or destination (a CreateFlowLogs follows).",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/vpc-flow-logs-deleted-one.json", SeverityHigh},
				{"ec2/vpc-flow-logs-deleted-several.json", SeverityHigh},
				{"ec2/vpc-flow-logs-deleted-unsuccessful.json", SeverityLow},
			},
			Negative: []string{
				"ec2/vpc-flow-logs-deleted-create-flow-logs.json",
			},
		},
	})
}

// flowLogIDs reads the flow log IDs of a DeleteFlowLogs request: the query
// API's DeleteFlowLogsRequest.FlowLogId items, or flowLogIds.
func flowLogIDs(requestParameters []byte) []string {
	var rp struct {
		Request struct {
			FlowLogID  paramValue `json:"FlowLogId"`
			FlowLogIDs paramValue `json:"FlowLogIds"`
		} `json:"DeleteFlowLogsRequest"`
		FlowLogIDs paramValue `json:"flowLogIds"`
	}
	decodeInto(requestParameters, &rp)
	var ids []string
	for _, v := range []paramValue{rp.Request.FlowLogID, rp.Request.FlowLogIDs, rp.FlowLogIDs} {
		for _, id := range v.Strings() {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// unsuccessfulFlowLogs reads the IDs EC2 could not delete from the
// response: unsuccessful is "" when all succeeded, else an item or items
// {"resourceId": ..., "error": {...}}, possibly wrapped in {"item": ...}.
func unsuccessfulFlowLogs(responseElements []byte) []string {
	var resp struct {
		Response struct {
			Unsuccessful paramValue `json:"unsuccessful"`
		} `json:"DeleteFlowLogsResponse"`
		Unsuccessful paramValue `json:"unsuccessful"`
	}
	decodeInto(responseElements, &resp)
	var ids []string
	var walk func(v paramValue, depth int)
	walk = func(v paramValue, depth int) {
		if depth > 4 {
			return
		}
		for _, raw := range v.Objects() {
			var it struct {
				ResourceID paramValue `json:"resourceId"`
				Item       paramValue `json:"item"`
			}
			decodeInto(raw, &it)
			ids = append(ids, it.ResourceID.Strings()...)
			walk(it.Item, depth+1)
		}
	}
	walk(resp.Response.Unsuccessful, 0)
	walk(resp.Unsuccessful, 0)
	return ids
}

func evaluateFlowLogsDeleted(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	ids := flowLogIDs(rec.RequestParameters)
	failed := unsuccessfulFlowLogs(rec.ResponseElements)
	var deleted []string
	for _, id := range ids {
		if !slices.Contains(failed, id) {
			deleted = append(deleted, id)
		}
	}
	f := Finding{Severity: SeverityHigh, Resource: Resource{Type: "VPC flow log", Name: strings.Join(ids, ", "), Region: rec.AWSRegion}}
	if len(ids) == 1 {
		f.Resource.ARN = regionalResourceARN(rec, "ec2", "vpc-flow-log/"+ids[0])
	}
	for _, id := range deleted {
		f.Changes = append(f.Changes, Change{Setting: "Flow log " + id, Before: "exists", After: "deleted"})
	}
	if len(failed) > 0 {
		f.Evidence = append(f.Evidence, Evidence{Label: "Flow logs EC2 reports as not deleted", Text: strings.Join(failed, ", ")})
	}
	what := "flow logs"
	if len(ids) > 0 {
		what = countPhrase(len(ids), "flow log", "flow logs") + ": " + listPhrase(ids)
	}
	if !rec.Failed() && len(ids) > 0 && len(deleted) == 0 {
		// The call succeeded but EC2 deleted nothing: an attempt.
		f.Attempt, f.Severity, f.Changes = true, SeverityLow, nil
		f.Headline = "Failed attempt to delete " + what + " (every deletion unsuccessful)"
		return f, true
	}
	done := fmt.Sprintf("Deleted %s %s: %s", countPhrase(len(deleted), "flow log", "flow logs"), placePhrase(rec), listPhrase(deleted))
	if len(deleted) == 0 {
		done = "Flow logs deleted " + placePhrase(rec) + " (the event does not say which)"
	}
	return outcome(f, rec, done, "delete "+what), true
}
