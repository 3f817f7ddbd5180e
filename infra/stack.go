package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
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
	// Member is the member template (NewMemberTemplate), required in
	// organization mode.
	Member *MemberTemplate
}

// TrailwatchStack is everything trailwatch deploys into one account and
// region.
type TrailwatchStack struct {
	awscdk.Stack
	// Trail is nil when Config.ExistingTrail names a trail to rely on.
	Trail         *Trail
	Notifications *Notifications
	// Routes are organization mode's routes with the topics made for them.
	Routes []RouteChannels
	// SigmaRules is the layer of the user's Sigma rules, nil without.
	SigmaRules awslambda.LayerVersion
	Function   *AlertFunction
	// Instance handles CPU alarms and GuardDuty findings.
	Instance *AlertFunction
	// Digest sends storm digests on a schedule.
	Digest     *AlertFunction
	StateTable awsdynamodb.Table
	// DigestSchedule invokes the digest function every storm window.
	DigestSchedule awsevents.CfnRule
	Rules          *DetectionRules
	Alarms         *Alarms
	CPUAlarms      *CPUAlarms
	// Settings are what the functions decide with; the rules' patterns
	// are narrowed to them.
	Settings config.Settings
	// Organization is set in organization mode: the central bus, its
	// rules and the member StackSet.
	Organization *Organization
	// Scan is the distributed scan over an archive, nil unless
	// trailwatch:scanArchive is set.
	Scan *Scan
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
			TrailName:      strings.ToLower(*stack.StackName()),
			RetentionDays:  cfg.RetentionDays,
			ObjectLockMode: cfg.ObjectLock(),
		})
		output(stack, "TrailArn", s.Trail.TrailArn, "ARN of the trail trailwatch created")
	} else {
		output(stack, "ExistingTrail", jsii.String(cfg.ExistingTrail),
			"Trail that must keep recording management events for the detection rules to see them")
	}

	s.Notifications = NewNotifications(stack, "Notifications", &NotificationsProps{Emails: cfg.Emails})
	s.StateTable = NewStateTable(stack, "State")
	var routes []RouteChannels
	for _, r := range cfg.Routes {
		rc := RouteChannels{Route: r}
		if len(r.Emails) > 0 {
			rc.Topic = s.Notifications.NewRouteTopic(r.Name, r.Emails)
		}
		routes = append(routes, rc)
	}
	s.Routes = routes
	settings := s.ownSettings(cfg)
	s.Settings = settings
	if cfg.SigmaRules != "" {
		// The user's Sigma rules, as the synth loaded them, for the
		// functions that decide CloudTrail events and send their digests.
		s.SigmaRules = awslambda.NewLayerVersion(stack, jsii.String("SigmaRules"), &awslambda.LayerVersionProps{
			Code:                    awslambda.Code_FromAsset(jsii.String(cfg.SigmaRules), nil),
			Description:             jsii.String("trailwatch: the Sigma rules of trailwatch:sigmaRules"),
			CompatibleArchitectures: &[]awslambda.Architecture{awslambda.Architecture_ARM_64()},
		})
	}
	s.Function = NewAlertFunction(stack, "CloudTrailFunction", &AlertFunctionProps{
		CodeDir:            filepath.Join(props.FunctionsDir, "cloudtrail"),
		Description:        "trailwatch: turns dangerous CloudTrail events into Slack and email alerts",
		SigmaRules:         s.SigmaRules,
		Lookups:            true,
		SlackSecretName:    cfg.SlackSecretName,
		Settings:           settings,
		Topic:              s.Notifications.Topic,
		DeadLetterQueue:    s.Notifications.DeadLetterQueue,
		StateTable:         s.StateTable,
		StormWindowMinutes: cfg.StormWindowMinutes,
		OrganizationID:     cfg.OrganizationID,
		Routes:             routes,
	})
	s.Digest = NewAlertFunction(stack, "DigestFunction", &AlertFunctionProps{
		CodeDir:            filepath.Join(props.FunctionsDir, "digest"),
		Description:        "trailwatch: sends one digest per storm window of held-back repeats",
		SigmaRules:         s.SigmaRules,
		SlackSecretName:    cfg.SlackSecretName,
		Settings:           settings,
		Topic:              s.Notifications.Topic,
		DeadLetterQueue:    s.Notifications.DeadLetterQueue,
		StateTable:         s.StateTable,
		Scan:               true,
		StormWindowMinutes: cfg.StormWindowMinutes,
		OrganizationID:     cfg.OrganizationID,
		Routes:             routes,
	})
	s.Instance = NewAlertFunction(stack, "InstanceFunction", &AlertFunctionProps{
		CodeDir:            filepath.Join(props.FunctionsDir, "instance"),
		Description:        "trailwatch: turns CPU alarms and GuardDuty mining findings into alerts that name the instance",
		InstanceLookups:    true,
		SlackSecretName:    cfg.SlackSecretName,
		Settings:           settings,
		Topic:              s.Notifications.Topic,
		DeadLetterQueue:    s.Notifications.DeadLetterQueue,
		StateTable:         s.StateTable,
		StormWindowMinutes: cfg.StormWindowMinutes,
		OrganizationID:     cfg.OrganizationID,
		Routes:             routes,
	})
	s.CPUAlarms = NewCPUAlarms(stack, "CpuAlarms", &CPUAlarmsProps{
		ThresholdPercent: cfg.CPUThreshold,
		PeriodMinutes:    cfg.CPUPeriodMinutes,
		Datapoints:       cfg.CPUDatapoints,
		Instances:        cfg.CPUAlarmInstances,
		Groups:           cfg.CPUAlarmGroups,
	})
	s.DigestSchedule = newSchedule(stack, "DigestSchedule", s.Digest.Function, s.Notifications.DeadLetterQueue, cfg.StormWindowMinutes)
	// The rules use the patterns under the deployment's settings (the
	// alarm names and states to report), as the functions' matchers do.
	catalog, err := props.Catalog.WithEnv(settings.Env)
	if err != nil {
		panic(err)
	}
	s.Rules = NewDetectionRules(stack, "Detections", &DetectionRulesProps{
		Detections:       catalog.All(),
		Function:         s.Function.Function,
		InstanceFunction: s.Instance.Function,
		Pattern:          catalog.PatternOf,
		DeadLetterQueue:  s.Notifications.DeadLetterQueue,
	})
	if cfg.Organization() {
		s.Organization = s.newOrganization(cfg, props.Member, catalog)
	}
	s.Alarms = NewAlarms(stack, "Alarms", &AlarmsProps{
		Topic:           s.Notifications.Topic,
		DeadLetterQueue: s.Notifications.DeadLetterQueue,
		Function:        s.Function.Function,
		Digest:          s.Digest.Function,
		Instance:        s.Instance.Function,
	})

	if bucket, prefix, trail, ok := cfg.ScanSource(); ok {
		s.Scan = s.newScan(cfg, bucket, prefix, trail, filepath.Join(props.FunctionsDir, "scan"))
	}

	if cfg.SlackSecretName == "" {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("trailwatch:noSlack"), jsii.String(
			"no Slack delivery: set trailwatch:slackSecretName to the name of a Secrets Manager secret holding the webhook URL"))
	}

	output(stack, "TopicArn", s.Notifications.Topic.TopicArn(), "SNS topic for email alerts and trailwatch's own alarms")
	output(stack, "DeadLetterQueueUrl", s.Notifications.DeadLetterQueue.QueueUrl(), "Events trailwatch could not deliver")
	output(stack, "FunctionName", s.Function.Function.FunctionName(), "The CloudTrail function")
	output(stack, "InstanceFunctionName", s.Instance.Function.FunctionName(), "The function for CPU alarms and GuardDuty findings")
	output(stack, "StateTableName", s.StateTable.TableName(), "Delivery claims and storm windows")
	if s.Organization != nil {
		output(stack, "OrganizationBusArn", s.Organization.Bus.EventBusArn(), "Central event bus the member accounts forward to")
		output(stack, "MemberStackSetName", s.Organization.StackSet.StackSetName(), "StackSet that deploys the member stacks")
	}
	if s.Scan != nil {
		output(stack, "ScanStateMachineArn", s.Scan.StateMachine.StateMachineArn(), "State machine of the distributed scan (trailwatch scan --remote --state-machine)")
		output(stack, "ScanResultsBucketName", s.Scan.ResultsBucket.BucketName(), "Bucket of the distributed scan's findings and summaries")
	}
	return s
}

