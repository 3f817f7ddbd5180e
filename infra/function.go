package main

import (
	"slices"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/route"
)

// Settings of the CloudTrail function.
const (
	functionMemoryMB       = 128
	functionTimeoutSeconds = 60
	// functionRetryAttempts is how often Lambda retries a failed
	// asynchronous invocation before handing it to the on-failure
	// destination.
	functionRetryAttempts = 2
	functionLogRetention  = awslogs.RetentionDays_ONE_YEAR
	// functionGOGC lets the Go heap grow to five times what stays live (a
	// few MB: the detection catalog and the AWS clients) between
	// collections, instead of twice: the collector then runs a quarter as
	// often, which docs/performance.md's benchmarks measure. GOMEMLIMIT, at three
	// quarters of the function's memory, makes it collect harder before
	// Lambda's limit is near.
	functionGOGC = 400
	// functionGOMAXPROCS is 1: Lambda gives a function CPU in proportion
	// to its memory, a vCPU at 1,769 MB, so at 128 MB it has a small share
	// of one, while the runtime sees two vCPUs and would otherwise run
	// two Ps. A second P adds only thread hand-offs (futex wake-ups when
	// a delivery goroutine starts and ends) and collector work competing
	// for the same share; concurrent sends to Slack and SNS wait on the
	// network, which one P serves as well.
	functionGOMAXPROCS = 1
)

// AlertFunctionProps configures NewAlertFunction.
type AlertFunctionProps struct {
	// CodeDir holds the function's bootstrap executable (built by
	// scripts/build-functions); it becomes the code asset as it is.
	CodeDir string
	// SlackSecretName names the Secrets Manager secret with the Slack
	// webhook URL; empty means no Slack delivery and no secret access.
	SlackSecretName string
	// Topic receives email alerts; the function may publish to it.
	Topic awssns.ITopic
	// DeadLetterQueue is the on-failure destination of the function's
	// asynchronous invocations.
	DeadLetterQueue awssqs.IQueue
	// Settings are the detection settings and allow-lists the function
	// decides with.
	Settings config.Settings
	// Description says what the function is for.
	Description string
	// Lookups grants the enrichment look-ups (bucket exposure, account
	// alias, event history): the CloudTrail function needs them, the digest
	// function does not.
	Lookups bool
	// InstanceLookups grants what alerts about EC2 instances look up: the
	// instances and their security groups, their CPU, who launched them,
	// the account alias.
	InstanceLookups bool
	// StateTable holds delivery claims and storm windows; Scan lets the
	// function list windows due for a digest.
	StateTable awsdynamodb.ITable
	Scan       bool
	// StormWindowMinutes is the storm window.
	StormWindowMinutes int
	// OrganizationID is set in organization mode: the function is told the
	// organization and the look-up role's name, and a function with
	// look-ups may assume that role in the organization's accounts and read
	// account names and OUs from Organizations.
	OrganizationID string
	// Routes are organization mode's routes with their channels: the
	// function may read each route's Slack secret and publish to its topic.
	Routes []RouteChannels
	// SigmaRules is a layer holding the user's Sigma rules
	// (trailwatch:sigmaRules), which the function decides beside the
	// built-in detections; nil for none.
	SigmaRules awslambda.ILayerVersion
}

// sigmaBuildSuffix names the folder of a function's build with the Sigma
// evaluator beside its default one (scripts/build-functions).
const sigmaBuildSuffix = "-sigma"

// sigmaRulesPath is where Lambda puts a layer's files: the function reads
// the Sigma rules from there.
const sigmaRulesPath = "/opt"

// RouteChannels is a route (internal/route) and the topic the stack made
// for its emails (nil when it has none).
type RouteChannels struct {
	Route route.Route
	Topic awssns.ITopic
}

// AlertFunction is one of trailwatch's Lambda functions with its own role,
// which holds exactly what the function calls, and its own log group.
type AlertFunction struct {
	constructs.Construct
	Function awslambda.Function
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
}

