package detect

// Helpers shared by the detections of tampering with trailwatch itself: its
// EventBridge rules, its Lambda functions, and what delivers its alerts (the
// topic, the dead-letter queue, the state table, the Slack secret, the
// alarms that watch trailwatch).
//
// What is trailwatch's comes from the settings (Env.OwnNames and
// Env.OwnPrefixes, filled by infra/ from the stack's own names). Without
// them (a replay with no settings) trailwatch's naming conventions decide:
// rules are named "Trailwatch-<detection>" (forwarder stacks'
// "TrailwatchForwarder-<region>-..."), and CloudFormation starts every name it
// generates with the stack name.

import (
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
)

// Event sources of the services whose trailwatch resources are watched.
const (
	srcEvents         = "events.amazonaws.com"
	srcSQS            = "sqs.amazonaws.com"
	srcSNS            = "sns.amazonaws.com"
	srcDynamoDB       = "dynamodb.amazonaws.com"
	srcSecretsManager = "secretsmanager.amazonaws.com"
	srcCloudWatch     = "monitoring.amazonaws.com"
	srcCloudFormation = "cloudformation.amazonaws.com"
)

// ownRulePrefixes start the names of trailwatch's rules when the settings
// do not say: the Trailwatch stack names its detection rules
// "Trailwatch-<detection>", CloudFormation names the forwarder stacks' rules
// "TrailwatchForwarder-<region>-<logical ID>-<suffix>".
var ownRulePrefixes = []string{"Trailwatch-", "TrailwatchForwarder-"}

// ownConvention is the word the names of trailwatch's other resources hold
// when the settings do not list them (CloudFormation's names start with the
// stack name; the Slack secret is usually trailwatch/slack-webhook).
const ownConvention = "trailwatch"

// configured reports whether the settings name trailwatch's resources.
func (e *Env) configured() bool {
	return e != nil && (len(e.OwnNames) > 0 || len(e.OwnPrefixes) > 0)
}

// listed reports whether name is one of OwnNames or starts with one of
// OwnPrefixes.
func (e *Env) listed(name string) bool {
	return slices.Contains(e.OwnNames, name) ||
		slices.ContainsFunc(e.OwnPrefixes, func(p string) bool { return p != "" && strings.HasPrefix(name, p) })
}