// newOrganization adds organization mode: the central bus and its rules,
// and the StackSet of the member template, in the member regions of this
// stack's region.
func (s *TrailwatchStack) newOrganization(cfg config.Config, member *MemberTemplate, catalog *detect.Catalog) *Organization {
	home := ""
	if r := s.Region(); !*awscdk.Token_IsUnresolved(r) {
		home = *r
	}
	regions := cfg.MemberRegionsFor(home)
	o := NewOrganization(s.Stack, "Organization", &OrganizationProps{
		Config:           cfg,
		Regions:          regions,
		Detections:       catalog.All(),
		Pattern:          catalog.PatternOf,
		Function:         s.Function.Function,
		InstanceFunction: s.Instance.Function,
		LookupRoles:      []awsiam.IRole{s.Function.Role, s.Instance.Role},
		Topic:            s.Notifications.Topic,
		TopicKey:         s.Notifications.TopicKey,
		DeadLetterQueue:  s.Notifications.DeadLetterQueue,
		Member:           member,
	})
	o.Heartbeats = NewHeartbeats(o.Construct, "Heartbeats", &HeartbeatsProps{
		Config:          cfg,
		Regions:         regions,
		Bus:             o.Bus,
		Digest:          s.Digest.Function,
		DigestRole:      s.Digest.Role,
		DeadLetterQueue: s.Notifications.DeadLetterQueue,
	})
	for _, m := range nagFindingMessages(member) {
		awscdk.Annotations_Of(o.StackSet).AddError(jsii.String("member template: " + m))
	}
	if !slices.Contains(regions, "us-east-1") {
		awscdk.Annotations_Of(o.StackSet).AddWarningV2(jsii.String("trailwatch:memberRegionsWithoutUsEast1"), jsii.String(
			config.KeyMemberRegions+" leaves out us-east-1: IAM, STS, sign-in and Organizations events of the member accounts reach EventBridge only there, "+
				"so their detections will not see them"))
	}
	if home == "" && len(cfg.MemberRegions) == 0 {
		awscdk.Annotations_Of(o.StackSet).AddWarningV2(jsii.String("trailwatch:memberRegionsUnknownHome"), jsii.String(
			"the deployment region is unknown at synth, so member accounts are watched in us-east-1 only: set "+config.KeyMemberRegions+" or synthesize with a region"))
	}
	return o
}

