//lint:file-ignore SA1019 cxapi.SynthesisMessage is what the Go CDK returns for a stack artifact's messages; its successor (@aws-cdk/cloud-assembly-api) has no Go binding in awscdk v2.270.0.

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/cwalarm"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
)

// Names the member stacks give their resources, so that the central side
// and the tampering detections recognize them.
const (
	// memberRulePrefix starts the name of every member forwarding rule:
	// "TrailwatchMember-<detection ID>". The prefix is one of the settings'
	// OwnPrefixes in organization mode, so deleting or disabling a member's
	// rule is trailwatch-rule-tampered like for the home rules.
	memberRulePrefix = "TrailwatchMember-"
	// memberDeadLettersAlarm is the alarm on a member's dead-letter queue;
	// its state change is forwarded like the CPU alarms' and the central
	// rule memberAlarmsRuleName sends it to the topic.
	memberDeadLettersAlarm = "Trailwatch-Member-DeadLetters"
	// memberDeadLettersRule forwards that alarm's state changes.
	memberDeadLettersRule = memberRulePrefix + "dead-letters"
)

// Parameters of the member template, set by the StackSet.
const (
	paramCentralBusArn       = "CentralBusArn"
	paramHomeAccountID       = "HomeAccountId"
	paramLookupPrincipalArns = "LookupPrincipalArns"
)

// MemberStackProps configures NewMemberStack.
type MemberStackProps struct {
	// Detections each get a forwarding rule; usually catalog.All().
	Detections []*detect.Detection
	// Pattern returns a detection's pattern under the deployment's
	// settings (detect.Catalog.PatternOf), as the central rules use it.
	Pattern func(*detect.Detection) detect.Pattern
	// CPU alarm settings of the fleet alarm (config.Config's CPU keys).
	CPUThreshold, CPUPeriodMinutes, CPUDatapoints int
	// LookupRoleRegion is the one region whose stack instance creates the
	// TrailwatchLookup role: IAM is global, and a named role made by every
	// region's stack instance would collide.
	LookupRoleRegion string
}

// MemberStack is the template the StackSet deploys into every account and
// region of the targeted OUs: it forwards what the catalog detects to the
// home account's central bus, keeps a fleet CPU alarm, and holds the role
// the central functions assume for their look-ups.
type MemberStack struct {
	awscdk.Stack
	// Rules forward, one per detection, keyed by detection ID.
	Rules map[string]awsevents.CfnRule
	// DeadLetterRule forwards the state changes of DeadLetters.
	DeadLetterRule awsevents.CfnRule
	// HeartbeatRule puts a scheduled event on the central bus every
	// heartbeat period, through ForwardRole: the home account learns of a
	// member whose forwarding broke by its silence (internal/heartbeat).
	HeartbeatRule awsevents.CfnRule
	// ForwardRole lets EventBridge put events on the central bus.
	ForwardRole awsiam.Role
	// LookupRole is TrailwatchLookup, made in LookupRoleRegion only.
	LookupRole awsiam.Role
	// LookupRoleCondition limits LookupRole to LookupRoleRegion.
	LookupRoleCondition awscdk.CfnCondition
	DeadLetterQueue     awssqs.Queue
	// DeadLetters fires when an event could not be forwarded.
	DeadLetters awscloudwatch.Alarm
	CPUAlarms   *CPUAlarms
	// Parameters the StackSet sets.
	CentralBusArn, HomeAccountID, LookupPrincipalArns awscdk.CfnParameter
}

