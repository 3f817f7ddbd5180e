package main

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
)

// TrailwatchStackProps configures NewTrailwatchStack.
type TrailwatchStackProps struct {
	awscdk.StackProps
	// Config is the validated deploy-time configuration.
	Config config.Config
	// Catalog supplies one EventBridge rule per detection.
	Catalog *detect.Catalog
	// FunctionsDir holds one folder per function with its bootstrap
	// executable (build/functions, made by scripts/build-functions).
	FunctionsDir string
}

// TrailwatchStack is everything trailwatch deploys into one account and
// region.
type TrailwatchStack struct {
	awscdk.Stack
	// Trail is nil when Config.ExistingTrail names a trail to rely on.
	Trail         *Trail
	Notifications *Notifications
	Function      *AlertFunction
	Rules         *DetectionRules
	Alarms        *Alarms
}

// NewTrailwatchStack creates the stack: the trail (unless an existing one is
// configured), the alert topic and dead-letter queue, the CloudTrail
// function, one EventBridge rule per detection and the alarms that watch
// trailwatch itself.
func NewTrailwatchStack(scope constructs.Construct, id string, props *TrailwatchStackProps) *TrailwatchStack {
	if err := props.validate(); err != nil {
		panic(err)
	}
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("trailwatch: enriched Slack and email alerts for dangerous CloudTrail events")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)
	cfg := props.Config
	s := &TrailwatchStack{Stack: stack}

	if cfg.ExistingTrail == "" {
		s.Trail = NewTrail(stack, "Trail", &TrailProps{
			TrailName:     strings.ToLower(*stack.StackName()),
			RetentionDays: cfg.RetentionDays,
		})
		output(stack, "TrailArn", s.Trail.TrailArn, "ARN of the trail trailwatch created")
	} else {
		output(stack, "ExistingTrail", jsii.String(cfg.ExistingTrail),
			"Trail that must keep recording management events for the detection rules to see them")
	}

	s.Notifications = NewNotifications(stack, "Notifications", &NotificationsProps{Emails: cfg.Emails})
	s.Function = NewAlertFunction(stack, "CloudTrailFunction", &AlertFunctionProps{
		CodeDir:         filepath.Join(props.FunctionsDir, "cloudtrail"),
		SlackSecretName: cfg.SlackSecretName,
		Settings:        cfg.Settings(),
		Topic:           s.Notifications.Topic,
		DeadLetterQueue: s.Notifications.DeadLetterQueue,
	})
	s.Rules = NewDetectionRules(stack, "Detections", &DetectionRulesProps{
		Detections:      props.Catalog.All(),
		Function:        s.Function.Function,
		DeadLetterQueue: s.Notifications.DeadLetterQueue,
	})
	s.Alarms = NewAlarms(stack, "Alarms", &AlarmsProps{
		Topic:           s.Notifications.Topic,
		DeadLetterQueue: s.Notifications.DeadLetterQueue,
		Function:        s.Function.Function,
	})

	if cfg.SlackSecretName == "" {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("trailwatch:noSlack"), jsii.String(
			"no Slack delivery: set trailwatch:slackSecretName to the name of a Secrets Manager secret holding the webhook URL"))
	}

	output(stack, "TopicArn", s.Notifications.Topic.TopicArn(), "SNS topic for email alerts and trailwatch's own alarms")
	output(stack, "DeadLetterQueueUrl", s.Notifications.DeadLetterQueue.QueueUrl(), "Events trailwatch could not deliver")
	output(stack, "FunctionName", s.Function.Function.FunctionName(), "The CloudTrail function")
	return s
}

func (p *TrailwatchStackProps) validate() error {
	var errs []error
	if p.Catalog == nil {
		errs = append(errs, errors.New("trailwatch stack: Catalog is required"))
	}
	if p.FunctionsDir == "" {
		errs = append(errs, errors.New("trailwatch stack: FunctionsDir is required"))
	}
	if err := p.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func output(stack awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
	})
}
