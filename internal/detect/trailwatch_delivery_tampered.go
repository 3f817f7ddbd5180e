package detect

import (
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "trailwatch-delivery-tampered",
		Title: "trailwatch's alert topic, dead-letter queue, state table, Slack secret or alarms deleted or changed",
		Description: "What carries trailwatch's alerts was deleted or changed outside a deployment. Critical: the alert " +
			"topic deleted (SNS DeleteTopic: email alerts and trailwatch's own alarms stop). High: an email recipient " +
			"unsubscribed from the topic (Unsubscribe) or the topic's attributes changed (SetTopicAttributes: its policy or " +
			"key can stop delivery); the dead-letter queue deleted, purged or reconfigured (DeleteQueue, PurgeQueue, " +
			"SetQueueAttributes: undelivered alerts are lost); the state table deleted (DynamoDB DeleteTable); the Slack " +
			"webhook secret deleted or given a new value (DeleteSecret, PutSecretValue, UpdateSecret: Slack alerts stop " +
			"or go to another workspace); the CloudWatch alarms that report trailwatch's own failures deleted or their " +
			"actions disabled (DeleteAlarms, DisableAlarmActions). A change CloudFormation makes (deploying or deleting trailwatch) is low; a " +
			"denied attempt is low. Which resources are trailwatch's comes from the settings (the stacks' names and name " +
			"prefixes, the Slack secret's name); without settings, names that hold \"trailwatch\" in any case.",
		Severity: SeverityCritical,
		Pattern: APICall([]string{srcSNS, srcSQS, srcDynamoDB, srcSecretsManager, srcCloudWatch},
			"DeleteTopic", "Unsubscribe", "SetTopicAttributes",
			"DeleteQueue", "PurgeQueue", "SetQueueAttributes",
			"DeleteTable",
			"DeleteSecret", "PutSecretValue", "UpdateSecret",
			"DeleteAlarms", "DisableAlarmActions"),
		Narrow:   narrowDeliveryPattern,
		Evaluate: evaluateDeliveryTampered,
		MITRE:    []string{"T1562.001", "T1562.006"},
		Runbook: "Find out who made the change and whether it was a planned trailwatch deployment (a CloudFormation stack " +
			"operation shows in the alert). If not, redeploy trailwatch (npx cdk deploy --all), which recreates the topic, " +
			"queue and table with their policies; confirm the email subscriptions again from the message AWS sends. For the " +
			"Slack secret, cancel a scheduled deletion (aws secretsmanager restore-secret --secret-id SECRET) and check the " +
			"webhook URL it holds points at your own workspace (aws secretsmanager get-secret-value --secret-id SECRET), " +
			"rotating it in Slack if in doubt. Re-enable alarm actions (aws cloudwatch enable-alarm-actions --alarm-names " +
			"ALARM) or redeploy to recreate deleted alarms. Then look for alerts that went undelivered meanwhile (trailwatch replay over " +
			"the trail's logs since the change) and treat the principal as compromised until explained.",
		References: []string{
			"https://docs.aws.amazon.com/sns/latest/dg/sns-logging-using-cloudtrail.html",
			"https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-logging-using-cloudtrail.html",
			"https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/logging-using-cloudtrail.html",
			"https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-cloudtrail.html",
			"https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/logging_cw_api_calls.html",
		},
		FalsePositives: []string{
			"trailwatch deployments and stack deletions (reported low, by CloudFormation).",
			"A recipient leaving the alert emails through the unsubscribe link, or rotating the Slack webhook into the secret.",
		},
		Protected: true,
		// The digest of a storm window would be sent by what this
		// detection sees being deleted or cut off.
		Immediate: true,
		Tests: Tests{
			Positive: []Example{
				{"sns/trailwatch-delivery-tampered-delete-topic.json", SeverityCritical},
				{"sns/trailwatch-delivery-tampered-unsubscribe.json", SeverityHigh},
				{"sns/trailwatch-delivery-tampered-set-topic-policy.json", SeverityHigh},
				{"sqs/trailwatch-delivery-tampered-delete-queue.json", SeverityHigh},
				{"sqs/trailwatch-delivery-tampered-purge-queue.json", SeverityHigh},
				{"sqs/trailwatch-delivery-tampered-delete-queue-denied.json", SeverityLow},
				{"dynamodb/trailwatch-delivery-tampered-delete-table.json", SeverityHigh},
				{"secretsmanager/trailwatch-delivery-tampered-put-secret-value.json", SeverityHigh},
				{"secretsmanager/trailwatch-delivery-tampered-delete-secret.json", SeverityHigh},
				{"dynamodb/trailwatch-delivery-tampered-cloudformation-delete-table.json", SeverityLow},
				{"cloudwatch/trailwatch-delivery-tampered-disable-alarm-actions.json", SeverityHigh},
			},
			Negative: []string{
				"sns/trailwatch-delivery-tampered-delete-other-topic.json",
				"sqs/trailwatch-delivery-tampered-delete-other-queue.json",
				"dynamodb/trailwatch-delivery-tampered-delete-other-table.json",
				"secretsmanager/trailwatch-delivery-tampered-put-other-secret.json",
				"sqs/trailwatch-delivery-tampered-get-queue-attributes.json",
				"cloudwatch/trailwatch-delivery-tampered-delete-other-alarms.json",
			},
		},
	})
}

