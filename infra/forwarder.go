package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// ForwarderStackProps configures NewForwarderStack.
type ForwarderStackProps struct {
	// StackProps must name the forwarded region in Env.
	awscdk.StackProps
	// HomeRegion is where the Trailwatch stack and its function live.
	HomeRegion string
	// Emails receive the forwarder's own alarms (its dead-letter queue).
	Emails []string
	// Detections each get a forwarding rule with the same pattern.
	Detections []*detect.Detection
	// Pattern returns a detection's pattern under the deployment's
	// settings (detect.Catalog.PatternOf), as the home rules use it; nil
	// means Detection.Pattern.
	Pattern func(*detect.Detection) detect.Pattern
}

// ForwarderStack forwards the events of one region to the home region's
// default event bus, where the detection rules of the Trailwatch stack see
// them. EventBridge delivers IAM, STS, sign-in and Organizations events only
// in us-east-1, and every regional service's events only in its region, so a
// deployment in eu-west-1 needs a forwarder in us-east-1 (and in each other
// region the account uses).
type ForwarderStack struct {
	awscdk.Stack
	Notifications *Notifications
	// Rules forward, one per detection, keyed by detection ID.
	Rules map[string]awsevents.CfnRule
	// Role lets EventBridge put events on the home bus.
	Role awsiam.Role
	// DeadLetters fires when an event could not be forwarded.
	DeadLetters awscloudwatch.Alarm
	// HomeBusArn is the target of every rule.
	HomeBusArn *string
}

// NewForwarderStack creates the forwarding rules, their role, a dead-letter
// queue with an alarm, and a topic for that alarm: CloudWatch alarms notify
// topics in their own region only.
func NewForwarderStack(scope constructs.Construct, id string, props *ForwarderStackProps) *ForwarderStack {
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String(fmt.Sprintf("trailwatch: forwards this region's CloudTrail events to %s", props.HomeRegion))
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)
	s := &ForwarderStack{Stack: stack, Rules: map[string]awsevents.CfnRule{}}
	s.Notifications = NewNotifications(stack, "Notifications", &NotificationsProps{Emails: props.Emails})

	s.HomeBusArn = stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("events"),
		Region:       jsii.String(props.HomeRegion),
		Resource:     jsii.String("event-bus"),
		ResourceName: jsii.String("default"),
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	fwd := addForwarding(stack, &forwardingProps{
		Detections:      props.Detections,
		Pattern:         props.Pattern,
		BusArn:          s.HomeBusArn,
		To:              props.HomeRegion,
		RoleDescription: "trailwatch: EventBridge forwards matching events to the home region's default bus",
		DeadLetterQueue: s.Notifications.DeadLetterQueue,
	})
	s.Rules, s.Role = fwd.Rules, fwd.Role
	queue := s.Notifications.DeadLetterQueue

	s.DeadLetters = deadLetterAlarm(stack, queue, nil,
		"trailwatch could not forward events to "+props.HomeRegion+": they wait in this region's dead-letter queue.")
	s.DeadLetters.AddAlarmAction(awscloudwatchactions.NewSnsAction(s.Notifications.Topic))
	output(stack, "HomeBus", s.HomeBusArn, "Event bus the forwarded events go to")
	return s
}

// forwardingProps configures addForwarding.
type forwardingProps struct {
	// Detections each get a forwarding rule with the same pattern.
	Detections []*detect.Detection
	// Pattern returns a detection's pattern under the deployment's
	// settings; nil means Detection.Pattern.
	Pattern func(*detect.Detection) detect.Pattern
	// BusArn is the bus every rule forwards to.
	BusArn *string
	// To names the destination in the rules' descriptions.
	To string
	// RoleDescription says what the forwarding role is for.
	RoleDescription string
	// DeadLetterQueue keeps what could not be forwarded.
	DeadLetterQueue awssqs.IQueue
	// RuleName, when set, names each detection's rule; nil leaves the
	// names to CloudFormation.
	RuleName func(*detect.Detection) string
}

// forwarding is what addForwarding made.
type forwarding struct {
	// Rules forward, one per detection, keyed by detection ID.
	Rules map[string]awsevents.CfnRule
	// Role lets EventBridge put events on the bus.
	Role awsiam.Role
}

