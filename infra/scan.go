package main

import (
	"encoding/json"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/trailwatch/trailwatch/internal/config"
)

// Settings of the distributed scan (docs/scan.md).
const (
	// scanMemoryMB is one full vCPU (Lambda gives 1 vCPU at 1,769 MB):
	// a child decompresses and decides records, which is CPU-bound.
	scanMemoryMB = 1769
	// scanTimeoutMinutes is Lambda's maximum: a child must finish its
	// batch within it.
	scanTimeoutMinutes = 15
	// scanBatchObjects is how many archive objects one child reads.
	// CloudTrail writes a file about every 5 minutes per account and
	// region, mostly well under 1 MB compressed, so 100 fit in a child's
	// 15 minutes with room to spare.
	scanBatchObjects = 100
	// scanBatchBytes keeps a child's input (the object list and the
	// BatchInput) within Step Functions' 256 KB payload limit.
	scanBatchBytes = 200 * 1024
	// scanResultsDays is how long findings and summaries are kept: the
	// archive stays, so a scan can be run again.
	scanResultsDays = 90
	// scanResultsPrefix is where the function writes; scanMapRunsPrefix,
	// under it, where the Distributed Map writes its children's results.
	scanResultsPrefix = "scans/"
	scanMapRunsPrefix = scanResultsPrefix + "map-runs/"
)

// ScanProps configures NewScan.
type ScanProps struct {
	// Archive is the bucket the scan reads, Prefix the part of it the
	// state machine may list and the function may read ("" for all).
	Archive awss3.IBucket
	Prefix  string
	// ArchiveKey, when set, encrypts the archive's objects (the trail's
	// key, or trailwatch:scanArchiveKey's): the function may decrypt with
	// it.
	ArchiveKey awskms.IKey
	// AccessLogs receives the results bucket's server access logs; nil
	// leaves them off (see NewScan).
	AccessLogs     awss3.IBucket
	CodeDir        string
	Settings       config.Settings
	MaxConcurrency int
	// StateMachineName is the state machine's physical name: its role's
	// statements on its own (child) executions name it, which a generated
	// name would make a dependency cycle.
	StateMachineName string
}

// Scan is the distributed scan: a Step Functions state machine whose
// Distributed Map hands batches of the archive's objects to the scan
// function, which writes findings to an encrypted results bucket.
type Scan struct {
	constructs.Construct
	StateMachine  awsstepfunctions.StateMachine
	Role          awsiam.Role
	Function      awslambda.Function
	FunctionRole  awsiam.Role
	ResultsBucket awss3.Bucket
	ResultsKey    awskms.Key
}

