package detect

import (
	"slices"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Event sources of services whose own logs the detection watches.
const (
	srcRoute53Resolver = "route53resolver.amazonaws.com"
	srcBedrock         = "bedrock.amazonaws.com"
)

func init() {
	register(&Detection{
		ID:    "service-logs-turned-off",
		Title: "DNS query logging, S3 server access logging or Bedrock invocation logging turned off",
		Description: "A service's own record of activity was switched off: Route 53 Resolver query logging deleted " +
			"(DeleteResolverQueryLogConfig: every VPC associated with it stops logging DNS queries) or disassociated from a " +
			"VPC (DisassociateResolverQueryLogConfig), Bedrock model invocation logging deleted " +
			"(DeleteModelInvocationLoggingConfiguration: prompts, responses and token counts of InvokeModel and Converse are " +
			"no longer recorded, the usual first step of LLMjacking), or S3 server access logging of a bucket turned off " +
			"(PutBucketLogging with an empty BucketLoggingStatus; the rule only matches requests without LoggingEnabled). " +
			"High for DNS query logs, Bedrock invocation logs and the access logs of a CloudTrail bucket (CIS 3.4, named by " +
			"trailwatch:trailBuckets); medium for other buckets' access logs. A change CloudFormation makes and denied " +
			"attempts are low. CloudTrail's own selectors are cloudtrail-event-selectors-reduced's (management events only: " +
			"removed data event selectors are not covered), VPC flow logs vpc-flow-logs-deleted's, log groups " +
			"cloudwatch-logs-deleted's. Changed logging targets (a new bucket or prefix, Bedrock logging narrowed with " +
			"PutModelInvocationLoggingConfiguration) are not covered.",
		Severity: SeverityHigh,
		Pattern: APICall([]string{srcRoute53Resolver, s3Source, srcBedrock},
			"DeleteResolverQueryLogConfig", "DisassociateResolverQueryLogConfig", "PutBucketLogging",
			"DeleteModelInvocationLoggingConfiguration").
			// PutBucketLogging that enables logging carries LoggingEnabled;
			// the other calls carry no BucketLoggingStatus at all.
			Where("requestParameters.BucketLoggingStatus.LoggingEnabled", map[string]any{"exists": false}),
		Evaluate:   evaluateServiceLogsOff,
		CISRelated: []string{"3.4"},
		MITRE:      []string{"T1562.008"},
		Runbook: "Ask the principal why logging was turned off, and turn it back on. DNS query logs: aws route53resolver " +
			"list-resolver-query-log-configs shows what is left; recreate the configuration (aws route53resolver " +
			"create-resolver-query-log-config --name NAME --destination-arn LOG_GROUP_OR_BUCKET_ARN) and associate every " +
			"VPC (aws route53resolver associate-resolver-query-log-config --resolver-query-log-config-id ID --resource-id " +
			"VPC_ID). Bedrock: aws bedrock put-model-invocation-logging-configuration --logging-config with the CloudWatch " +
			"Logs or S3 destination, then review InvokeModel and Converse calls in CloudTrail since the deletion (who, which " +
			"models, from where). S3: aws s3api put-bucket-logging --bucket BUCKET --bucket-logging-status " +
			"'{\"LoggingEnabled\":{\"TargetBucket\":\"LOG_BUCKET\",\"TargetPrefix\":\"BUCKET/\"}}'. Review what the principal " +
			"did after the change, while it was not recorded.",
		References: []string{
			"https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_DeleteResolverQueryLogConfig.html",
			"https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_DisassociateResolverQueryLogConfig.html",
			"https://docs.aws.amazon.com/bedrock/latest/APIReference/API_DeleteModelInvocationLoggingConfiguration.html",
			"https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html",
			"https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLogging.html",
			"https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html",
		},
		FalsePositives: []string{
			"Teardown of test VPCs, buckets or Bedrock experiments by infrastructure code (reported low when CloudFormation does it).",
			"Replacing server access logging by CloudTrail data events for S3 on purpose.",
		},
		Tests: Tests{
			Positive: []Example{
				{"route53resolver/service-logs-turned-off-delete-query-log-config.json", SeverityHigh},
				{"route53resolver/service-logs-turned-off-disassociate-query-log-config.json", SeverityHigh},
				{"route53resolver/service-logs-turned-off-delete-query-log-config-denied.json", SeverityLow},
				{"bedrock/service-logs-turned-off-delete-invocation-logging.json", SeverityHigh},
				{"s3/service-logs-turned-off-bucket-logging-off.json", SeverityMedium},
				{"s3/service-logs-turned-off-bucket-logging-off-trail-bucket.json", SeverityHigh},
				{"s3/service-logs-turned-off-bucket-logging-off-cloudformation.json", SeverityLow},
			},
			Negative: []string{
				"s3/service-logs-turned-off-bucket-logging-on.json",
				"route53resolver/service-logs-turned-off-create-query-log-config.json",
			},
		},
	})
}

func evaluateServiceLogsOff(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := ev.RequestParams()
	f := Finding{Severity: SeverityHigh}
	var done, tried string
	switch rec.EventName {
	case "DeleteResolverQueryLogConfig", "DisassociateResolverQueryLogConfig":
		id := jsonString(field(rp, "resolverQueryLogConfigId"))
		f.Resource = Resource{Type: "Route 53 Resolver query logging configuration", Name: id, Region: rec.AWSRegion}
		if isResolverID(id, "rqlc-") {
			f.Resource.ARN = regionalResourceARN(rec, "route53resolver", "resolver-query-log-config/"+id)
		}
		cfg := resourcePhrase("DNS query logging configuration", id)
		if rec.EventName == "DeleteResolverQueryLogConfig" {
			f.Changes = []Change{{Setting: "Query logging configuration", Before: "exists", After: "deleted"}}
			resp := fields(field(fields(rec.ResponseElements), "resolverQueryLogConfig"))
			if n, ok := paramValue(field(resp, "associationCount")).Int(); ok {
				f.Changes = append(f.Changes, Change{Setting: "VPCs whose DNS queries it logged", Before: countPhrase(n, "VPC", "VPCs"), After: "none"})
			}
			if dst := jsonString(field(resp, "destinationArn")); dst != "" {
				f.Evidence = []Evidence{{Label: "Where the queries were logged", Text: clip(dst, 300)}}
			}
			done, tried = cfg+" deleted: the DNS queries of its VPCs are no longer logged", "delete "+cfg
			break
		}
		vpc := jsonString(field(rp, "resourceId"))
		f.Changes = []Change{{Setting: "DNS query logging of " + orUnknown(vpc), Before: "on", After: "off"}}
		done = resourcePhrase("VPC", vpc) + " disassociated from " + cfg + ": its DNS queries are no longer logged"
		tried = "disassociate " + resourcePhrase("VPC", vpc) + " from " + cfg
	case "DeleteModelInvocationLoggingConfiguration":
		f.Resource = Resource{Type: "Bedrock model invocation logging", Name: "model invocation logging in " + rec.AWSRegion, Region: rec.AWSRegion}
		f.Changes = []Change{{Setting: "Model invocation logging", Before: "on", After: "deleted"}}
		done = "Bedrock model invocation logging deleted in " + rec.AWSRegion + ": prompts and responses of model calls are no longer recorded"
		tried = "delete Bedrock model invocation logging in " + rec.AWSRegion
	case "PutBucketLogging":
		status := field(rp, "BucketLoggingStatus")
		if status == nil || field(fields(status), "LoggingEnabled") != nil {
			return Finding{}, false
		}
		b := bucketOf(ev)
		f.Resource = b.resource(rec)
		f.Severity = SeverityMedium
		f.Changes = []Change{{Setting: "Server access logging", Before: NotRecorded, After: "off"}}
		done = "Server access logging of " + b.label() + " turned off"
		if slices.Contains(env.TrailBuckets, string(b)) {
			f.Severity = SeverityHigh
			done += ": it holds CloudTrail logs, whose reads and deletions are no longer logged"
		}
		tried = "turn off server access logging of " + b.label()
	default:
		return Finding{}, false
	}
	return selfOutcome(f, rec, done, "", tried), true
}

// isResolverID reports whether id looks like a Route 53 Resolver ID with
// the given prefix ("rqlc-" and 17 hex digits); only such IDs go into ARNs.
func isResolverID(id, prefix string) bool {
	if len(id) <= len(prefix) || len(id) > len(prefix)+40 || id[:len(prefix)] != prefix {
		return false
	}
	for _, c := range id[len(prefix):] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
