//lint:file-ignore SA1019 cxapi.SynthesisMessage is what the Go CDK returns for a stack artifact's messages; its successor (@aws-cdk/cloud-assembly-api) has no Go binding in awscdk v2.270.0.

package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
)

// maxTemplateBodyBytes is CloudFormation's limit on TemplateBody; a larger
// member template goes to the StackSet as a file asset (TemplateURL, up to
// 1 MB).
const maxTemplateBodyBytes = 51200

// StackSet settings.
const (
	// stackSetFailureTolerancePercent of the accounts of a region may fail
	// before a StackSet operation stops there: one account with a
	// conflicting resource (an old trailwatch stack) must not hold back
	// the other 199.
	stackSetFailureTolerancePercent = 10
	// stackSetMaxConcurrentPercent of the accounts of a region are worked
	// on at once. StackSets caps the real concurrency itself (service
	// throttling), so 100 asks for as fast as it allows.
	stackSetMaxConcurrentPercent = 100
)

// OrganizationProps configures NewOrganization.
type OrganizationProps struct {
	Config config.Config
	// Regions are the member regions (config.Config.MemberRegionsFor).
	Regions []string
	// Detections and Pattern are the catalog's, as the home rules use them.
	Detections []*detect.Detection
	Pattern    func(*detect.Detection) detect.Pattern
	// Function and InstanceFunction are the central rules' targets.
	Function, InstanceFunction awslambda.IFunction
	// LookupRoles are the roles of the functions that look up: the only
	// principals the member accounts' TrailwatchLookup role trusts.
	LookupRoles     []awsiam.IRole
	Topic           awssns.ITopic
	TopicKey        awskms.IKey
	DeadLetterQueue awssqs.IQueue
	// Member is the synthesized member template.
	Member *MemberTemplate
}

// Organization is what organization mode adds to the home stack: the
// central bus that the member accounts' forwarding rules put events on,
// the catalog's rules on it, the rule that emails the member stacks' own
// alarms, and the StackSet that deploys the member template.
type Organization struct {
	constructs.Construct
	// Bus lets the organization's accounts put events (its Policy).
	Bus   awsevents.EventBus
	Rules *DetectionRules
	// MemberAlarms sends the members' dead-letter alarms to the topic.
	MemberAlarms awsevents.CfnRule
	StackSet     awscloudformation.CfnStackSet
	// TemplateAsset is set when the member template is too large for
	// TemplateBody.
	TemplateAsset awss3assets.Asset
	// Heartbeats records the members' heartbeats and checks for silent
	// ones.
	Heartbeats *Heartbeats
}

// NewOrganization creates the central side of organization mode.
func NewOrganization(scope constructs.Construct, id string, props *OrganizationProps) *Organization {
	this := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(this)
	o := &Organization{Construct: this}
	cfg := props.Config

	// One statement whatever the number of accounts: the policy stays far
	// below EventBridge's 10,240-character limit as the organization grows.
	// PutEvents cannot forge events of AWS services (their sources start
	// with "aws.", which PutEvents refuses), and the events a member's
	// rules forward keep their own account and region.
	// The policy is the bus's own Policy property rather than an
	// AWS::Events::EventBusPolicy (EventBus.AddToResourcePolicy), whose
	// deprecated Principal property has jsii warn at every synth. The ARN
	// is built from the name: a GetAtt of the bus would be circular.
	busName := *stack.StackName() + "-Organization"
	o.Bus = awsevents.NewEventBus(this, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(busName),
		Description:  jsii.String("trailwatch: events forwarded by the organization's member accounts"),
	})
	o.Bus.Node().DefaultChild().(awsevents.CfnEventBus).SetPolicy(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "OrganizationPutsEvents",
			"Effect":    "Allow",
			"Principal": "*",
			"Action":    "events:PutEvents",
			"Resource": stack.FormatArn(&awscdk.ArnComponents{
				Service:      jsii.String("events"),
				Resource:     jsii.String("event-bus"),
				ResourceName: jsii.String(busName),
				ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
			}),
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": cfg.OrganizationID}},
		}},
	})

	o.Rules = NewDetectionRules(this, "Detections", &DetectionRulesProps{
		Detections:       props.Detections,
		Function:         props.Function,
		InstanceFunction: props.InstanceFunction,
		Pattern:          props.Pattern,
		DeadLetterQueue:  props.DeadLetterQueue,
		EventBus:         o.Bus,
	})
	o.MemberAlarms = memberAlarmsRule(this, o.Bus, props)
	o.StackSet = o.memberStackSet(stack, props)
	return o
}

