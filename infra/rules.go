package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

// Retry policy of every rule target: EventBridge keeps trying to invoke the
// function for up to two hours, then sends the event to the dead-letter queue.
const (
	targetMaxEventAgeSeconds = 2 * 60 * 60
	targetMaxRetryAttempts   = 8
)

// EventBridge rule states.
const (
	ruleEnabled = "ENABLED"
	// ruleEnabledAllManagementEvents also delivers read-only management
	// events, which EventBridge otherwise drops.
	ruleEnabledAllManagementEvents = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
)

// maxRuleNameLength is EventBridge's limit on rule names.
const maxRuleNameLength = 64

// DetectionRulesProps configures NewDetectionRules.
type DetectionRulesProps struct {
	// Detections each get one rule; usually catalog.All().
	Detections []*detect.Detection
	// Function is the target of the rules of CloudTrail detections.
	Function awslambda.IFunction
	// InstanceFunction is the target of detections whose Function is
	// detect.FunctionInstance (alarms, GuardDuty findings).
	InstanceFunction awslambda.IFunction
	// Pattern returns a detection's pattern under the deployment's
	// settings (detect.Catalog.PatternOf); nil means Detection.Pattern.
	Pattern func(*detect.Detection) detect.Pattern
	// DeadLetterQueue receives events the function could not be invoked
	// with after the retry policy.
	DeadLetterQueue awssqs.IQueue
	// EventBus, when set, holds the rules instead of the default bus: the
	// organization's central bus. Rules on a custom bus are plain ENABLED:
	// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS exists only on default
	// buses, and read-only events reach a custom bus only when a member's
	// forwarding rule, which has that state, sent them.
	EventBus awsevents.IEventBus
}

// DetectionRules holds one EventBridge rule per detection, keyed by ID.
type DetectionRules struct {
	constructs.Construct
	Rules map[string]awsevents.CfnRule
	// NamePrefix starts the name of every rule: the function and the queue
	// trust rules whose ARN starts with it.
	NamePrefix string
}

// NewDetectionRules creates a rule per detection. A rule's pattern is the
// detection's Pattern as JSON, unchanged; its target sends the function
// event.RuleInputTemplate(ID), the detection ID beside the untouched event.
//
// Rules are named "<stack name>-<detection ID>" so that one Lambda permission
// and one queue policy statement (for rule/<stack name>-*) cover them all:
// per-rule statements would outgrow the 20 KB Lambda resource policy and the
// SQS policy limits as the catalog grows.
func NewDetectionRules(scope constructs.Construct, id string, props *DetectionRulesProps) *DetectionRules {
	this := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(this)
	prefix := *stack.StackName() + "-"
	rules := make(map[string]awsevents.CfnRule, len(props.Detections))

	patternFor := props.Pattern
	if patternFor == nil {
		patternFor = func(d *detect.Detection) detect.Pattern { return d.Pattern }
	}
	for _, d := range props.Detections {
		if d.Scheduled {
			continue // no event on any bus feeds it (detect.Detection.Scheduled)
		}
		pattern, err := patternJSON(d.ID, patternFor(d))
		if err != nil {
			panic(err)
		}
		target := props.Function
		if d.Function == detect.FunctionInstance {
			if props.InstanceFunction == nil {
				panic(fmt.Sprintf("detection %q needs the instance function", d.ID))
			}
			target = props.InstanceFunction
		}
		name := prefix + d.ID
		if len(name) > maxRuleNameLength {
			badConfig("rule name %q is longer than EventBridge's %d characters: deploy with a shorter stack name (the rules are named after it)", name, maxRuleNameLength)
		}
		state := ruleState(d)
		var bus *string
		if props.EventBus != nil {
			state = ruleEnabled
			bus = props.EventBus.EventBusName()
		}
		rule := awsevents.NewCfnRule(this, jsii.String(constructID(d.ID)), &awsevents.CfnRuleProps{
			Name:         jsii.String(name),
			EventBusName: bus,
			Description:  jsii.String(fmt.Sprintf("trailwatch %s: %s", d.ID, d.Title)),
			EventPattern: pattern,
			State:        jsii.String(state),
			Targets: []any{&awsevents.CfnRule_TargetProperty{
				Id:  jsii.String("Function"),
				Arn: target.FunctionArn(),
				// <aws.events.event.json> is EventBridge's variable for the
				// whole event; it needs no InputPathsMap.
				InputTransformer: &awsevents.CfnRule_InputTransformerProperty{
					InputTemplate: jsii.String(event.RuleInputTemplate(d.ID)),
				},
				RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
					MaximumEventAgeInSeconds: jsii.Number(targetMaxEventAgeSeconds),
					MaximumRetryAttempts:     jsii.Number(targetMaxRetryAttempts),
				},
				DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{
					Arn: props.DeadLetterQueue.QueueArn(),
				},
			}},
		})
		rules[d.ID] = rule
	}

	// A rule on a custom bus has the ARN rule/<bus>/<name>.
	resourceName := jsii.String(prefix + "*")
	permissionID, sid := "InvokeByDetectionRules", "AllowDetectionRulesToDeadLetter"
	if props.EventBus != nil {
		resourceName = jsii.String(*props.EventBus.EventBusName() + "/" + prefix + "*")
		permissionID, sid = "InvokeBy"+id, "Allow"+id+"ToDeadLetter"
	}
	rulesArn := stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("events"),
		Resource:     jsii.String("rule"),
		ResourceName: resourceName,
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	eventsPrincipal := awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)
	for _, fn := range []awslambda.IFunction{props.Function, props.InstanceFunction} {
		if fn != nil {
			fn.AddPermission(jsii.String(permissionID), &awslambda.Permission{
				Principal: eventsPrincipal,
				SourceArn: rulesArn,
			})
		}
	}
	props.DeadLetterQueue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Principals: &[]awsiam.IPrincipal{eventsPrincipal},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{props.DeadLetterQueue.QueueArn()},
		// The ARN names this account: no aws:SourceAccount needed.
		Conditions: &map[string]any{"ArnLike": map[string]any{"aws:SourceArn": rulesArn}},
	}))

	return &DetectionRules{Construct: this, Rules: rules, NamePrefix: prefix}
}

// patternOf returns the detection's EventBridge pattern as a generic JSON
// value, so the template holds exactly what the catalog marshals.
func patternOf(d *detect.Detection) (map[string]any, error) {
	return patternJSON(d.ID, d.Pattern)
}

// patternJSON returns a pattern as a generic JSON value.
func patternJSON(id string, p detect.Pattern) (map[string]any, error) {
	s, err := p.JSON()
	if err != nil {
		return nil, fmt.Errorf("detection %q: %w", id, err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("detection %q: decode pattern: %w", id, err)
	}
	return m, nil
}

// constructID turns a kebab-case detection ID into a CamelCase construct ID
// ("s3-bucket-acl-public" becomes "S3BucketAclPublic"), which keeps logical
// IDs readable.
func constructID(detectionID string) string {
	var b strings.Builder
	for _, part := range strings.Split(detectionID, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
