package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/config"
)

// noncurrentVersionDays is how long a log object version lives after it
// stopped being current (overwritten or expired): long enough to undo a
// mistaken delete, short enough not to double the retention.
const noncurrentVersionDays = 30

// TrailProps configures NewTrail.
type TrailProps struct {
	// TrailName is the trail's physical name. It must be known before the
	// trail exists: the key and bucket policies name the trail's ARN in
	// their aws:SourceArn conditions.
	TrailName string
	// RetentionDays is how long log files are kept (config validates >= 365).
	RetentionDays int
	// ObjectLockMode is the log bucket's Object Lock mode for that
	// retention: config.ObjectLockGovernance or config.ObjectLockCompliance.
	ObjectLockMode string
}

// Trail is a hardened multi-region CloudTrail trail: management events
// (read and write) of every region and of global services, log file
// validation, encrypted with its own rotating KMS key, delivered to a private,
// TLS-only, versioned bucket whose server access logs go to a second bucket
// with the same hardening. Both buckets and the key outlive the stack.
type Trail struct {
	constructs.Construct
	Trail           awscloudtrail.CfnTrail
	Key             awskms.Key
	Bucket          awss3.Bucket
	AccessLogBucket awss3.Bucket
	// TrailArn is built from the name, not read from the trail, so policies
	// can name it without a dependency cycle.
	TrailArn *string
}

// NewTrail creates the trail, its key and its buckets.
func NewTrail(scope constructs.Construct, id string, props *TrailProps) *Trail {
	this := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(this)
	if props.TrailName == "" {
		panic("trail: TrailName is required")
	}

	trailArn := stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("cloudtrail"),
		Resource:     jsii.String("trail"),
		ResourceName: jsii.String(props.TrailName),
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	// Any trail of this account, as CloudTrail writes it into the
	// encryption context of every log file.
	anyTrailOfAccount := stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("cloudtrail"),
		Region:       jsii.String("*"),
		Resource:     jsii.String("trail"),
		ResourceName: jsii.String("*"),
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	cloudtrailPrincipal := awsiam.NewServicePrincipal(jsii.String("cloudtrail.amazonaws.com"), nil)
	fromThisTrail := map[string]any{"aws:SourceArn": trailArn}

	key := awskms.NewKey(this, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String(fmt.Sprintf("Encrypts the log files of CloudTrail trail %s", props.TrailName)),
		EnableKeyRotation: jsii.Bool(true),
		// Old log files stay readable only while the key exists.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// Key policy from "Configure AWS KMS key policies for CloudTrail". The
	// "decrypt for every principal of the account" statement of that page is
	// left out: readers get kms:Decrypt through IAM policies, which the
	// default statement for the account root delegates to.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudTrailToEncryptLogs"),
		Principals: &[]awsiam.IPrincipal{cloudtrailPrincipal},
		Actions:    jsii.Strings("kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{
			"StringEquals": fromThisTrail,
			"StringLike":   map[string]any{"kms:EncryptionContext:aws:cloudtrail:arn": anyTrailOfAccount},
		},
	}), jsii.Bool(false))
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudTrailToDescribeKey"),
		Principals: &[]awsiam.IPrincipal{cloudtrailPrincipal},
		Actions:    jsii.Strings("kms:DescribeKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": fromThisTrail},
	}), jsii.Bool(false))

	// cdk-nag's S1 accepts a bucket without access logs of its own when it
	// is the access-log destination of another bucket, as this one is.
	accessLogs := newLogBucket(this, "AccessLogBucket", props.RetentionDays, nil)

	bucket := newLogBucket(this, "Bucket", props.RetentionDays, accessLogs, func(p *awss3.BucketProps) {
		// Every log file is locked for the retention from when it was
		// written: no one deletes or overwrites it before, whatever their
		// permissions (compliance), or only those allowed to bypass
		// governance retention (governance). The lifecycle expires it
		// afterwards. Server access logging cannot write to a bucket with a
		// default retention, so the access-log bucket has none.
		p.ObjectLockEnabled = jsii.Bool(true)
		days := awscdk.Duration_Days(jsii.Number(float64(props.RetentionDays)))
		p.ObjectLockDefaultRetention = awss3.ObjectLockRetention_Governance(days)
		if props.ObjectLockMode == config.ObjectLockCompliance {
			p.ObjectLockDefaultRetention = awss3.ObjectLockRetention_Compliance(days)
		}
	})
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AWSCloudTrailAclCheck"),
		Principals: &[]awsiam.IPrincipal{cloudtrailPrincipal},
		Actions:    jsii.Strings("s3:GetBucketAcl"),
		Resources:  &[]*string{bucket.BucketArn()},
		Conditions: &map[string]any{"StringEquals": fromThisTrail},
	}))
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AWSCloudTrailWrite"),
		Principals: &[]awsiam.IPrincipal{cloudtrailPrincipal},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  &[]*string{bucket.ArnForObjects(jsii.String(fmt.Sprintf("AWSLogs/%s/*", *stack.Account())))},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{
				"s3:x-amz-acl":  "bucket-owner-full-control",
				"aws:SourceArn": trailArn,
			},
		},
	}))

	trail := awscloudtrail.NewCfnTrail(this, jsii.String("Trail"), &awscloudtrail.CfnTrailProps{
		TrailName:                  jsii.String(props.TrailName),
		IsLogging:                  jsii.Bool(true),
		IsMultiRegionTrail:         jsii.Bool(true),
		IncludeGlobalServiceEvents: jsii.Bool(true),
		EnableLogFileValidation:    jsii.Bool(true),
		KmsKeyId:                   key.KeyArn(),
		S3BucketName:               bucket.BucketName(),
		EventSelectors: []any{&awscloudtrail.CfnTrail_EventSelectorProperty{
			IncludeManagementEvents: jsii.Bool(true),
			ReadWriteType:           jsii.String("All"),
		}},
	})
	// CloudTrail checks at creation that it may write to the bucket and use
	// the key, so the policies must exist first.
	trail.Node().AddDependency(bucket.Policy(), key)

	return &Trail{
		Construct:       this,
		Trail:           trail,
		Key:             key,
		Bucket:          bucket,
		AccessLogBucket: accessLogs,
		TrailArn:        trailArn,
	}
}

// newLogBucket makes a bucket for logs: all four Block Public Access
// settings, TLS only, versioned, ACLs disabled, S3-managed encryption (the
// only kind server access logging can write to), kept when the stack goes,
// and expiring objects after retentionDays. Server access logs go to
// accessLogs when it is set.
func newLogBucket(scope constructs.Construct, id string, retentionDays int, accessLogs awss3.IBucket, options ...func(*awss3.BucketProps)) awss3.Bucket {
	props := &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		Versioned:         jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireLogs"),
			Enabled:                             jsii.Bool(true),
			Expiration:                          awscdk.Duration_Days(jsii.Number(float64(retentionDays))),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(noncurrentVersionDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		}},
	}
	if accessLogs != nil {
		props.ServerAccessLogsBucket = accessLogs
		props.ServerAccessLogsPrefix = jsii.String(id + "/")
	}
	for _, o := range options {
		o(props)
	}
	return awss3.NewBucket(scope, jsii.String(id), props)
}