// deliveryFields are the request parameters that name the resource each
// of the detection's calls acts on, as CloudTrail spells them (AWS writes
// the keys; a caller chooses only the values).
var deliveryFields = []string{
	"requestParameters.topicArn",        // DeleteTopic, SetTopicAttributes
	"requestParameters.subscriptionArn", // Unsubscribe
	"requestParameters.queueUrl",        // DeleteQueue, PurgeQueue, SetQueueAttributes
	"requestParameters.tableName",       // DeleteTable
	"requestParameters.secretId",        // DeleteSecret, PutSecretValue, UpdateSecret
	"requestParameters.alarmNames",      // DeleteAlarms, DisableAlarmActions (any of the list)
}

// narrowDeliveryPattern limits the rule to calls on trailwatch's own
// resources when the settings name them: the field that names the resource
// holds one of OwnNames or OwnPrefixes (see ownContains). Without it every
// DeleteSecret and PutSecretValue of the account invoked the function,
// which then found the secret was not trailwatch's. Without names (a
// replay without settings), or with so many that the pattern would pass
// EventBridge's size quota, every call still reaches the decision.
func narrowDeliveryPattern(p Pattern, env *Env) Pattern {
	values, ok := env.ownContains()
	if !ok {
		return p
	}
	alts := make([]map[string]any, len(deliveryFields))
	for i, f := range deliveryFields {
		alts[i] = Cond(f, values...)
	}
	if n := p.WhereAny(alts...); n.fits() {
		return n
	}
	return p
}