// NewMemberStack creates the member template's stack. It is synthesized on
// its own (NewMemberTemplate), without CDK's bootstrap resources: member
// accounts are not bootstrapped, and the template uses no assets.
func NewMemberStack(scope constructs.Construct, id string, props *MemberStackProps) *MemberStack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("trailwatch member: forwards this account's CloudTrail events, alarm state changes and GuardDuty findings " +
			"to the organization's central bus, and holds the TrailwatchLookup role of its look-ups"),
		Synthesizer:        awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{}),
		AnalyticsReporting: jsii.Bool(false),
	})
	s := &MemberStack{Stack: stack}
	s.CentralBusArn = awscdk.NewCfnParameter(stack, jsii.String(paramCentralBusArn), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Description:    jsii.String("ARN of the central event bus in the home (security) account"),
		AllowedPattern: jsii.String(`^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._-]+$`),
	})
	s.HomeAccountID = awscdk.NewCfnParameter(stack, jsii.String(paramHomeAccountID), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Description:    jsii.String("The home (security) account, where trailwatch's functions run"),
		AllowedPattern: jsii.String(`^\d{12}$`),
	})
	s.LookupPrincipalArns = awscdk.NewCfnParameter(stack, jsii.String(paramLookupPrincipalArns), &awscdk.CfnParameterProps{
		Type:        jsii.String("CommaDelimitedList"),
		Description: jsii.String("ARNs of the central functions' roles, the only principals that may assume TrailwatchLookup"),
	})
	busArn := s.CentralBusArn.ValueAsString()

	s.DeadLetterQueue = newDeadLetterQueue(stack, "DeadLetterQueue")
	fwd := addForwarding(stack, &forwardingProps{
		Detections:      props.Detections,
		Pattern:         props.Pattern,
		BusArn:          busArn,
		To:              "the organization's central bus",
		RoleDescription: "trailwatch: EventBridge forwards matching events to the organization's central bus in the home account",
		DeadLetterQueue: s.DeadLetterQueue,
		RuleName:        func(d *detect.Detection) string { return memberRulePrefix + d.ID },
	})
	s.Rules, s.ForwardRole = fwd.Rules, fwd.Role

	// The fleet alarm of this account and region; its state change reaches
	// the central ec2-cpu-spike rule through that detection's forwarding
	// rule (no alarm action: an alarm cannot notify a topic of another
	// account that trusts the organization).
	s.CPUAlarms = NewCPUAlarms(stack, "CpuAlarms", &CPUAlarmsProps{
		ThresholdPercent: props.CPUThreshold,
		PeriodMinutes:    props.CPUPeriodMinutes,
		Datapoints:       props.CPUDatapoints,
	})

	s.DeadLetters = deadLetterAlarm(stack, s.DeadLetterQueue, jsii.String(memberDeadLettersAlarm),
		"trailwatch could not forward events of this account and region to the central bus: "+
			"they wait in this stack's dead-letter queue. Its state change is forwarded to the central bus, which emails it.")
	pattern, err := patternJSON(memberDeadLettersRule, memberAlarmPattern())
	if err != nil {
		panic(err)
	}
	s.DeadLetterRule = forwardRule(stack, "ForwardDeadLetterAlarm", &awsevents.CfnRuleProps{
		Name:         jsii.String(memberDeadLettersRule),
		Description:  jsii.String("trailwatch forwards the state changes of " + memberDeadLettersAlarm + " to the organization's central bus"),
		EventPattern: pattern,
		State:        jsii.String(ruleEnabled),
	}, busArn, s.ForwardRole, s.DeadLetterQueue)

	// The heartbeat: a scheduled rule (only the default bus runs them)
	// whose target is the central bus, like the forwarding rules', through
	// the same role, retry policy and dead-letter queue. EventBridge's
	// PutTargets lists "an event bus in a different account or Region" among
	// the targets of any rule, and a target bus of an account that trusts
	// the organization needs the target's RoleArn (EventBridge API
	// reference, Target). The event arrives with source aws.events, which
	// PutEvents cannot forge, and names this rule in its resources.
	s.HeartbeatRule = forwardRule(stack, "Heartbeat", &awsevents.CfnRuleProps{
		Name:               jsii.String(heartbeat.RuleName),
		Description:        jsii.String("trailwatch: a heartbeat to the organization's central bus, which alerts when it stops"),
		ScheduleExpression: jsii.String(rateExpression(heartbeat.DefaultPeriod)),
		State:              jsii.String(ruleEnabled),
	}, busArn, s.ForwardRole, s.DeadLetterQueue)

	s.LookupRoleCondition = awscdk.NewCfnCondition(stack, jsii.String("LookupRoleRegion"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(props.LookupRoleRegion)),
	})
	s.LookupRole = newLookupRole(stack, s)
	return s
}

// memberAlarmPattern matches the state changes of a member's dead-letter
// alarm, on the member's default bus and on the central bus.
func memberAlarmPattern() detect.Pattern {
	return detect.Pattern{
		Source:     []any{cwalarm.Source},
		DetailType: []string{cwalarm.DetailType},
		Detail: map[string]any{
			"alarmName": []any{memberDeadLettersAlarm},
			"state":     map[string]any{"value": []any{cwalarm.StateAlarm}},
		},
	}
}