// memberAlarmsRule emails the ALARM state of a member stack's dead-letter
// alarm through the topic, directly from EventBridge, like the home
// account's own alarms reach the topic without trailwatch's code.
func memberAlarmsRule(scope constructs.Construct, bus awsevents.IEventBus, props *OrganizationProps) awsevents.CfnRule {
	stack := awscdk.Stack_Of(scope)
	pattern, err := patternJSON(memberDeadLettersRule, memberAlarmPattern())
	if err != nil {
		panic(err)
	}
	name := *stack.StackName() + "-member-dead-letters"
	rule := awsevents.NewCfnRule(scope, jsii.String("MemberAlarms"), &awsevents.CfnRuleProps{
		Name:         jsii.String(name),
		EventBusName: bus.EventBusName(),
		Description:  jsii.String("trailwatch: a member account could not forward events to the central bus"),
		EventPattern: pattern,
		State:        jsii.String(ruleEnabled),
		Targets: []any{&awsevents.CfnRule_TargetProperty{
			Id:  jsii.String("Topic"),
			Arn: props.Topic.TopicArn(),
			InputTransformer: &awsevents.CfnRule_InputTransformerProperty{
				InputPathsMap: map[string]*string{
					"account": jsii.String("$.account"),
					"region":  jsii.String("$.region"),
					"alarm":   jsii.String("$.detail.alarmName"),
					"reason":  jsii.String("$.detail.state.reason"),
				},
				InputTemplate: jsii.String(`"trailwatch could not forward events of account <account> in <region> to the central bus: ` +
					`its alarm <alarm> is in ALARM (<reason>). The events wait in that stack instance's dead-letter queue; ` +
					`check the central bus policy and the member's forwarding role, then redrive them."`),
			},
			RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
				MaximumEventAgeInSeconds: jsii.Number(targetMaxEventAgeSeconds),
				MaximumRetryAttempts:     jsii.Number(targetMaxRetryAttempts),
			},
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: props.DeadLetterQueue.QueueArn()},
		}},
	})
	events := awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)
	props.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowMemberAlarmsRuleToPublish"),
		Principals: &[]awsiam.IPrincipal{events},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{props.Topic.TopicArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rule.AttrArn()}},
	}))
	// EventBridge publishes to an encrypted topic only when the key lets
	// it (SNS developer guide, "Enabling compatibility between event
	// sources from AWS services and encrypted topics").
	props.TopicKey.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowEventBridgeToPublish"),
		Principals: &[]awsiam.IPrincipal{events},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), jsii.Bool(false))
	props.DeadLetterQueue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowMemberAlarmsRuleToDeadLetter"),
		Principals: &[]awsiam.IPrincipal{events},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{props.DeadLetterQueue.QueueArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rule.AttrArn()}},
	}))
	return rule
}