// addForwarding creates, directly in scope (the logical IDs of the
// forwarder stacks stay what they were), a role EventBridge assumes to put
// events on BusArn, one rule per detection on the default bus with the
// detection's pattern and read-only state, the retry policy and the
// dead-letter queue of the detection rules, and the queue policy statement
// that lets the rules dead-letter. Forwarder stacks (other regions of the
// home account) and the member stacks (the organization's accounts) share it.
func addForwarding(scope constructs.Construct, props *forwardingProps) *forwarding {
	stack := awscdk.Stack_Of(scope)
	eventsPrincipal := awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)
	role := awsiam.NewRole(scope, jsii.String("ForwardRole"), &awsiam.RoleProps{
		AssumedBy:   eventsPrincipal,
		Description: jsii.String(props.RoleDescription),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PutOnHomeBus"),
		Actions:   jsii.Strings("events:PutEvents"),
		Resources: &[]*string{props.BusArn},
	}))

	queue := props.DeadLetterQueue
	patternFor := props.Pattern
	if patternFor == nil {
		patternFor = func(d *detect.Detection) detect.Pattern { return d.Pattern }
	}
	rules := make(map[string]awsevents.CfnRule, len(props.Detections))
	for _, d := range props.Detections {
		if d.Scheduled {
			continue // no event on any bus feeds it (detect.Detection.Scheduled)
		}
		pattern, err := patternJSON(d.ID, patternFor(d))
		if err != nil {
			panic(err)
		}
		var name *string
		if props.RuleName != nil {
			name = jsii.String(props.RuleName(d))
			if len(*name) > maxRuleNameLength {
				badConfig("rule name %q is longer than EventBridge's %d characters: deploy with a shorter stack name (the rules are named after it)", *name, maxRuleNameLength)
			}
		}
		rules[d.ID] = forwardRule(scope, "Forward"+constructID(d.ID), &awsevents.CfnRuleProps{
			Name:         name,
			Description:  jsii.String(fmt.Sprintf("trailwatch forwards %s to %s: %s", d.ID, props.To, d.Title)),
			EventPattern: pattern,
			State:        jsii.String(ruleState(d)),
		}, props.BusArn, role, queue)
	}
	queue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowForwardingRulesToDeadLetter"),
		Principals: &[]awsiam.IPrincipal{eventsPrincipal},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{queue.QueueArn()},
		Conditions: &map[string]any{"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("events"),
			Resource:     jsii.String("rule"),
			ResourceName: jsii.String("*"),
			ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
		})}},
	}))
	return &forwarding{Rules: rules, Role: role}
}

// forwardRule creates a rule on the default bus whose one target is the
// bus at busArn, reached through role, with the detection rules' retry
// policy and queue as its dead-letter queue. The event goes on untouched.
func forwardRule(scope constructs.Construct, id string, p *awsevents.CfnRuleProps, busArn *string, role awsiam.IRole, queue awssqs.IQueue) awsevents.CfnRule {
	p.Targets = []any{&awsevents.CfnRule_TargetProperty{
		Id:      jsii.String("HomeBus"),
		Arn:     busArn,
		RoleArn: role.RoleArn(),
		RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
			MaximumEventAgeInSeconds: jsii.Number(targetMaxEventAgeSeconds),
			MaximumRetryAttempts:     jsii.Number(targetMaxRetryAttempts),
		},
		DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: queue.QueueArn()},
	}}
	return awsevents.NewCfnRule(scope, jsii.String(id), p)
}

// ruleState is how a detection's rules are enabled: read-only management
// events reach only rules that ask for all of them.
func ruleState(d *detect.Detection) string {
	if d.NeedsReadOnly {
		return ruleEnabledAllManagementEvents
	}
	return ruleEnabled
}

// forwardRegions lists the regions that need a forwarder for a stack in
// home: the configured ones other than home. Without a known home region no
// forwarder can be addressed.
func forwardRegions(home string, configured []string) []string {
	if home == "" {
		return nil
	}
	var out []string
	seen := map[string]bool{home: true}
	for _, r := range configured {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// forwarderStackID names the forwarder stack of a region.
func forwarderStackID(region string) string {
	return stackName + "Forwarder-" + region
}
