//lint:file-ignore SA1019 cxapi.SynthesisMessage is what assertions and the Go CDK return for annotations; its successor (@aws-cdk/cloud-assembly-api) has no Go binding in awscdk v2.270.0.

package main

import (
	"regexp"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

func TestTopicEncryptedWithRotatingKey(t *testing.T) {
	s := synth(t)
	n := s.stack.Notifications
	keyID := logicalID(t, s.stack.Stack, n.TopicKey)
	topicID := logicalID(t, s.stack.Stack, n.Topic)

	assert(t, "topic key", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SNS::Topic"), like(obj{"KmsMasterKeyId": getAtt(keyID, "Arn")}))
	})
	key := resources(s.json, "AWS::KMS::Key")[keyID]
	if got := props(key)["EnableKeyRotation"]; got != true {
		t.Errorf("topic key EnableKeyRotation = %v, want true", got)
	}
	var cloudwatch []any
	for _, st := range statements(t, props(key)["KeyPolicy"]) {
		if principalService(st) == "cloudwatch.amazonaws.com" && st["Effect"] == "Allow" {
			cloudwatch = append(cloudwatch, st["Action"])
		}
	}
	if len(cloudwatch) != 1 {
		t.Fatalf("topic key policy has %d statements for cloudwatch.amazonaws.com, want 1 so alarms can publish", len(cloudwatch))
	}
	if got, want := cloudwatch[0], (arr{"kms:Decrypt", "kms:GenerateDataKey*"}); !equalJSON(got, want) {
		t.Errorf("cloudwatch.amazonaws.com may %v, want %v", got, want)
	}

	assert(t, "topic policy", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), like(obj{
			"Topics": arr{ref(topicID)},
			"PolicyDocument": like(obj{"Statement": arrayWith(
				like(obj{
					"Effect":    "Deny",
					"Action":    "sns:Publish",
					"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
				}),
				like(obj{
					"Effect":    "Allow",
					"Action":    "sns:Publish",
					"Principal": obj{"Service": "cloudwatch.amazonaws.com"},
					"Condition": like(obj{"ArnLike": like(obj{"aws:SourceArn": assertions.Match_AnyValue()})}),
				}),
			)}),
		}))
	})
}

func TestEmailSubscriptions(t *testing.T) {
	s := synth(t)
	topicID := logicalID(t, s.stack.Stack, s.stack.Notifications.Topic)
	queueID := logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue)
	assert(t, "two subscriptions", func() {
		s.template.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(float64(len(testEmails))))
	})
	var got []string
	for id, sub := range resources(s.json, "AWS::SNS::Subscription") {
		p := props(sub)
		if p["Protocol"] != "email" || !equalJSON(p["TopicArn"], ref(topicID)) {
			t.Errorf("subscription %s: %v to %v, want email to the topic", id, p["Protocol"], p["TopicArn"])
		}
		// An email SNS gave up on is kept in the dead-letter queue.
		if want := (obj{"deadLetterTargetArn": getAtt(queueID, "Arn")}); !equalJSON(p["RedrivePolicy"], want) {
			t.Errorf("subscription %s: redrive policy %v, want %v", id, p["RedrivePolicy"], want)
		}
		got = append(got, p["Endpoint"].(string))
	}
	// SNS may send to the queue only for this topic.
	assert(t, "queue policy lets the topic dead-letter", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), like(obj{
			"Queues": arr{ref(queueID)},
			"PolicyDocument": like(obj{"Statement": arrayWith(like(obj{
				"Effect":    "Allow",
				"Action":    "sqs:SendMessage",
				"Principal": obj{"Service": "sns.amazonaws.com"},
				"Resource":  getAtt(queueID, "Arn"),
				"Condition": obj{"ArnEquals": obj{"aws:SourceArn": ref(topicID)}},
			}))}),
		}))
	})
	slices.Sort(got)
	want := slices.Sorted(slices.Values(testEmails))
	if !slices.Equal(got, want) {
		t.Errorf("subscribed %v, want %v", got, want)
	}

	if n := len(resources(s.existingJSON, "AWS::SNS::Subscription")); n != 0 {
		t.Errorf("stack without emails has %d subscriptions", n)
	}
	if len(findMessages(s.existingMessages, cxapi.SynthesisMessageLevel_WARNING, regexp.MustCompile("no email subscribers.*trailwatch:emails"))) != 1 {
		t.Error("stack without emails does not warn about it")
	}
	assert(t, "no warning with emails", func() {
		s.annotations.HasNoWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("no email subscribers")))
	})
}

func TestDeadLetterQueue(t *testing.T) {
	s := synth(t)
	queueID := logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue)
	assert(t, "queue", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SQS::Queue"), assertions.Match_ObjectEquals(&obj{
			"SqsManagedSseEnabled":   true,
			"MessageRetentionPeriod": 14 * 24 * 60 * 60,
		}))
	})
	assert(t, "TLS only", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), like(obj{
			"Queues": arr{ref(queueID)},
			"PolicyDocument": like(obj{"Statement": arrayWith(like(obj{
				"Effect":    "Deny",
				"Action":    "sqs:*",
				"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
			}))}),
		}))
	})
}