// memberStackSet deploys the member template to every account of the
// targets in every member region, and to accounts that join them later.
func (o *Organization) memberStackSet(stack awscdk.Stack, props *OrganizationProps) awscloudformation.CfnStackSet {
	cfg := props.Config
	arns := make([]*string, 0, len(props.LookupRoles))
	for _, r := range props.LookupRoles {
		arns = append(arns, r.RoleArn())
	}
	p := &awscloudformation.CfnStackSetProps{
		// The member roles' detection (trailwatch-member-role-tampered)
		// knows the forwarding role by this name.
		StackSetName: jsii.String(*stack.StackName() + detect.MemberStackSetSuffix),
		Description: jsii.String(fmt.Sprintf("trailwatch member stacks: forward to %s's central bus, fleet CPU alarm, TrailwatchLookup role",
			*stack.StackName())),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String(cfg.CallAs()),
		// A new account of a target OU gets its stack instances without a
		// redeploy; one that leaves loses them.
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled:                      jsii.Bool(true),
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		// The named TrailwatchLookup role.
		Capabilities: jsii.Strings("CAPABILITY_NAMED_IAM"),
		// StackSets queues operations instead of failing one while another
		// (an automatic deployment to a new account) runs.
		// ManagedExecution is a JSON property: the typed struct would be
		// written with a lower-case "active".
		ManagedExecution: map[string]any{"Active": true},
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			RegionConcurrencyType:      jsii.String("PARALLEL"),
			MaxConcurrentPercentage:    jsii.Number(stackSetMaxConcurrentPercent),
			FailureTolerancePercentage: jsii.Number(stackSetFailureTolerancePercent),
			ConcurrencyMode:            jsii.String("SOFT_FAILURE_TOLERANCE"),
		},
		Parameters: []any{
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(paramCentralBusArn), ParameterValue: o.Bus.EventBusArn()},
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(paramHomeAccountID), ParameterValue: awscdk.Aws_ACCOUNT_ID()},
			&awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(paramLookupPrincipalArns), ParameterValue: awscdk.Fn_Join(jsii.String(","), &arns)},
		},
		StackInstancesGroup: []any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(cfg.OrganizationTargets...),
				// Not the home account: its own rules already watch it, and a
				// member stack there would alert twice (and its fleet alarm's
				// name would collide with the home stack's). StackSets never
				// deploys to the management account, so SELF needs no filter,
				// and DIFFERENCE with an account outside the targets is a no-op.
				AccountFilterType: jsii.String("DIFFERENCE"),
				Accounts:          &[]*string{awscdk.Aws_ACCOUNT_ID()},
			},
			Regions: jsii.Strings(props.Regions...),
		}},
	}
	o.TemplateAsset = memberTemplateSource(o.Construct, props.Member, maxTemplateBodyBytes, p)
	return awscloudformation.NewCfnStackSet(o.Construct, jsii.String("Members"), p)
}

// memberTemplateSource gives the StackSet the member template: as
// TemplateBody when it has at most limit bytes, else as a file asset whose
// URL is TemplateURL (returned; nil for a body). CloudFormation reads
// TemplateURL with the deploying principal's credentials (CDK's
// CloudFormation execution role, which can read its own assets bucket),
// once per StackSet operation in the home account: the member accounts
// never read the bucket.
func memberTemplateSource(scope constructs.Construct, m *MemberTemplate, limit int, p *awscloudformation.CfnStackSetProps) awss3assets.Asset {
	if len(m.JSON) <= limit {
		p.TemplateBody = jsii.String(string(m.JSON))
		return nil
	}
	asset := awss3assets.NewAsset(scope, jsii.String("MemberTemplate"), &awss3assets.AssetProps{Path: jsii.String(m.File)})
	p.TemplateUrl = asset.HttpUrl()
	return asset
}

// nagFindingMessages returns the text of the member template's cdk-nag
// errors and warnings, which the home stack repeats as its own so that
// `cdk synth` fails on them.
func nagFindingMessages(m *MemberTemplate) []string {
	var out []string
	for _, msg := range m.Messages {
		if msg.Entry == nil || (msg.Level != cxapi.SynthesisMessageLevel_ERROR && msg.Level != cxapi.SynthesisMessageLevel_WARNING) {
			continue
		}
		text := fmt.Sprint(msg.Entry.Data)
		if nagFinding.MatchString(text) {
			out = append(out, string(msg.Level)+" at "+strings.TrimPrefix(*msg.Id, "/")+": "+text)
		}
	}
	return out
}
