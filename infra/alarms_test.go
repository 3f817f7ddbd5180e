package main

import (
	"testing"

	"github.com/aws/jsii-runtime-go"
)

func TestAlarmsReportThroughTopic(t *testing.T) {
	s := synth(t)
	topicID := logicalID(t, s.stack.Stack, s.stack.Notifications.Topic)
	queueID := logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue)
	fnID := logicalID(t, s.stack.Stack, s.stack.Function.Function)

	tests := []struct {
		name      string
		namespace string
		metric    string
		dimension obj
	}{
		{"dead letters", "AWS/SQS", "ApproximateNumberOfMessagesVisible", obj{"Name": "QueueName", "Value": getAtt(queueID, "QueueName")}},
		{"function errors", "AWS/Lambda", "Errors", obj{"Name": "FunctionName", "Value": ref(fnID)}},
		{"digest errors", "AWS/Lambda", "Errors", obj{"Name": "FunctionName", "Value": ref(logicalID(t, s.stack.Stack, s.stack.Digest.Function))}},
		{"instance function errors", "AWS/Lambda", "Errors", obj{"Name": "FunctionName", "Value": ref(logicalID(t, s.stack.Stack, s.stack.Instance.Function))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert(t, tt.name, func() {
				s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), like(obj{
					"Namespace":          tt.namespace,
					"MetricName":         tt.metric,
					"Dimensions":         arr{tt.dimension},
					"Threshold":          1,
					"ComparisonOperator": "GreaterThanOrEqualToThreshold",
					"EvaluationPeriods":  1,
					"TreatMissingData":   "notBreaching",
					"AlarmActions":       arr{ref(topicID)},
				}))
			})
		})
	}
	// The four above and the three CPU alarms (TestFleetAlarmCoversEveryInstance).
	assert(t, "alarm count", func() { s.template.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(7)) })
}