// OwnsRule reports whether the EventBridge rule called name is one of
// trailwatch's: listed in the settings, or, when they list nothing, named
// like trailwatch's rules.
func (e *Env) OwnsRule(name string) bool {
	switch {
	case name == "":
		return false
	case e.configured():
		return e.listed(name)
	}
	return slices.ContainsFunc(ownRulePrefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// Owns reports whether a function, queue, topic, table or secret called
// name is one of trailwatch's: listed in the settings, or, when they list
// nothing, named with "trailwatch" in any case.
func (e *Env) Owns(name string) bool {
	switch {
	case name == "":
		return false
	case e.configured():
		return e.listed(name)
	}
	return strings.Contains(strings.ToLower(name), ownConvention)
}

// byCloudFormation reports whether CloudFormation made the call on someone's
// behalf: a stack deployment or deletion, trailwatch's own included.
func byCloudFormation(rec *cloudtrail.Record) bool {
	return rec.UserIdentity.InvokedBy == srcCloudFormation || rec.SourceIPAddress == srcCloudFormation
}

// selfOutcome is outcome for tampering with trailwatch: done says what
// happened, impact (": ...", may be empty) what it does to trailwatch. A
// change CloudFormation made is what deploying or deleting a stack does, so
// it is reported low and says so instead of the impact; the principal shows
// whose deployment it was.
func selfOutcome(f Finding, rec *cloudtrail.Record, done, impact, tried string) Finding {
	if byCloudFormation(rec) && !rec.Failed() {
		f.Severity = SeverityLow
		return outcome(f, rec, done+" by a CloudFormation stack operation", tried)
	}
	return outcome(f, rec, done+impact, tried)
}

// lastSegment returns what follows the last sep in s (s itself without
// one).
func lastSegment(s, sep string) string {
	return s[strings.LastIndex(s, sep)+1:]
}

// queueNameOf returns the queue name of an SQS queue URL
// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) or ARN.
func queueNameOf(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if strings.HasPrefix(s, "arn:") {
		return lastSegment(s, ":")
	}
	return lastSegment(s, "/")
}

// topicNameOf returns the topic name of an SNS topic ARN
// (arn:aws:sns:REGION:ACCOUNT:NAME) or subscription ARN
// (arn:aws:sns:REGION:ACCOUNT:NAME:ID).
func topicNameOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[5]
}

// tableNameOf returns the table name of a DynamoDB table name or ARN
// (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME).
func tableNameOf(s string) string {
	if strings.HasPrefix(s, "arn:") {
		return arnResourceName(s, "table/")
	}
	return s
}

// functionNameOf returns the function name of a Lambda function name, ARN
// or partial ARN, with or without a version or alias ("my-function",
// "my-function:v1", "123456789012:function:my-function",
// "arn:aws:lambda:us-west-2:123456789012:function:my-function:PROD").
func functionNameOf(s string) string {
	parts := strings.Split(s, ":")
	if i := slices.Index(parts, "function"); i >= 0 {
		if i+1 < len(parts) {
			return parts[i+1]
		}
		return ""
	}
	return parts[0]
}

// secretNamesOf returns the names a Secrets Manager secret ID may stand
// for: the name as given, and for an ARN the name without the six random
// characters Secrets Manager appends (arn:...:secret:NAME-AbCdEf).
func secretNamesOf(id string) []string {
	if !strings.HasPrefix(id, "arn:") {
		return []string{id}
	}
	name := arnResourceName(id, "secret:")
	if n := len(name); n > 7 && name[n-7] == '-' {
		return []string{name[:n-7], name}
	}
	return []string{name}
}

// unresolvedMarker begins what the CDK writes for a value CloudFormation
// resolves only at deployment ("${Token[TOKEN.123]}"): the names of the
// topic, queue and table the synthesis lists in OwnNames.
const unresolvedMarker = "${Token["

// ownContains returns EventBridge values that match every string holding
// one of the settings' own names or prefixes (wildcards "*NAME*"), for
// patterns narrowed to trailwatch's own resources. Decisions find the name
// inside an ARN, URL or list (topicNameOf, queueNameOf, secretNamesOf...)
// and compare it to OwnNames and OwnPrefixes, so a string that holds none
// of them anywhere is never trailwatch's, however it is spelled around the
// name. ok is false when the pattern cannot be narrowed and must stay as
// it is: settings that name nothing (the convention compares "trailwatch"
// in any case, which no pattern operator the matcher knows can express), or
// a name with a wildcard's own characters (* and \).
//
// A name not yet known at synthesis (a CloudFormation reference, see
// unresolvedMarker) is one CloudFormation generates for the stack, which
// starts with the stack's name and so with a prefix of OwnPrefixes: the
// prefix covers it. Without any prefix nothing would, and ok is false.
func (e *Env) ownContains() (values []any, ok bool) {
	if !e.configured() {
		return nil, false
	}
	var prefixes, names []string
	for _, p := range e.OwnPrefixes {
		if p != "" {
			prefixes = append(prefixes, p)
		}
	}
	unresolved := false
	for _, n := range e.OwnNames {
		switch {
		case strings.Contains(n, unresolvedMarker):
			unresolved = true
		case n != "" && !slices.ContainsFunc(prefixes, func(p string) bool { return strings.Contains(n, p) }):
			// A name holding a prefix is matched by the prefix's wildcard.
			names = append(names, n)
		}
	}
	if unresolved && len(prefixes) == 0 {
		return nil, false
	}
	seen := map[string]bool{}
	for _, s := range append(prefixes, names...) {
		if strings.ContainsAny(s, `*\`) {
			return nil, false
		}
		if !seen[s] {
			seen[s] = true
			values = append(values, map[string]any{"wildcard": "*" + s + "*"})
		}
	}
	return values, len(values) > 0
}