func evaluateDeliveryTampered(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := ev.RequestParams()
	str := func(key string) string { return jsonString(field(rp, key)) }
	var f Finding
	var done, impact, tried string
	switch rec.EventName {
	case "DeleteTopic", "SetTopicAttributes", "Unsubscribe":
		arn := str("topicArn")
		if rec.EventName == "Unsubscribe" {
			arn = str("subscriptionArn")
		}
		name := topicNameOf(arn)
		if !env.Owns(name) {
			return Finding{}, false
		}
		topic := "trailwatch alert topic " + name
		f.Resource = Resource{Type: "SNS topic", Name: name, ARN: strings.Join(strings.Split(arn, ":")[:6], ":"), Region: arnRegion(arn)}
		switch rec.EventName {
		case "DeleteTopic":
			f.Severity = SeverityCritical
			f.Changes = []Change{{Setting: "Topic", Before: "exists", After: "deleted"}}
			done, impact, tried = topic+" deleted", ": email alerts and trailwatch's own alarms stop", "delete "+topic
		case "Unsubscribe":
			f.Severity = SeverityHigh
			f.Changes = []Change{{Setting: "Subscription " + lastSegment(arn, ":"), Before: NotRecorded, After: "unsubscribed"}}
			done, impact, tried = "A recipient unsubscribed from "+topic, ": they no longer receive alerts", "unsubscribe from "+topic
		default:
			attr := str("attributeName")
			f.Severity = SeverityHigh
			f.Changes = []Change{{Setting: attr, Before: NotRecorded, After: str("attributeValue")}}
			f.Evidence = []Evidence{{Label: "Attribute in the request", Text: compactJSON(rec.RequestParameters)}}
			done, impact, tried = topic+" changed ("+attr+")", ": delivery may stop", "change "+topic
		}
	case "DeleteQueue", "PurgeQueue", "SetQueueAttributes":
		url := str("queueUrl")
		name := queueNameOf(url)
		if !env.Owns(name) {
			return Finding{}, false
		}
		queue := "trailwatch dead-letter queue " + name
		f.Resource = Resource{Type: "SQS queue", Name: name, Region: rec.AWSRegion, ARN: regionalResourceARN(rec, "sqs", name)}
		f.Severity = SeverityHigh
		switch rec.EventName {
		case "DeleteQueue":
			f.Changes = []Change{{Setting: "Queue", Before: "exists", After: "deleted"}}
			done, impact, tried = queue+" deleted", ": alerts that cannot be delivered are lost", "delete "+queue
		case "PurgeQueue":
			f.Changes = []Change{{Setting: "Messages", Before: NotRecorded, After: "purged"}}
			done, impact, tried = queue+" purged", ": the undelivered alerts it held are gone", "purge "+queue
		default:
			attrs := fields(field(rp, "attributes"))
			keys := make([]string, 0, len(attrs))
			for k := range attrs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				v := paramValue(attrs[k])
				after, ok := v.Str()
				if !ok {
					after = v.JSON()
				}
				f.Changes = append(f.Changes, Change{Setting: k, Before: NotRecorded, After: after})
			}
			f.Evidence = []Evidence{{Label: "Attributes in the request", Text: compactJSON(rec.RequestParameters)}}
			done, impact, tried = queue+" reconfigured ("+listPhrase(keys)+")", ": undelivered alerts may be refused or dropped", "reconfigure "+queue
		}
	case "DeleteTable":
		name := tableNameOf(str("tableName"))
		if !env.Owns(name) {
			return Finding{}, false
		}
		table := "trailwatch state table " + name
		f.Resource = Resource{Type: "DynamoDB table", Name: name, Region: rec.AWSRegion, ARN: regionalResourceARN(rec, "dynamodb", "table/"+name)}
		f.Severity = SeverityHigh
		f.Changes = []Change{{Setting: "Table", Before: "exists", After: "deleted"}}
		done, impact, tried = table+" deleted", ": delivery claims and storm windows are lost", "delete "+table
	case "DeleteSecret", "PutSecretValue", "UpdateSecret":
		id := str("secretId")
		names := secretNamesOf(id)
		if !slices.ContainsFunc(names, env.Owns) {
			return Finding{}, false
		}
		name := names[0]
		secret := "trailwatch Slack secret " + name
		f.Resource = Resource{Type: "Secrets Manager secret", Name: name, Region: rec.AWSRegion}
		if strings.HasPrefix(id, "arn:") {
			f.Resource.ARN = id
		}
		f.Severity = SeverityHigh
		switch rec.EventName {
		case "DeleteSecret":
			after := "scheduled for deletion"
			if force, _ := paramValue(field(rp, "forceDeleteWithoutRecovery")).Bool(); force {
				after = "deleted without recovery"
			}
			f.Changes = []Change{{Setting: "Secret", Before: "exists", After: after}}
			done, impact, tried = secret+" "+after, ": Slack alerts stop", "delete "+secret
		case "PutSecretValue":
			f.Changes = []Change{{Setting: "Value", Before: NotRecorded, After: "replaced (not recorded)"}}
			done, impact, tried = secret+" given a new value", ": Slack alerts may go to another workspace", "change "+secret
		default:
			f.Evidence = []Evidence{{Label: "Update in the request", Text: compactJSON(rec.RequestParameters)}}
			done, impact, tried = secret+" updated", ": Slack alerts may stop or go to another workspace", "update "+secret
		}
	case "DeleteAlarms", "DisableAlarmActions":
		var own []string
		for _, a := range jsonStrings(field(rp, "alarmNames")) {
			if env.Owns(a) {
				own = append(own, a)
			}
		}
		if len(own) == 0 {
			return Finding{}, false
		}
		alarms := "trailwatch alarm " + own[0]
		if len(own) > 1 {
			alarms = "trailwatch alarms " + listPhrase(own)
		}
		f.Resource = Resource{Type: "CloudWatch alarm", Name: own[0], Region: rec.AWSRegion,
			ARN: regionalResourceARN(rec, "cloudwatch", "alarm:"+own[0])}
		f.Severity = SeverityHigh
		after := "deleted"
		done, tried = alarms+" deleted", "delete "+alarms
		if rec.EventName == "DisableAlarmActions" {
			after = "actions disabled"
			done, tried = "Actions of "+alarms+" disabled", "disable the actions of "+alarms
		}
		for _, a := range own {
			f.Changes = append(f.Changes, Change{Setting: "Alarm " + a, Before: NotRecorded, After: after})
		}
		impact = ": trailwatch's own failures (dead letters, function errors) are no longer reported"
	default:
		return Finding{}, false
	}
	return selfOutcome(f, rec, done, impact, tried), true
}