// NewAlertFunction creates a function, its role and its log group.
func NewAlertFunction(scope constructs.Construct, id string, props *AlertFunctionProps) *AlertFunction {
	this := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(this)

	logGroup := awslogs.NewLogGroup(this, jsii.String("LogGroup"), &awslogs.LogGroupProps{
		Retention:     functionLogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	// The role is made here rather than by awslambda.Function so that no
	// AWS managed policy (AWSLambdaBasicExecutionRole) is attached: the
	// function may write only to its own log group.
	role := awsiam.NewRole(this, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(props.Description),
	})
	logGroup.GrantWrite(role)

	for _, st := range lookupStatements(props.Lookups, props.InstanceLookups) {
		role.AddToPrincipalPolicy(st)
	}
	if props.OrganizationID != "" {
		// Every alerting function places accounts (routes by OU, digests
		// follow them); those with look-ups also run them in members.
		for _, st := range organizationStatements(props.OrganizationID, props.Lookups || props.InstanceLookups) {
			role.AddToPrincipalPolicy(st)
		}
	}
	if props.StateTable != nil {
		actions := []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
		if props.Scan {
			actions = append(actions, "dynamodb:Scan")
		}
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("DeliveryStateTable"),
			Actions:   jsii.Strings(actions...),
			Resources: &[]*string{props.StateTable.TableArn()},
		}))
	}
	// sns:Publish on the topics, kms:GenerateDataKey*/kms:Decrypt on their
	// key; GetSecretValue on the Slack webhooks.
	props.Topic.GrantPublish(role)
	secrets := []string{}
	if props.SlackSecretName != "" {
		secrets = append(secrets, props.SlackSecretName)
	}
	runtimeRoutes := make(route.Table, 0, len(props.Routes))
	for _, rc := range props.Routes {
		r := rc.Route
		r.Emails = nil // the topic's subscriptions; no address in the environment
		if rc.Topic != nil {
			rc.Topic.GrantPublish(role)
			r.TopicARN = *rc.Topic.TopicArn()
		}
		if r.SlackSecretName != "" && !slices.Contains(secrets, r.SlackSecretName) {
			secrets = append(secrets, r.SlackSecretName)
		}
		runtimeRoutes = append(runtimeRoutes, r)
	}
	if len(secrets) > 0 {
		arns := make([]*string, len(secrets))
		for i, name := range secrets {
			// Secrets Manager appends a dash and six random characters
			// to the name; "??????" matches exactly those.
			arns[i] = stack.FormatArn(&awscdk.ArnComponents{
				Service:      jsii.String("secretsmanager"),
				Resource:     jsii.String("secret"),
				ResourceName: jsii.String(name + "-??????"),
				ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
			})
		}
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadSlackWebhook"),
			Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
			Resources: &arns,
		}))
	}

	rt := config.Runtime{SlackSecretName: props.SlackSecretName, TopicARN: *props.Topic.TopicArn(), Settings: props.Settings,
		StormWindowMinutes: props.StormWindowMinutes}
	if props.OrganizationID != "" {
		rt.OrganizationID = props.OrganizationID
		rt.LookupRole = config.LookupRoleName
	}
	if len(runtimeRoutes) > 0 {
		rt.Routes = runtimeRoutes
	}
	var layers *[]awslambda.ILayerVersion
	codeDir := props.CodeDir
	if props.SigmaRules != nil {
		rt.SigmaRules = sigmaRulesPath
		layers = &[]awslambda.ILayerVersion{props.SigmaRules}
		// The build with the Sigma evaluator; the default one leaves it
		// out, and its package initialization with it, from every cold
		// start (internal/usercatalog, scripts/build-functions).
		codeDir += sigmaBuildSuffix
	}
	if props.StateTable != nil {
		rt.StateTable = *props.StateTable.TableName()
	}
	env, err := rt.Env()
	if err != nil {
		badConfig("%v", err)
	}
	environment := make(map[string]*string, len(env)+3)
	for k, v := range env {
		environment[k] = jsii.String(v)
	}
	environment["GOGC"] = jsii.String(strconv.Itoa(functionGOGC))
	environment["GOMEMLIMIT"] = jsii.String(strconv.Itoa(functionMemoryMB*3/4) + "MiB")
	environment["GOMAXPROCS"] = jsii.String(strconv.Itoa(functionGOMAXPROCS))

	fn := awslambda.NewFunction(this, jsii.String("Function"), &awslambda.FunctionProps{
		Description:   jsii.String(props.Description),
		Code:          awslambda.Code_FromAsset(jsii.String(codeDir), nil),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		MemorySize:    jsii.Number(functionMemoryMB),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(functionTimeoutSeconds)),
		Role:          role,
		Environment:   &environment,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE,
		LogGroup:      logGroup,
		RetryAttempts: jsii.Number(functionRetryAttempts),
		OnFailure:     awslambdadestinations.NewSqsDestination(props.DeadLetterQueue),
		Layers:        layers,
	})

	cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("Serverless-LambdaDLQ"),
		Reason: jsii.String("Failed asynchronous invocations go to the on-failure destination (the dead-letter queue; Serverless-LambdaAsyncFailureDestination checks it), " +
			"whose invocation record carries the error and the request context that trailwatch redrive reads. A DeadLetterConfig would be a second, poorer path " +
			"(the event alone) into the same queue."),
	}}, jsii.Bool(false))

	suppressions := []*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		AppliesTo: &[]any{"Action::kms:GenerateDataKey*"},
		Reason:    jsii.String("Publishing to a KMS-encrypted SNS topic needs kms:GenerateDataKey* on the topic's key (SNS developer guide); the resource is that one key."),
	}, {
		Id:        jsii.String("AwsSolutions-IAM5"),
		AppliesTo: &[]any{"Resource::*"},
		Reason:    jsii.String("Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (Service Authorization Reference); lookups add s3:GetAccountPublicAccessBlock, iam:ListAccountAliases and cloudtrail:LookupEvents, and instance lookups ec2:DescribeInstances, ec2:DescribeSecurityGroups and cloudwatch:GetMetricData, which support none either."),
	}}
	if props.Lookups {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM5"),
			AppliesTo: &[]any{"Resource::arn:<AWS::Partition>:s3:::*"},
			Reason: jsii.String("s3:GetBucketPolicyStatus, s3:GetBucketPublicAccessBlock and s3:GetBucketAcl are called on the bucket an event names; " +
				"those buckets are not known at deploy time. The actions only read exposure settings, never objects."),
		})
	}
	if props.OrganizationID != "" {
		partition := "arn:<AWS::Partition>:"
		if props.Lookups || props.InstanceLookups {
			suppressions = append(suppressions, &cdknag.NagPackSuppression{
				Id:        jsii.String("AwsSolutions-IAM5"),
				AppliesTo: &[]any{"Resource::" + partition + "iam::*:role/" + config.LookupRoleName},
				Reason: jsii.String("sts:AssumeRole of the TrailwatchLookup role in whichever member account an event comes from; accounts join the organization after " +
					"deployment, so they cannot be listed. The aws:ResourceOrgID condition limits it to roles of this organization."),
			})
		}
		suppressions = append(suppressions, &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-IAM5"),
			AppliesTo: &[]any{"Resource::" + partition + "organizations::*:account/" + props.OrganizationID + "/*",
				"Resource::" + partition + "organizations::*:ou/" + props.OrganizationID + "/*"},
			Reason: jsii.String("organizations:DescribeAccount, organizations:ListParents and organizations:DescribeOrganizationalUnit name the account of an event and its OUs " +
				"(alerts print them, routes decide by them); the accounts and OUs are not known at deployment, and the management account's ID in their ARNs is not either. The organization ID pins the organization."),
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &suppressions, jsii.Bool(true))

	return &AlertFunction{Construct: this, Function: fn, Role: role, LogGroup: logGroup}
}

