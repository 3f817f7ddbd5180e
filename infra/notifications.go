package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// NotificationsProps configures NewNotifications.
type NotificationsProps struct {
	// Emails are subscribed to the topic. Each address must confirm the
	// subscription from the message AWS sends it.
	Emails []string
}

// Notifications is the alert path that does not depend on trailwatch's own
// code working: an encrypted SNS topic with one email subscription per
// address (the function publishes alerts to it, CloudWatch alarms publish
// trouble to it), and the dead-letter queue that keeps every event the
// function could not handle and every email SNS could not deliver.
type Notifications struct {
	constructs.Construct
	Topic    awssns.Topic
	TopicKey awskms.Key
	// DeadLetterQueue keeps events EventBridge could not deliver,
	// invocations that failed after Lambda's retries, and emails SNS could
	// not deliver.
	DeadLetterQueue awssqs.Queue
}

// NewNotifications creates the topic, its key, the subscriptions and the
// dead-letter queue.
func NewNotifications(scope constructs.Construct, id string, props *NotificationsProps) *Notifications {
	this := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(this)

	key := awskms.NewKey(this, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the trailwatch alert topic"),
		EnableKeyRotation: jsii.Bool(true),
		// The key protects messages in flight only; it may go with the
		// topic (KMS still waits its pending window before deleting it).
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// CloudWatch alarms publish to an encrypted topic only when the key
	// policy lets cloudwatch.amazonaws.com use the key (the AWS managed
	// alias/aws/sns key cannot). No condition: CloudWatch does not call KMS
	// with kms:CallerAccount or aws:SourceArn of this account, and such a
	// condition silently stops alarm notifications.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarmsToPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), jsii.Bool(false))

	topic := awssns.NewTopic(this, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: jsii.String("trailwatch alerts"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// A topic policy replaces SNS's default one, which is what lets
	// CloudWatch alarms of the account publish; say so explicitly.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowAlarmsOfThisAccountToPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{
			"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
				Service:      jsii.String("cloudwatch"),
				Resource:     jsii.String("alarm"),
				ResourceName: jsii.String("*"),
				ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
			})},
		},
	}))

	dlq := newDeadLetterQueue(this, "DeadLetterQueue")

	// An email SNS could not deliver (SMTP: 50 attempts over 6 hours) lands
	// in the dead-letter queue instead of being discarded. CDK adds the
	// queue policy statement that lets this topic send; no KMS key is
	// involved (SSE-SQS). trailwatch redrive leaves such a message in the
	// queue: it is not an input of the function.
	for _, email := range props.Emails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), &awssnssubscriptions.EmailSubscriptionProps{
			DeadLetterQueue: dlq,
		}))
	}
	if len(props.Emails) == 0 {
		awscdk.Annotations_Of(this).AddWarningV2(jsii.String("trailwatch:noEmails"), jsii.String(
			"no email subscribers: set trailwatch:emails (cdk.json or -c trailwatch:emails=a@example.com,b@example.com); "+
				"until then alarms about trailwatch itself (dead-letter queue, function errors) reach nobody"))
	}

	return &Notifications{Construct: this, Topic: topic, TopicKey: key, DeadLetterQueue: dlq}
}

// newDeadLetterQueue creates a dead-letter queue as trailwatch keeps them:
// SSE-SQS (no key whose policy would have to trust EventBridge, Lambda
// and SNS), TLS only, messages kept for 14 days, the longest SQS allows.
func newDeadLetterQueue(scope constructs.Construct, id string) awssqs.Queue {
	dlq := awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue: of every EventBridge rule target and of the email subscriptions, and the functions' " +
			"on-failure destination (cdk-nag recognizes only SQS redrive policies and Lambda DeadLetterConfig as DLQ use)."),
	}, {
		Id: jsii.String("Serverless-SQSRedrivePolicy"),
		Reason: jsii.String("This queue is the last stop, not a work queue: nothing receives from it automatically (trailwatch redrive or a person does, " +
			"and a message that cannot be redriven is meant to stay), so there is no receive count after which to move a message on, and its alarm already reports every message."),
	}}, jsii.Bool(false))
	return dlq
}

// NewRouteTopic creates the email topic of an organization-mode route
// (internal/route): encrypted with the alert topic's key, TLS only, its
// addresses subscribed with the same dead-letter queue for emails SNS could
// not deliver.
func (n *Notifications) NewRouteTopic(name string, emails []string) awssns.Topic {
	topic := awssns.NewTopic(n.Construct, jsii.String("Route"+constructID(name)+"Topic"), &awssns.TopicProps{
		DisplayName: jsii.String("trailwatch alerts (" + name + ")"),
		MasterKey:   n.TopicKey,
		EnforceSSL:  jsii.Bool(true),
	})
	for _, email := range emails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), &awssnssubscriptions.EmailSubscriptionProps{
			DeadLetterQueue: n.DeadLetterQueue,
		}))
	}
	return topic
}