// newScan adds the distributed scan over the archive: the trail's bucket
// (trail), whose log files the trail's key encrypts and whose access-log
// bucket takes the results bucket's logs too, or the named bucket.
func (s *TrailwatchStack) newScan(cfg config.Config, bucket, prefix string, trail bool, codeDir string) *Scan {
	props := &ScanProps{
		Prefix:           prefix,
		CodeDir:          codeDir,
		Settings:         s.Settings,
		MaxConcurrency:   cfg.ScanMaxConcurrency,
		StateMachineName: scanStateMachineName(*s.StackName()),
	}
	if trail {
		props.Archive = s.Trail.Bucket
		props.ArchiveKey = s.Trail.Key
		props.AccessLogs = s.Trail.AccessLogBucket
	} else {
		props.Archive = awss3.Bucket_FromBucketName(s.Stack, jsii.String("ScanArchive"), jsii.String(bucket))
		if cfg.ScanArchiveKey != "" {
			props.ArchiveKey = awskms.Key_FromKeyArn(s.Stack, jsii.String("ScanArchiveKey"), jsii.String(cfg.ScanArchiveKey))
		}
	}
	return NewScan(s.Stack, "Scan", props)
}

// maxStateMachineName is Step Functions' limit on a state machine's name.
const maxStateMachineName = 80

