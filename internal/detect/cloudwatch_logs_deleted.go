package detect

import (
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

const srcLogs = "logs.amazonaws.com"

func init() {
	register(&Detection{
		ID:    "cloudwatch-logs-deleted",
		Title: "CloudWatch Logs log group or subscription filter of security logs deleted",
		Description: "DeleteLogGroup erased a log group with every event it held, or DeleteSubscriptionFilter stopped a log " +
			"group's events from being forwarded (to a SIEM, a log archive, a Lambda function). High when the group holds " +
			"security logs, judged by its name: CloudTrail, VPC flow logs, Route 53 query logs, GuardDuty, WAF " +
			"(aws-waf-logs-), Security Hub, or trailwatch's own (its functions' logs). Low for other Lambda functions' log " +
			"groups (/aws/lambda/), which come and go with the functions; medium for other log groups. A deletion " +
			"CloudFormation makes (a stack deleted) and denied attempts are low. Shortened retention (PutRetentionPolicy) is " +
			"not covered.",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{srcLogs}, "DeleteLogGroup", "DeleteSubscriptionFilter"),
		Evaluate: evaluateLogsDeleted,
		MITRE:    []string{"T1562.008", "T1070"},
		Runbook: "Ask the principal why. A deleted log group's events are gone: recreate the group (aws logs " +
			"create-log-group --log-group-name GROUP, then aws logs put-retention-policy --log-group-name GROUP " +
			"--retention-in-days DAYS) so its source can write again, and recover what you can from copies (the trail's S3 " +
			"bucket for CloudTrail, flow logs or query logs delivered to S3, the SIEM the subscription fed). A deleted " +
			"subscription filter: aws logs describe-subscription-filters --log-group-name GROUP shows what is left; recreate it " +
			"(aws logs put-subscription-filter --log-group-name GROUP --filter-name NAME --filter-pattern '' " +
			"--destination-arn DESTINATION_ARN) and backfill the SIEM from the log group for the gap. Review what the principal " +
			"did around the deletion.",
		References: []string{
			"https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DeleteLogGroup.html",
			"https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DeleteSubscriptionFilter.html",
			"https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/logging_cw_api_calls_cwl.html",
		},
		FalsePositives: []string{
			"Cleanup of log groups left by deleted functions or test stacks.",
			"Moving a subscription to a new destination (a PutSubscriptionFilter follows).",
			"Log groups whose names only look like security logs (the name decides: allow-list the principal if it cleans them up routinely).",
		},
		Tests: Tests{
			Positive: []Example{
				{"logs/cloudwatch-logs-deleted-cloudtrail-group.json", SeverityHigh},
				{"logs/cloudwatch-logs-deleted-vpc-flow-logs.json", SeverityHigh},
				{"logs/cloudwatch-logs-deleted-subscription-filter-cloudtrail.json", SeverityHigh},
				{"logs/cloudwatch-logs-deleted-trailwatch-function-logs.json", SeverityHigh},
				{"logs/cloudwatch-logs-deleted-application-group.json", SeverityMedium},
				{"logs/cloudwatch-logs-deleted-lambda-group.json", SeverityLow},
				{"logs/cloudwatch-logs-deleted-cloudformation.json", SeverityLow},
				{"logs/cloudwatch-logs-deleted-denied.json", SeverityLow},
			},
			Negative: []string{
				"logs/cloudwatch-logs-deleted-create-log-group.json",
			},
		},
	})
}

// securityLogNames are what the names of log groups of security logs hold
// (lower case): where CloudTrail, VPC flow logs, Route 53 query logs,
// GuardDuty, WAF (whose groups must start aws-waf-logs-) and Security Hub
// deliver, as their setup guides and defaults name them.
var securityLogNames = []string{
	"cloudtrail", "flowlog", "flow-log", "flow_log", "vpcflow", "vpc-flow",
	"/aws/route53", "route53resolver", "resolver-query", "query-log", "querylog", "dns-query",
	"guardduty", "aws-waf-logs", "securityhub", "security-hub",
}

// logGroupKind classifies a log group by its name: "own" (trailwatch's),
// "lambda" (another function's), "security" or "".
func logGroupKind(name string, env *Env) string {
	fn, isLambda := strings.CutPrefix(name, "/aws/lambda/")
	switch {
	case env.Owns(name) || isLambda && env.Owns(fn):
		return "own"
	case isLambda:
		return "lambda"
	}
	lower := strings.ToLower(name)
	for _, s := range securityLogNames {
		if strings.Contains(lower, s) {
			return "security"
		}
	}
	return ""
}

func evaluateLogsDeleted(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := ev.RequestParams()
	group := jsonString(field(rp, "logGroupName"))
	if group == "" {
		group = strings.TrimSuffix(arnResourceName(jsonString(field(rp, "logGroupIdentifier")), "log-group:"), ":*")
	}
	f := Finding{Resource: Resource{Type: "CloudWatch Logs log group", Name: group, Region: rec.AWSRegion}}
	if group != "" {
		f.Resource.ARN = regionalResourceARN(rec, "logs", "log-group:"+group)
	}
	label := resourcePhrase("log group", group)
	impact := ""
	switch logGroupKind(group, env) {
	case "own":
		f.Severity, impact = SeverityHigh, " (trailwatch's own logs)"
	case "security":
		f.Severity, impact = SeverityHigh, " (security logs, by its name)"
	case "lambda":
		f.Severity = SeverityLow
	default:
		f.Severity = SeverityMedium
	}
	var done, tried string
	switch rec.EventName {
	case "DeleteLogGroup":
		f.Changes = []Change{{Setting: "Log group", Before: "exists", After: "deleted with its events"}}
		done, tried = label+impact+" deleted with its events", "delete "+label
	case "DeleteSubscriptionFilter":
		filter := jsonString(field(rp, "filterName"))
		f.Changes = []Change{{Setting: "Subscription filter " + orUnknown(filter), Before: "forwarding", After: "deleted"}}
		done = "Subscription filter " + orUnknown(filter) + " of " + label + impact + " deleted: its events are no longer forwarded"
		tried = "delete subscription filter " + orUnknown(filter) + " of " + label
	default:
		return Finding{}, false
	}
	return selfOutcome(f, rec, done, "", tried), true
}
