package main

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
)

// rateExpression is EventBridge's rate expression for d (whole minutes).
func rateExpression(d time.Duration) string {
	m := int(d / time.Minute)
	switch {
	case m%60 == 0 && m == 60:
		return "rate(1 hour)"
	case m%60 == 0:
		return fmt.Sprintf("rate(%d hours)", m/60)
	case m == 1:
		return "rate(1 minute)"
	}
	return fmt.Sprintf("rate(%d minutes)", m)
}

// heartbeatPattern matches the members' heartbeats on the central bus: the
// scheduled events of a rule named heartbeat.RuleName on a default bus, in
// any account and region (the function checks that the rule is the
// envelope's account's and region's, heartbeat.Parse). It is one of the
// bus's rules with a wildcard (EventBridge allows 30 per bus).
func heartbeatPattern() detect.Pattern {
	return detect.Pattern{
		Source:     []any{"aws.events"},
		DetailType: []string{"Scheduled Event"},
		Resources:  []any{map[string]any{"wildcard": "arn:aws*:events:*:*:rule/" + heartbeat.RuleName}},
	}
}

// Heartbeats is the central side of the members' heartbeats: the rule on
// the central bus that gives them to the digest function, which records
// them, and the hourly schedule of its check.
type Heartbeats struct {
	constructs.Construct
	Rule  awsevents.CfnRule
	Check awsevents.CfnRule
}

// HeartbeatsProps configures NewHeartbeats.
type HeartbeatsProps struct {
	Config  config.Config
	Regions []string
	Bus     awsevents.IEventBus
	// Digest is the digest function: it records heartbeats and runs the
	// check (see heartbeat.Handler for why that function).
	Digest          awslambda.Function
	DigestRole      awsiam.IRole
	DeadLetterQueue awssqs.IQueue
}

// NewHeartbeats adds the central heartbeat rule, the check's schedule, and
// the digest function's permissions and settings for them.
func NewHeartbeats(scope constructs.Construct, id string, props *HeartbeatsProps) *Heartbeats {
	this := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(this)
	h := &Heartbeats{Construct: this}
	pattern, err := patternJSON("heartbeats", heartbeatPattern())
	if err != nil {
		panic(err)
	}
	target := func(input *string) *awsevents.CfnRule_TargetProperty {
		return &awsevents.CfnRule_TargetProperty{
			Id:    jsii.String("Digest"),
			Arn:   props.Digest.FunctionArn(),
			Input: input,
			RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
				MaximumEventAgeInSeconds: jsii.Number(targetMaxEventAgeSeconds),
				MaximumRetryAttempts:     jsii.Number(targetMaxRetryAttempts),
			},
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: props.DeadLetterQueue.QueueArn()},
		}
	}
	h.Rule = awsevents.NewCfnRule(this, jsii.String("Rule"), &awsevents.CfnRuleProps{
		Name:         jsii.String(*stack.StackName() + "-member-heartbeats"),
		EventBusName: props.Bus.EventBusName(),
		Description:  jsii.String("trailwatch: the member accounts' heartbeats, recorded by the digest function"),
		EventPattern: pattern,
		State:        jsii.String(ruleEnabled),
		Targets:      []any{target(nil)},
	})
	h.Check = awsevents.NewCfnRule(this, jsii.String("CheckSchedule"), &awsevents.CfnRuleProps{
		Description:        jsii.String("trailwatch: the hourly check for member accounts and regions whose heartbeat stopped"),
		ScheduleExpression: jsii.String(rateExpression(time.Hour)),
		State:              jsii.String(ruleEnabled),
		Targets:            []any{target(jsii.String(heartbeat.CheckInput))},
	})
	events := awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)
	for _, r := range []struct {
		id   string
		rule awsevents.CfnRule
	}{{"InvokeByHeartbeats", h.Rule}, {"InvokeByHeartbeatCheck", h.Check}} {
		props.Digest.AddPermission(jsii.String(r.id), &awslambda.Permission{Principal: events, SourceArn: r.rule.AttrArn()})
	}
	props.DeadLetterQueue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowHeartbeatRulesToDeadLetter"),
		Principals: &[]awsiam.IPrincipal{events},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{props.DeadLetterQueue.QueueArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": []*string{h.Rule.AttrArn(), h.Check.AttrArn()}}},
	}))

	// Organizations' read calls: the accounts and OUs under a parent, on
	// the organization's root and OUs only (their ARNs name the management
	// account, unknown at synth, and the organization, known); the
	// organization itself, for its management account, which supports no
	// resource-level permission.
	org := props.Config.OrganizationID
	props.DigestRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("ListTargetAccounts"),
		Actions: jsii.Strings("organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"),
		Resources: jsii.Strings(
			"arn:"+*awscdk.Aws_PARTITION()+":organizations::*:root/"+org+"/r-*",
			"arn:"+*awscdk.Aws_PARTITION()+":organizations::*:ou/"+org+"/ou-*"),
	}))
	props.DigestRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DescribeOrganization"),
		Actions:   jsii.Strings("organizations:DescribeOrganization"),
		Resources: jsii.Strings("*"),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(props.DigestRole, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		AppliesTo: &[]any{
			"Resource::arn:<AWS::Partition>:organizations::*:root/" + org + "/r-*",
			"Resource::arn:<AWS::Partition>:organizations::*:ou/" + org + "/ou-*",
		},
		Reason: jsii.String("organizations:ListAccountsForParent and organizations:ListOrganizationalUnitsForParent: the heartbeat check lists the accounts and OUs under the targeted root or OUs and every OU below them, found at run time; " +
			"the ARNs are limited to this organization, and name its management account, which is not known at synth."),
	}, {
		Id:        jsii.String("AwsSolutions-IAM5"),
		AppliesTo: &[]any{"Resource::*"},
		Reason:    jsii.String("organizations:DescribeOrganization (the management account, which has no member stack) supports no resource-level permissions."),
	}}, jsii.Bool(true))

	for k, v := range (heartbeat.Config{
		Targets: props.Config.OrganizationTargets, Regions: props.Regions,
		Period: heartbeat.DefaultPeriod, HomeAccount: *stack.Account(),
	}).Env() {
		props.Digest.AddEnvironment(jsii.String(k), jsii.String(v), nil)
	}
	return h
}