// scanStateMachineName is the distributed scan's state machine name:
// STACK-scan, or for a stack name too long for that (CloudFormation allows
// 128 characters), its first characters and a hash of the whole name, so
// that two long stack names sharing a beginning still differ.
func scanStateMachineName(stack string) string {
	const suffix = "-scan"
	if len(stack)+len(suffix) <= maxStateMachineName {
		return stack + suffix
	}
	sum := sha256.Sum256([]byte(stack))
	hash := hex.EncodeToString(sum[:4])
	return stack[:maxStateMachineName-len(suffix)-len(hash)-1] + "-" + hash + suffix
}

// ownSettings are the configuration's detection settings plus what names
// trailwatch's own resources, for the detections of tampering with them:
// the prefixes CloudFormation and the detection rules start this stack's
// and the forwarder stacks' names with, and the names of the topic, the
// dead-letter queue, the state table (resolved at deploy time) and the Slack
// secret. The functions are known by the prefix alone: a function's own
// name in its environment would be a circular dependency.
func (s *TrailwatchStack) ownSettings(cfg config.Config) config.Settings {
	settings := cfg.Settings()
	if s.Trail != nil {
		// The trail's own bucket: shortening its lifecycle is tampering
		// with the trail (cloudtrail-bucket-retention-shortened).
		settings.Env.TrailBuckets = append([]string{*s.Trail.Bucket.BucketName()}, settings.Env.TrailBuckets...)
	}
	settings.Env.OwnPrefixes = []string{*s.StackName() + "-", forwarderStackID("")}
	if cfg.Organization() {
		settings.Env.OwnPrefixes = append(settings.Env.OwnPrefixes, memberRulePrefix)
	}
	settings.Env.OwnNames = []string{
		*s.Notifications.Topic.TopicName(),
		*s.Notifications.DeadLetterQueue.QueueName(),
		*s.StateTable.TableName(),
	}
	if cfg.SlackSecretName != "" {
		settings.Env.OwnNames = append(settings.Env.OwnNames, cfg.SlackSecretName)
	}
	// Routes' channels are trailwatch's delivery too.
	for _, rc := range s.Routes {
		if rc.Topic != nil {
			settings.Env.OwnNames = append(settings.Env.OwnNames, *rc.Topic.TopicName())
		}
		if n := rc.Route.SlackSecretName; n != "" && !slices.Contains(settings.Env.OwnNames, n) {
			settings.Env.OwnNames = append(settings.Env.OwnNames, n)
		}
	}
	return settings
}

// newSchedule invokes fn every `minutes` minutes, with the same retry
// policy and dead-letter queue as the detection rules.
func newSchedule(stack awscdk.Stack, id string, fn awslambda.IFunction, dlq awssqs.IQueue, minutes int) awsevents.CfnRule {
	unit := "minutes"
	if minutes == 1 {
		unit = "minute"
	}
	rule := awsevents.NewCfnRule(stack, jsii.String(id), &awsevents.CfnRuleProps{
		Description:        jsii.String("trailwatch: send digests of closed storm windows"),
		ScheduleExpression: jsii.String(fmt.Sprintf("rate(%d %s)", minutes, unit)),
		State:              jsii.String(ruleEnabled),
		Targets: []any{&awsevents.CfnRule_TargetProperty{
			Id:  jsii.String("Digest"),
			Arn: fn.FunctionArn(),
			RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
				MaximumEventAgeInSeconds: jsii.Number(targetMaxEventAgeSeconds),
				MaximumRetryAttempts:     jsii.Number(targetMaxRetryAttempts),
			},
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: dlq.QueueArn()},
		}},
	})
	fn.AddPermission(jsii.String("InvokeByDigestSchedule"), &awslambda.Permission{
		Principal: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		SourceArn: rule.AttrArn(),
	})
	dlq.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowDigestScheduleToDeadLetter"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{dlq.QueueArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rule.AttrArn()}},
	}))
	return rule
}

func (p *TrailwatchStackProps) validate() error {
	var errs []error
	if p.Catalog == nil {
		errs = append(errs, errors.New("trailwatch stack: Catalog is required"))
	}
	if p.FunctionsDir == "" {
		errs = append(errs, errors.New("trailwatch stack: FunctionsDir is required"))
	}
	if p.Config.Organization() && p.Member == nil {
		errs = append(errs, errors.New("trailwatch stack: organization mode needs the member template (Member)"))
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
