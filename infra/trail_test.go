package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/config"
)

func TestTrailRecordsEverything(t *testing.T) {
	s := synth(t)
	tr := s.stack.Trail
	if tr == nil {
		t.Fatal("stack without ExistingTrail created no trail")
	}
	keyID := logicalID(t, s.stack.Stack, tr.Key)
	bucketID := logicalID(t, s.stack.Stack, tr.Bucket)
	policyID := logicalID(t, s.stack.Stack, tr.Bucket.Policy())

	assert(t, "one trail", func() { s.template.ResourceCountIs(jsii.String("AWS::CloudTrail::Trail"), jsii.Number(1)) })
	assert(t, "trail properties", func() {
		s.template.HasResource(jsii.String("AWS::CloudTrail::Trail"), like(obj{
			"Properties": obj{
				"IsLogging":                  true,
				"IsMultiRegionTrail":         true,
				"IncludeGlobalServiceEvents": true,
				"EnableLogFileValidation":    true,
				"EventSelectors": assertions.Match_ArrayEquals(&arr{
					obj{"IncludeManagementEvents": true, "ReadWriteType": "All"},
				}),
				"KMSKeyId":     getAtt(keyID, "Arn"),
				"S3BucketName": ref(bucketID),
				"TrailName":    "trailwatch",
			},
			// CloudTrail checks its access to bucket and key on creation.
			"DependsOn": arrayWith(policyID, keyID),
		}))
	})
}

func TestTrailKey(t *testing.T) {
	s := synth(t)
	trailArn := s.json["Outputs"].(obj)["TrailArn"].(obj)["Value"]
	key := resources(s.json, "AWS::KMS::Key")[logicalID(t, s.stack.Stack, s.stack.Trail.Key)]
	if key == nil {
		t.Fatal("trail key not in template")
	}
	if got := props(key)["EnableKeyRotation"]; got != true {
		t.Errorf("EnableKeyRotation = %v, want true", got)
	}
	if got := key["DeletionPolicy"]; got != "Retain" {
		t.Errorf("trail key DeletionPolicy = %v, want Retain (old log files need it)", got)
	}

	// Every statement for the CloudTrail service is bound to this trail.
	stmts := statements(t, props(key)["KeyPolicy"])
	var actions []any
	for _, st := range stmts {
		if principalService(st) != "cloudtrail.amazonaws.com" {
			continue
		}
		actions = append(actions, st["Action"])
		cond, _ := st["Condition"].(obj)
		eq, _ := cond["StringEquals"].(obj)
		if !reflect.DeepEqual(eq["aws:SourceArn"], trailArn) {
			t.Errorf("key statement %v: aws:SourceArn = %v, want the trail's ARN %v", st["Sid"], eq["aws:SourceArn"], trailArn)
		}
	}
	if want := []any{"kms:GenerateDataKey*", "kms:DescribeKey"}; !reflect.DeepEqual(actions, want) {
		t.Errorf("CloudTrail may use the key for %v, want %v", actions, want)
	}
}

// TestTrailLogsLocked: every log file the trail writes is locked by S3
// Object Lock for the retention (governance unless configured otherwise);
// the access-log bucket, which server access logging cannot write to with a
// default retention, has none.
func TestTrailLogsLocked(t *testing.T) {
	s := synth(t)
	tr := s.stack.Trail
	logs := props(resources(s.json, "AWS::S3::Bucket")[logicalID(t, s.stack.Stack, tr.Bucket)])
	want := obj{"ObjectLockEnabled": "Enabled", "Rule": obj{"DefaultRetention": obj{"Days": float64(s.cfg.RetentionDays), "Mode": "GOVERNANCE"}}}
	if logs["ObjectLockEnabled"] != true || !equalJSON(logs["ObjectLockConfiguration"], want) {
		t.Errorf("trail bucket: ObjectLockEnabled %v, ObjectLockConfiguration %v; want %v", logs["ObjectLockEnabled"], logs["ObjectLockConfiguration"], want)
	}
	access := props(resources(s.json, "AWS::S3::Bucket")[logicalID(t, s.stack.Stack, tr.AccessLogBucket)])
	if _, ok := access["ObjectLockConfiguration"]; ok {
		t.Errorf("the access-log bucket has a default retention: %v", access["ObjectLockConfiguration"])
	}
	// Compliance mode, as configured.
	flags, err := featureFlags()
	if err != nil {
		t.Fatal(err)
	}
	stack := awscdk.NewStack(awscdk.NewApp(&awscdk.AppProps{Context: &flags}), jsii.String("LockProbe"), nil)
	NewTrail(stack, "Trail", &TrailProps{TrailName: "probe", RetentionDays: 730, ObjectLockMode: config.ObjectLockCompliance})
	tmpl := assertions.Template_FromStack(stack, nil)
	tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), like(obj{
		"ObjectLockConfiguration": obj{"ObjectLockEnabled": "Enabled", "Rule": obj{"DefaultRetention": obj{"Days": float64(730), "Mode": "COMPLIANCE"}}},
	}))
}

