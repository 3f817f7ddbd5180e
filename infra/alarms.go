package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// alarmPeriodMinutes is the window each alarm evaluates.
const alarmPeriodMinutes = 5

// AlarmsProps configures NewAlarms.
type AlarmsProps struct {
	// Topic receives the alarm notifications.
	Topic           awssns.ITopic
	DeadLetterQueue awssqs.IQueue
	Function        awslambda.IFunction
	// Digest is the digest function.
	Digest awslambda.IFunction
	// Instance is the function for alarms and GuardDuty findings.
	Instance awslambda.IFunction
}

// Alarms watch trailwatch itself and report through the topic, which does
// not depend on the function: a broken Slack delivery, a failing function or
// an undeliverable event still reaches the email subscribers.
type Alarms struct {
	constructs.Construct
	// DeadLetters fires when any message waits in the dead-letter queue.
	DeadLetters awscloudwatch.Alarm
	// FunctionErrors fires when an invocation of the function failed.
	FunctionErrors awscloudwatch.Alarm
	// DigestErrors fires when the digest function failed.
	DigestErrors awscloudwatch.Alarm
	// InstanceErrors fires when the instance function failed.
	InstanceErrors awscloudwatch.Alarm
}

// NewAlarms creates the alarms.
func NewAlarms(scope constructs.Construct, id string, props *AlarmsProps) *Alarms {
	this := constructs.NewConstruct(scope, jsii.String(id))
	period := awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes))
	action := awscloudwatchactions.NewSnsAction(props.Topic)

	deadLetters := deadLetterAlarm(this, props.DeadLetterQueue, nil,
		"trailwatch could not deliver an alert: events wait in the dead-letter queue. "+
			"Check the function's log group (Slack webhook secret, permissions), then redrive or read the messages.")
	deadLetters.AddAlarmAction(action)

	functionErrors := errorAlarm(this, "FunctionErrors", props.Function, period, action,
		"The trailwatch CloudTrail function failed; Lambda retries, then the event goes to the dead-letter queue. "+
			"See the function's log group.")
	digestErrors := errorAlarm(this, "DigestErrors", props.Digest, period, action,
		"The trailwatch digest function failed: digests of held-back repeats are delayed; in organization mode, members' "+
			"heartbeats or the silent-member check failed too (e.g. Organizations refused to list the accounts). See its log group.")

	a := &Alarms{Construct: this, DeadLetters: deadLetters, FunctionErrors: functionErrors, DigestErrors: digestErrors}
	if props.Instance != nil {
		a.InstanceErrors = errorAlarm(this, "InstanceErrors", props.Instance, period, action,
			"The trailwatch instance function (CPU alarms, GuardDuty findings) failed; Lambda retries, "+
				"then the event goes to the dead-letter queue. See the function's log group.")
	}
	return a
}

// errorAlarm fires when any invocation of fn failed in a period.
func errorAlarm(scope constructs.Construct, id string, fn awslambda.IFunction, period awscdk.Duration, action awscloudwatch.IAlarmAction, description string) awscloudwatch.Alarm {
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(description),
		Metric: fn.MetricErrors(&awscloudwatch.MetricOptions{
			Period:    period,
			Statistic: jsii.String("Sum"),
		}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	alarm.AddAlarmAction(action)
	return alarm
}

// deadLetterAlarm fires as soon as one message waits in queue (maximum
// over the alarm period, no data meaning none): the dead-letter queues of
// the home stack, the forwarders and the member stacks. name is nil to let
// CloudFormation name it.
func deadLetterAlarm(scope constructs.Construct, queue awssqs.IQueue, name *string, description string) awscloudwatch.Alarm {
	return awscloudwatch.NewAlarm(scope, jsii.String("DeadLetters"), &awscloudwatch.AlarmProps{
		AlarmName:        name,
		AlarmDescription: jsii.String(description),
		Metric: queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}