// NewScan creates the results bucket and its key, the scan function and
// the state machine, each role holding only what it calls.
func NewScan(scope constructs.Construct, id string, props *ScanProps) *Scan {
	this := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(this)

	key := awskms.NewKey(this, jsii.String("ResultsKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the findings and summaries of trailwatch's distributed scan"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	// Not versioned: every result is derived from the archive and a
	// retried child overwrites its own files on purpose; old versions would
	// only cost storage, and a lost result is made again by scanning again.
	bucketProps := &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Encryption:        awss3.BucketEncryption_KMS,
		EncryptionKey:     key,
		// One data key per object prefix and hour instead of a KMS call
		// per object: thousands of children write files.
		BucketKeyEnabled: jsii.Bool(true),
		RemovalPolicy:    awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireResults"),
			Enabled:                             jsii.Bool(true),
			Expiration:                          awscdk.Duration_Days(jsii.Number(scanResultsDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		}},
	}
	if props.AccessLogs != nil {
		bucketProps.ServerAccessLogsBucket = props.AccessLogs
		bucketProps.ServerAccessLogsPrefix = jsii.String("ScanResults/")
	}
	results := awss3.NewBucket(this, jsii.String("Results"), bucketProps)
	if props.AccessLogs == nil {
		cdknag.NagSuppressions_AddResourceSuppressions(results, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-S1"),
			Reason: jsii.String("With an existing trail trailwatch creates no access-log bucket (the trail's own buckets log to one); the results bucket holds only what the scan derived from the archive, " +
				"its writes are the scan function's, recorded in CloudTrail data events if the account enables them, and a bucket of its own for access logs would cost more than the results."),
		}}, jsii.Bool(true))
	}

	archiveObjects := props.Archive.ArnForObjects(jsii.String(props.Prefix + "*"))
	fn, fnRole := newScanFunction(this, props, results, key, archiveObjects)

	// The state machine's role gets only the statements below: the role
	// CDK sees cannot be updated, so the grants of the Distributed Map's
	// reader and writer (s3:ListBucket on the whole bucket, s3:PutObject on
	// all of it) and of LambdaInvoke (every version) are not added.
	role := awsiam.NewRole(this, jsii.String("StateMachineRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
		Description: jsii.String("trailwatch: the distributed scan's state machine"),
	})
	list := &awsiam.PolicyStatementProps{
		Sid:       jsii.String("ListArchive"),
		Actions:   jsii.Strings("s3:ListBucket"),
		Resources: &[]*string{props.Archive.BucketArn()},
	}
	if props.Prefix != "" {
		// The execution's prefix comes from whoever starts it: listing
		// stays within the configured part of the archive.
		list.Conditions = &map[string]any{"StringLike": map[string]any{"s3:prefix": props.Prefix + "*"}}
	}
	stateMachineArn := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("stateMachine"),
		ResourceName: jsii.String(props.StateMachineName), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	executions := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("execution"),
		ResourceName: jsii.String(props.StateMachineName + ":*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	for _, st := range []*awsiam.PolicyStatementProps{list, {
		Sid:       jsii.String("InvokeScanFunction"),
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{fn.FunctionArn()},
	}, {
		Sid:       jsii.String("WriteMapRunResults"),
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: &[]*string{results.ArnForObjects(jsii.String(scanMapRunsPrefix + "*"))},
	}, {
		Sid:       jsii.String("EncryptMapRunResults"),
		Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources: &[]*string{key.KeyArn()},
	}, {
		// The Distributed Map runs its children as executions of this
		// state machine.
		Sid:       jsii.String("RunChildExecutions"),
		Actions:   jsii.Strings("states:StartExecution"),
		Resources: &[]*string{stateMachineArn},
	}, {
		Sid:       jsii.String("FollowChildExecutions"),
		Actions:   jsii.Strings("states:DescribeExecution", "states:StopExecution"),
		Resources: &[]*string{executions},
	}, {
		// Log delivery to CloudWatch Logs and X-Ray support no
		// resource-level permissions (Step Functions developer guide).
		Sid: jsii.String("DeliverLogsAndTraces"),
		Actions: jsii.Strings("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
			"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
			"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"),
		Resources: jsii.Strings("*"),
	}} {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(st))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		AppliesTo: &[]any{"Resource::*",
			"Resource::<" + *stack.GetLogicalId(results.Node().DefaultChild().(awscdk.CfnElement)) + ".Arn>/" + scanMapRunsPrefix + "*",
			&cdknag.RegexAppliesTo{Regex: jsii.String("/^Resource::arn:.*:states:.*:execution:" + props.StateMachineName + ":\\*$/g")}},
		Reason: jsii.String("logs:CreateLogDelivery and the other log-delivery actions, and xray:PutTraceSegments, xray:PutTelemetryRecords, xray:GetSamplingRules and xray:GetSamplingTargets support no resource-level permissions; " +
			"s3:PutObject: the Distributed Map writes its children's results as objects it names under " + scanMapRunsPrefix +
			"; states:DescribeExecution and states:StopExecution on the child executions it names, all of this state machine."),
	}}, jsii.Bool(true))

	logGroup := awslogs.NewLogGroup(this, jsii.String("StateMachineLogs"), &awslogs.LogGroupProps{
		// Step Functions' vended logs need the /aws/vendedlogs/ prefix for
		// their resource policy to stay small.
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + props.StateMachineName),
		Retention:     functionLogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	retry := &awsstepfunctions.RetryProps{
		Errors: jsii.Strings("Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
			"Lambda.TooManyRequestsException", "States.Timeout"),
		Interval:       awscdk.Duration_Seconds(jsii.Number(2)),
		MaxAttempts:    jsii.Number(6),
		BackoffRate:    jsii.Number(2),
		JitterStrategy: awsstepfunctions.JitterType_FULL,
	}
	child := awsstepfunctionstasks.NewLambdaInvoke(this, jsii.String("Scan batch"), &awsstepfunctionstasks.LambdaInvokeProps{
		LambdaFunction: fn,
		Payload: awsstepfunctions.TaskInput_FromObject(&map[string]any{
			"Items":      awsstepfunctions.JsonPath_ListAt(jsii.String("$.Items")),
			"BatchInput": awsstepfunctions.JsonPath_ObjectAt(jsii.String("$.BatchInput")),
		}),
		PayloadResponseOnly:      jsii.Bool(true),
		RetryOnServiceExceptions: jsii.Bool(false),
		TaskTimeout:              awsstepfunctions.Timeout_Duration(awscdk.Duration_Minutes(jsii.Number(scanTimeoutMinutes + 1))),
	})
	child.AddRetry(retry)

	scanMap := awsstepfunctions.NewDistributedMap(this, jsii.String("Scan archive"), &awsstepfunctions.DistributedMapProps{
		ItemReader: awsstepfunctions.NewS3ObjectsItemReader(&awsstepfunctions.S3ObjectsItemReaderProps{
			Bucket: props.Archive,
			Prefix: awsstepfunctions.JsonPath_StringAt(jsii.String("$.prefix")),
		}),
		ItemBatcher: awsstepfunctions.NewItemBatcher(&awsstepfunctions.ItemBatcherProps{
			MaxItemsPerBatch:      jsii.Number(scanBatchObjects),
			MaxInputBytesPerBatch: jsii.Number(scanBatchBytes),
			BatchInput: &map[string]any{
				// The batcher renders BatchInput as it is: JSONPath
				// fields need their ".$" names spelled out.
				"execution.$": "$$.Execution.Name",
				"filters.$":   "$.filters",
			},
		}),
		MaxConcurrency: jsii.Number(float64(props.MaxConcurrency)),
		// ToleratedFailurePercentage is 0, Step Functions' default (CDK
		// leaves a 0 out): a failed child fails the run.
		ToleratedFailurePercentage: jsii.Number(0),
		MapExecutionType:           awsstepfunctions.StateMachineType_STANDARD,
		// ResultWriterV2 needs the feature flag
		// @aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2,
		// which cdk.json does not set; the role's grants are ours either way.
		//lint:ignore SA1019 see above
		ResultWriter: awsstepfunctions.NewResultWriter(&awsstepfunctions.ResultWriterProps{
			Bucket: results,
			Prefix: jsii.String(scanMapRunsPrefix),
		}),
		ResultPath: jsii.String("$.map"),
	})
	scanMap.ItemProcessor(child, nil)

	summary := awsstepfunctionstasks.NewLambdaInvoke(this, jsii.String("Write summary"), &awsstepfunctionstasks.LambdaInvokeProps{
		LambdaFunction: fn,
		Payload: awsstepfunctions.TaskInput_FromObject(&map[string]any{
			"summarize": true,
			"execution": awsstepfunctions.JsonPath_StringAt(jsii.String("$$.Execution.Name")),
			"prefix":    awsstepfunctions.JsonPath_StringAt(jsii.String("$.prefix")),
			"filters":   awsstepfunctions.JsonPath_ObjectAt(jsii.String("$.filters")),
		}),
		PayloadResponseOnly:      jsii.Bool(true),
		RetryOnServiceExceptions: jsii.Bool(false),
		TaskTimeout:              awsstepfunctions.Timeout_Duration(awscdk.Duration_Minutes(jsii.Number(scanTimeoutMinutes + 1))),
	})
	summary.AddRetry(retry)

	sm := awsstepfunctions.NewStateMachine(this, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName: jsii.String(props.StateMachineName),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(scanMap.Next(summary)),
		Role:             role.WithoutPolicyUpdates(nil),
		Logs: &awsstepfunctions.LogOptions{
			Destination: logGroup,
			Level:       awsstepfunctions.LogLevel_ALL,
			// Execution data holds the filters and counts, no secrets.
			IncludeExecutionData: jsii.Bool(true),
		},
		TracingEnabled: jsii.Bool(true),
	})
	sm.Node().AddDependency(role)
	// CDK adds a policy of its own for the Distributed Map's child
	// executions, with wildcards past the ones above; the role has those
	// statements already (RunChildExecutions, FollowChildExecutions).
	sm.Node().TryRemoveChild(jsii.String("DistributedMapPolicy"))
	return &Scan{Construct: this, StateMachine: sm, Role: role, Function: fn, FunctionRole: fnRole, ResultsBucket: results, ResultsKey: key}
}