// lookupStatements are the read-only calls enrichment makes in an event's
// account. The functions' roles hold them for their own account, and the
// member accounts' TrailwatchLookup role holds the union of both sets, so
// a look-up that works at home works in a member account, and nothing more.
// lookups: bucket exposure, account alias, event history (the CloudTrail
// function); instance: instances, security groups, CPU, who launched them,
// the alias (the instance function).
func lookupStatements(lookups, instance bool) []awsiam.PolicyStatement {
	var out []awsiam.PolicyStatement
	if lookups {
		// Enrichment looks at the bucket an event names, which can be any
		// bucket of the account.
		out = append(out, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadBucketExposure"),
			Actions:   jsii.Strings("s3:GetBucketPolicyStatus", "s3:GetBucketPublicAccessBlock", "s3:GetBucketAcl"),
			Resources: &[]*string{jsii.String("arn:" + *awscdk.Aws_PARTITION() + ":s3:::*")},
		}), awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ReadAccountSettings"),
			// cloudtrail:LookupEvents finds the Block Public Access settings a
			// change replaced, in the account's event history.
			Actions:   jsii.Strings("s3:GetAccountPublicAccessBlock", "iam:ListAccountAliases", "cloudtrail:LookupEvents"),
			Resources: jsii.Strings("*"),
		}))
	}
	if instance {
		out = append(out, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("DescribeInstances"),
			Actions: jsii.Strings("ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "cloudwatch:GetMetricData",
				"cloudtrail:LookupEvents", "iam:ListAccountAliases"),
			Resources: jsii.Strings("*"),
		}))
	}
	return out
}

// organizationStatements let a function with look-ups run them in another
// account of the organization, through that account's TrailwatchLookup
// role (aws:ResourceOrgID keeps it to roles of this organization, whatever
// account ID an event claims), and name the account and its OUs: the
// Organizations read calls work from the management account and from any
// delegated administrator, which is where organization mode is deployed.
func organizationStatements(organizationID string, assume bool) []awsiam.PolicyStatement {
	partition := *awscdk.Aws_PARTITION()
	orgArn := func(resource string) *string {
		// The management account's ID is not known at synth; the
		// organization ID in the path pins the organization.
		return jsii.String("arn:" + partition + ":organizations::*:" + resource + "/" + organizationID + "/*")
	}
	out := []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("NameAccountsAndUnits"),
		Actions:   jsii.Strings("organizations:DescribeAccount", "organizations:ListParents", "organizations:DescribeOrganizationalUnit"),
		Resources: &[]*string{orgArn("account"), orgArn("ou")},
	})}
	if assume {
		out = append(out, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AssumeLookupRoleInOrganization"),
			Actions:    jsii.Strings("sts:AssumeRole"),
			Resources:  &[]*string{jsii.String("arn:" + partition + ":iam::*:role/" + config.LookupRoleName)},
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": organizationID}},
		}))
	}
	return out
}