func TestTrailBuckets(t *testing.T) {
	s := synth(t)
	if s.cfg.RetentionDays < config.MinRetentionDays {
		t.Fatalf("test configuration keeps logs %d days, less than %d", s.cfg.RetentionDays, config.MinRetentionDays)
	}
	tr := s.stack.Trail
	bucketID := logicalID(t, s.stack.Stack, tr.Bucket)
	accessLogID := logicalID(t, s.stack.Stack, tr.AccessLogBucket)

	buckets := resources(s.json, "AWS::S3::Bucket")
	if len(buckets) != 2 {
		t.Errorf("%d buckets, want 2 (logs and their access logs)", len(buckets))
	}
	for _, id := range []string{bucketID, accessLogID} {
		t.Run(id, func(t *testing.T) {
			assert(t, "hardening", func() {
				s.template.HasResource(jsii.String("AWS::S3::Bucket"), like(obj{
					"Properties": like(obj{
						"PublicAccessBlockConfiguration": assertions.Match_ObjectEquals(&obj{
							"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
						}),
						"VersioningConfiguration": obj{"Status": "Enabled"},
						"OwnershipControls":       obj{"Rules": arr{obj{"ObjectOwnership": "BucketOwnerEnforced"}}},
						"LifecycleConfiguration": obj{"Rules": arrayWith(like(obj{
							"Status":           "Enabled",
							"ExpirationInDays": float64(s.cfg.RetentionDays),
						}))},
					}),
					"DeletionPolicy":      "Retain",
					"UpdateReplacePolicy": "Retain",
				}))
			})
			b := buckets[id]
			if b == nil {
				t.Fatalf("bucket %s not in template", id)
			}
			for _, rule := range props(b)["LifecycleConfiguration"].(obj)["Rules"].(arr) {
				days, ok := rule.(obj)["ExpirationInDays"].(float64)
				if ok && days < config.MinRetentionDays {
					t.Errorf("lifecycle rule %v expires logs after %v days, want >= %d", rule.(obj)["Id"], days, config.MinRetentionDays)
				}
			}
			assert(t, "TLS-only bucket policy", func() {
				s.template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), like(obj{
					"Bucket": ref(id),
					"PolicyDocument": like(obj{"Statement": arrayWith(like(obj{
						"Effect":    "Deny",
						"Action":    "s3:*",
						"Principal": obj{"AWS": "*"},
						"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
					}))}),
				}))
			})
		})
	}

	assert(t, "access logging", func() {
		s.template.HasResourceProperties(jsii.String("AWS::S3::Bucket"), like(obj{
			"LoggingConfiguration": like(obj{"DestinationBucketName": ref(accessLogID)}),
		}))
	})
	// Only CloudTrail, and only for this trail, may write to the log bucket.
	policy := resources(s.json, "AWS::S3::BucketPolicy")[logicalID(t, s.stack.Stack, tr.Bucket.Policy())]
	trailArn := s.json["Outputs"].(obj)["TrailArn"].(obj)["Value"]
	for _, st := range statements(t, props(policy)["PolicyDocument"]) {
		if st["Effect"] != "Allow" {
			continue
		}
		if principalService(st) != "cloudtrail.amazonaws.com" {
			t.Errorf("log bucket allows %v to %v; only CloudTrail may be allowed", st["Principal"], st["Action"])
			continue
		}
		eq, _ := st["Condition"].(obj)["StringEquals"].(obj)
		if !reflect.DeepEqual(eq["aws:SourceArn"], trailArn) {
			t.Errorf("log bucket statement %v: aws:SourceArn = %v, want the trail's ARN", st["Sid"], eq["aws:SourceArn"])
		}
	}
}

func TestExistingTrailCreatesNoTrail(t *testing.T) {
	s := synth(t)
	if s.existing.Trail != nil {
		t.Error("stack with ExistingTrail created a Trail construct")
	}
	for _, typ := range []string{"AWS::CloudTrail::Trail", "AWS::S3::Bucket"} {
		got := resources(s.existingJSON, typ)
		// The distributed scan's results bucket is no trail's.
		delete(got, logicalID(t, s.existing.Stack, s.existing.Scan.ResultsBucket))
		if len(got) != 0 {
			t.Errorf("stack with ExistingTrail has %d %s, want 0", len(got), typ)
		}
	}
	assert(t, "output names the existing trail", func() {
		s.existingTemplate.HasOutput(jsii.String("ExistingTrail"), like(obj{"Value": "organization-trail"}))
	})
	if _, ok := s.existingJSON["Outputs"].(obj)["TrailArn"]; ok {
		t.Error("stack with ExistingTrail outputs a TrailArn")
	}
}

// statements returns the statements of a policy document from the template.
func statements(t *testing.T, doc any) []obj {
	t.Helper()
	d, ok := doc.(obj)
	if !ok {
		t.Fatalf("policy document is %T", doc)
	}
	var out []obj
	for _, st := range d["Statement"].(arr) {
		out = append(out, st.(obj))
	}
	return out
}

// principalService returns the service principal of a statement, or "".
func principalService(st obj) any {
	p, _ := st["Principal"].(obj)
	return p["Service"]
}

// TestTrailBucketIsWatched: the functions' settings name the trail's own
// bucket, so a lifecycle rule that shortens its retention is reported as
// trail tampering.
func TestTrailBucketIsWatched(t *testing.T) {
	s := synth(t)
	bucketID := logicalID(t, s.stack.Stack, s.stack.Trail.Bucket)
	fnID := logicalID(t, s.stack.Stack, s.stack.Function.Function)
	fn := props(resources(s.json, "AWS::Lambda::Function")[fnID])
	vars, _ := fn["Environment"].(obj)["Variables"].(obj)
	settings, _ := json.Marshal(vars[config.EnvSettings])
	if !strings.Contains(string(settings), `trailBuckets\":[\"",{"Ref":"`+bucketID+`"}`) {
		t.Errorf("%s = %s, want trailBuckets to start with the trail bucket %s", config.EnvSettings, settings, bucketID)
	}
}