// newScanFunction creates the scan function: built like the others
// (NewAlertFunction), but invoked synchronously by the state machine, so
// without an on-failure destination: a failed child fails its Map Run,
// which retries it.
func newScanFunction(scope constructs.Construct, props *ScanProps, results awss3.IBucket, key awskms.IKey, archiveObjects *string) (awslambda.Function, awsiam.Role) {
	logGroup := awslogs.NewLogGroup(scope, jsii.String("FunctionLogGroup"), &awslogs.LogGroupProps{
		Retention:     functionLogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role := awsiam.NewRole(scope, jsii.String("FunctionRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("trailwatch: the distributed scan's function"),
	})
	logGroup.GrantWrite(role)
	statements := []*awsiam.PolicyStatementProps{{
		Sid:       jsii.String("ReadArchive"),
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: &[]*string{archiveObjects},
	}, {
		// The summary lists the batches' files of its execution.
		Sid:        jsii.String("ListResults"),
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{results.BucketArn()},
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": scanResultsPrefix + "*"}},
	}, {
		Sid:       jsii.String("WriteResults"),
		Actions:   jsii.Strings("s3:GetObject", "s3:PutObject"),
		Resources: &[]*string{results.ArnForObjects(jsii.String(scanResultsPrefix + "*"))},
	}, {
		Sid:       jsii.String("EncryptResults"),
		Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources: &[]*string{key.KeyArn()},
	}}
	if props.ArchiveKey != nil {
		// The archive's key (the trail's, or trailwatch:scanArchiveKey's)
		// encrypts its log files.
		statements = append(statements, &awsiam.PolicyStatementProps{
			Sid:       jsii.String("DecryptArchive"),
			Actions:   jsii.Strings("kms:Decrypt"),
			Resources: &[]*string{props.ArchiveKey.KeyArn()},
		})
	}
	for _, st := range statements {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(st))
	}

	settings, err := json.Marshal(props.Settings)
	if err != nil {
		badConfig("scan function settings: %v", err)
	}
	fn := awslambda.NewFunction(scope, jsii.String("Function"), &awslambda.FunctionProps{
		Description:  jsii.String("trailwatch: scans a batch of archived CloudTrail log files for the distributed scan"),
		Code:         awslambda.Code_FromAsset(jsii.String(props.CodeDir), nil),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		MemorySize:   jsii.Number(scanMemoryMB),
		Timeout:      awscdk.Duration_Minutes(jsii.Number(scanTimeoutMinutes)),
		Role:         role,
		Environment: &map[string]*string{
			config.EnvScanArchiveBucket: props.Archive.BucketName(),
			config.EnvScanResultsBucket: results.BucketName(),
			config.EnvScanResultsKey:    key.KeyArn(),
			config.EnvSettings:          jsii.String(string(settings)),
			// scan.Run decides on every core: a full vCPU at this size.
			"GOGC":       jsii.String(strconv.Itoa(functionGOGC)),
			"GOMEMLIMIT": jsii.String(strconv.Itoa(scanMemoryMB*3/4) + "MiB"),
		},
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE,
		LogGroup:      logGroup,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("Serverless-LambdaDLQ"),
		Reason: jsii.String("Only the scan's state machine invokes this function, synchronously: a failed invocation fails its task, which Step Functions retries and then fails the Map Run; " +
			"there is no asynchronous invocation for a dead-letter queue to catch."),
	}}, jsii.Bool(false))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		AppliesTo: &[]any{"Resource::*"},
		Reason:    jsii.String("Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (Service Authorization Reference)."),
	}, {
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("s3:GetObject on the archive's objects under the configured prefix, which the scan lists at run time, and s3:GetObject/s3:PutObject on the results under " +
			scanResultsPrefix + " whose names the function derives from the execution and batch."),
	}}, jsii.Bool(true))
	return fn, role
}