// newLookupRole creates TrailwatchLookup: assumable only by the central
// functions' roles (the home account as principal, their ARNs as the
// condition), holding exactly the functions' look-ups (lookupStatements)
// as an inline policy, so that the region condition covers the role and
// its permissions in one resource.
func newLookupRole(stack awscdk.Stack, s *MemberStack) awsiam.Role {
	doc := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: func() *[]awsiam.PolicyStatement {
		st := lookupStatements(true, true)
		return &st
	}()})
	role := awsiam.NewRole(stack, jsii.String("LookupRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(config.LookupRoleName),
		Description: jsii.String("trailwatch: the central functions' read-only look-ups (bucket exposure, alias, event history, instances, CPU) in this account"),
		AssumedBy: awsiam.NewPrincipalWithConditions(awsiam.NewAccountPrincipal(s.HomeAccountID.ValueAsString()), &map[string]any{
			"ArnEquals": map[string]any{"aws:PrincipalArn": s.LookupPrincipalArns.ValueAsList()},
		}),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
		InlinePolicies:     &map[string]awsiam.PolicyDocument{"Lookups": doc},
	})
	role.Node().DefaultChild().(awsiam.CfnRole).CfnOptions().SetCondition(s.LookupRoleCondition)
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		AppliesTo: &[]any{"Resource::*"},
		Reason: jsii.String("The functions' look-ups: s3:GetAccountPublicAccessBlock, iam:ListAccountAliases, cloudtrail:LookupEvents, ec2:DescribeInstances, " +
			"ec2:DescribeSecurityGroups and cloudwatch:GetMetricData support no resource-level permissions (Service Authorization Reference)."),
	}, {
		Id:        jsii.String("AwsSolutions-IAM5"),
		AppliesTo: &[]any{"Resource::arn:<AWS::Partition>:s3:::*"},
		Reason: jsii.String("s3:GetBucketPolicyStatus, s3:GetBucketPublicAccessBlock and s3:GetBucketAcl are called on the bucket an event names, " +
			"not known at deploy time; they read exposure settings, never objects."),
	}}, jsii.Bool(true))
	return role
}

// MemberTemplate is the member stack synthesized on its own, as the
// StackSet receives it.
type MemberTemplate struct {
	Stack *MemberStack
	// JSON is the template, compact.
	JSON []byte
	// Template is JSON decoded.
	Template map[string]any
	// Messages are the synthesis messages of the member stack, cdk-nag's
	// findings among them; the home stack repeats its errors and warnings.
	Messages []*cxapi.SynthesisMessage
	// Dir holds the cloud assembly and File; the caller removes it.
	Dir  string
	File string
}

// memberStackID is the member stack's ID in its own app.
const memberStackID = "TrailwatchMember"

// NewMemberTemplate synthesizes the member stack in an app of its own,
// under a new folder, with cdk-nag's packs and the context given (nil: what
// the CDK CLI passes every app of the process, cdk.json's feature flags
// among it).
// It is a template for another account, not a stack of the deployment: the
// CDK CLI must never deploy it to the home account.
func NewMemberTemplate(context map[string]any, props *MemberStackProps) (*MemberTemplate, error) {
	dir, err := os.MkdirTemp("", "trailwatch-member-")
	if err != nil {
		return nil, fmt.Errorf("member template: %w", err)
	}
	appProps := &awscdk.AppProps{
		Outdir: jsii.String(filepath.Join(dir, "cdk.out")),
		// Construct paths in the template's metadata would only take
		// bytes from TemplateBody's 51,200.
		PostCliContext: &map[string]any{"aws:cdk:enable-path-metadata": false},
	}
	if context != nil {
		appProps.Context = &context
	}
	app := awscdk.NewApp(appProps)
	stack := NewMemberStack(app, memberStackID, props)
	addNagChecks(app)
	assembly := app.Synth(nil)
	artifact := assembly.GetStackArtifact(stack.ArtifactId())
	m := &MemberTemplate{Stack: stack, Dir: dir}
	if msgs := artifact.Messages(); msgs != nil {
		m.Messages = *msgs
	}
	raw, err := os.ReadFile(filepath.Join(*assembly.Directory(), *artifact.TemplateFile()))
	if err != nil {
		return nil, fmt.Errorf("member template: %w", err)
	}
	if err := json.Unmarshal(raw, &m.Template); err != nil {
		return nil, fmt.Errorf("member template: %w", err)
	}
	if m.JSON, err = json.Marshal(m.Template); err != nil {
		return nil, fmt.Errorf("member template: %w", err)
	}
	m.File = filepath.Join(dir, "member.template.json")
	if err := os.WriteFile(m.File, m.JSON, 0o644); err != nil {
		return nil, fmt.Errorf("member template: %w", err)
	}
	return m, nil
}

// lookupRoleRegion picks the region whose member stack instances create
// the TrailwatchLookup role: the home region when members are watched
// there, else us-east-1, else the first member region.
func lookupRoleRegion(home string, regions []string) string {
	for _, want := range []string{home, "us-east-1"} {
		for _, r := range regions {
			if want != "" && r == want {
				return r
			}
		}
	}
	if len(regions) > 0 {
		return regions[0]
	}
	return home
}
