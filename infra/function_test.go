package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/config"
)

func TestFunction(t *testing.T) {
	s := synth(t)
	f := s.stack.Function
	logGroupID := logicalID(t, s.stack.Stack, f.LogGroup)
	roleID := logicalID(t, s.stack.Stack, f.Role)
	topicID := logicalID(t, s.stack.Stack, s.stack.Notifications.Topic)
	queueID := logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue)

	assert(t, "three functions", func() { s.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(3)) })
	assert(t, "function properties", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), like(obj{
			"Runtime":       "provided.al2023",
			"Architectures": arr{"arm64"},
			"Handler":       "bootstrap",
			"MemorySize":    128,
			"Timeout":       60,
			"Role":          getAtt(roleID, "Arn"),
			"LoggingConfig": obj{"LogFormat": "JSON", "LogGroup": ref(logGroupID)},
		}))
	})
	assert(t, "log group retention", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), like(obj{"RetentionInDays": assertions.Match_AnyValue()}))
	})
	assert(t, "asynchronous invocation", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), like(obj{
			"FunctionName":         ref(logicalID(t, s.stack.Stack, f.Function)),
			"MaximumRetryAttempts": 2,
			"DestinationConfig":    obj{"OnFailure": obj{"Destination": getAtt(queueID, "Arn")}},
		}))
	})

	// The environment is exactly what config.Runtime.Env names (and the
	// collector's settings), with the
	// topic's ARN as a reference, and settings that name trailwatch's own
	// resources: the stacks' name prefixes, the Slack secret, and the
	// topic, queue and table as CloudFormation will name them.
	tableID := logicalID(t, s.stack.Stack, s.stack.StateTable)
	placeholders := map[string]any{
		"topic":        ref(topicID),
		"table":        ref(tableID),
		"topic-name":   getAtt(topicID, "TopicName"),
		"queue-name":   getAtt(queueID, "QueueName"),
		"trail-bucket": ref(logicalID(t, s.stack.Stack, s.stack.Trail.Bucket)),
	}
	settings := s.cfg.Settings()
	settings.Env.TrailBuckets = []string{"trail-bucket"}
	settings.Env.OwnPrefixes = []string{"Trailwatch-", "TrailwatchForwarder-"}
	settings.Env.OwnNames = []string{"topic-name", "queue-name", "table", testSlackSecretName}
	want := map[string]any{}
	env, err := config.Runtime{SlackSecretName: testSlackSecretName, TopicARN: "topic", Settings: settings,
		StateTable: "table", StormWindowMinutes: s.cfg.StormWindowMinutes}.Env()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		want[k] = v
		if p, ok := placeholders[v]; ok {
			want[k] = p
		}
	}
	want[config.EnvSettings] = joinWithPlaceholders(env[config.EnvSettings], placeholders)
	// The Go runtime's settings for a 128 MB function.
	want["GOGC"] = "400"
	want["GOMEMLIMIT"] = "96MiB"
	want["GOMAXPROCS"] = "1"
	for _, fn := range []*AlertFunction{s.stack.Function, s.stack.Digest, s.stack.Instance} {
		if got := functionEnv(t, s.json, logicalID(t, s.stack.Stack, fn.Function)); !equalJSON(got, want) {
			t.Errorf("environment = %v, want %v", got, want)
		}
	}
	assert(t, "state table", func() {
		s.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), like(obj{
			"KeySchema":                        arr{obj{"AttributeName": "pk", "KeyType": "HASH"}},
			"BillingMode":                      "PAY_PER_REQUEST",
			"TimeToLiveSpecification":          obj{"AttributeName": "expires", "Enabled": true},
			"PointInTimeRecoverySpecification": obj{"PointInTimeRecoveryEnabled": true},
		}))
	})
}

func TestFunctionRoleIsLeastPrivilege(t *testing.T) {
	s := synth(t)
	roleID := logicalID(t, s.stack.Stack, s.stack.Function.Role)
	assert(t, "no managed policies", func() {
		s.template.HasResourceProperties(jsii.String("AWS::IAM::Role"), like(obj{
			"AssumeRolePolicyDocument": like(obj{"Statement": arr{like(obj{"Principal": obj{"Service": "lambda.amazonaws.com"}})}}),
			"ManagedPolicyArns":        assertions.Match_Absent(),
		}))
	})
	for _, tmpl := range []map[string]any{s.json, s.existingJSON} {
		for id, r := range resources(tmpl, "AWS::IAM::Role") {
			if _, ok := props(r)["ManagedPolicyArns"]; ok {
				t.Errorf("role %s has managed policies: %v", id, props(r)["ManagedPolicyArns"])
			}
		}
		if n := len(resources(tmpl, "AWS::IAM::ManagedPolicy")); n != 0 {
			t.Errorf("template has %d managed policies", n)
		}
	}

	topicID := logicalID(t, s.stack.Stack, s.stack.Notifications.Topic)
	topicKeyID := logicalID(t, s.stack.Stack, s.stack.Notifications.TopicKey)
	queueID := logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue)
	logGroupID := logicalID(t, s.stack.Stack, s.stack.Function.LogGroup)
	tableID := logicalID(t, s.stack.Stack, s.stack.StateTable)
	// What each action may touch, flattened (see flat).
	want := map[string]string{
		"logs:CreateLogStream":           "${" + logGroupID + ".Arn}",
		"logs:PutLogEvents":              "${" + logGroupID + ".Arn}",
		"s3:GetBucketPolicyStatus":       "arn:${AWS::Partition}:s3:::*",
		"s3:GetBucketPublicAccessBlock":  "arn:${AWS::Partition}:s3:::*",
		"s3:GetBucketAcl":                "arn:${AWS::Partition}:s3:::*",
		"s3:GetAccountPublicAccessBlock": "*",
		"iam:ListAccountAliases":         "*",
		"cloudtrail:LookupEvents":        "*",
		"sns:Publish":                    "${" + topicID + "}",
		"kms:GenerateDataKey*":           "${" + topicKeyID + ".Arn}",
		"kms:Decrypt":                    "${" + topicKeyID + ".Arn}",
		"secretsmanager:GetSecretValue":  "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" + testSlackSecretName + "-??????",
		"dynamodb:PutItem":               "${" + tableID + ".Arn}",
		"dynamodb:UpdateItem":            "${" + tableID + ".Arn}",
		"dynamodb:DeleteItem":            "${" + tableID + ".Arn}",
		// Active tracing; X-Ray has no resource-level permissions.
		"xray:PutTraceSegments":    "*",
		"xray:PutTelemetryRecords": "*",
		// The on-failure destination, granted by awslambdadestinations.
		"sqs:SendMessage":        "${" + queueID + ".Arn}",
		"sqs:GetQueueAttributes": "${" + queueID + ".Arn}",
		"sqs:GetQueueUrl":        "${" + queueID + ".Arn}",
	}
	got := rolePermissions(t, s.json, roleID)
	for action, resource := range want {
		if got[action] != resource {
			t.Errorf("%s on %q, want on %q", action, got[action], resource)
		}
	}
	for action, resource := range got {
		if _, ok := want[action]; !ok {
			t.Errorf("unexpected permission %s on %q", action, resource)
		}
	}

	// Without a secret name there is no secret access at all.
	existing := rolePermissions(t, s.existingJSON, logicalID(t, s.existing.Stack, s.existing.Function.Role))
	for action := range existing {
		if strings.HasPrefix(action, "secretsmanager:") {
			t.Errorf("stack without a Slack secret may %s", action)
		}
	}
}

func TestNoSecretInTemplate(t *testing.T) {
	s := synth(t)
	for name, tmpl := range map[string]map[string]any{"main": s.json, "existing trail": s.existingJSON} {
		b, err := json.Marshal(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "hooks.slack.com") {
			t.Errorf("%s template contains a Slack webhook URL", name)
		}
		// A dynamic reference would have CloudFormation resolve the secret's
		// value at deploy time and write it into the resource (for a
		// function, its environment): the webhook must be read at run time.
		for _, ref := range []string{"{{resolve:secretsmanager", "{{resolve:ssm-secure"} {
			if strings.Contains(string(b), ref) {
				t.Errorf("%s template resolves a secret's value at deploy time (%s...)", name, ref)
			}
		}
		if n := len(resources(tmpl, "AWS::SecretsManager::Secret")); n != 0 {
			t.Errorf("%s template creates %d secrets; the webhook secret is made by hand", name, n)
		}
	}
	env := functionEnv(t, s.json, logicalID(t, s.stack.Stack, s.stack.Function.Function))
	if got := env[config.EnvSlackSecretName]; got != testSlackSecretName {
		t.Errorf("%s = %v, want the secret's name %q", config.EnvSlackSecretName, got, testSlackSecretName)
	}
	for k, v := range env {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "://") || strings.Contains(string(b), "resolve:") {
			t.Errorf("environment %s holds a URL or a secret's value: %s", k, b)
		}
	}
	if _, ok := functionEnv(t, s.existingJSON, logicalID(t, s.existing.Stack, s.existing.Function.Function))[config.EnvSlackSecretName]; ok {
		t.Errorf("stack without Slack sets %s", config.EnvSlackSecretName)
	}
}

// functionEnv returns the environment of a function of the template.
// joinWithPlaceholders is the Fn::Join CDK makes of a string in which
// tokens stand where s has the JSON strings "placeholder".
func joinWithPlaceholders(s string, placeholders map[string]any) any {
	parts := arr{}
	for s != "" {
		at, name := -1, ""
		for p := range placeholders {
			if i := strings.Index(s, `"`+p+`"`); i >= 0 && (at < 0 || i < at) {
				at, name = i, p
			}
		}
		if at < 0 {
			parts = append(parts, s)
			break
		}
		parts = append(parts, s[:at+1], placeholders[name])
		s = s[at+1+len(name):]
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return obj{"Fn::Join": arr{"", parts}}
}

func functionEnv(t *testing.T, tmpl map[string]any, logicalID string) map[string]any {
	t.Helper()
	fn, ok := resources(tmpl, "AWS::Lambda::Function")[logicalID]
	if !ok {
		t.Fatalf("no function %s", logicalID)
	}
	env, _ := props(fn)["Environment"].(obj)
	vars, _ := env["Variables"].(obj)
	return vars
}

// rolePermissions maps every action the role's inline policies allow to the
// flattened resource it is allowed on.
func rolePermissions(t *testing.T, tmpl map[string]any, roleID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, p := range resources(tmpl, "AWS::IAM::Policy") {
		if !slices.ContainsFunc(props(p)["Roles"].(arr), func(r any) bool { return equalJSON(r, ref(roleID)) }) {
			continue
		}
		for _, st := range statements(t, props(p)["PolicyDocument"]) {
			if st["Effect"] != "Allow" {
				continue
			}
			resourcesOf := asList(st["Resource"])
			if len(resourcesOf) != 1 {
				t.Errorf("policy %s: statement %v has %d resources; this test expects one", id, st["Action"], len(resourcesOf))
			}
			for _, a := range asList(st["Action"]) {
				out[a.(string)] = flat(resourcesOf[0])
			}
		}
	}
	return out
}

func asList(v any) arr {
	if l, ok := v.(arr); ok {
		return l
	}
	return arr{v}
}

// flat renders a CloudFormation value as one string: Ref as ${Id},
// Fn::GetAtt as ${Id.Attr}, Fn::Join concatenated.
func flat(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case obj:
		if r, ok := x["Ref"]; ok {
			return "${" + r.(string) + "}"
		}
		if g, ok := x["Fn::GetAtt"].(arr); ok {
			return fmt.Sprintf("${%s.%s}", g[0], g[1])
		}
		if j, ok := x["Fn::Join"].(arr); ok {
			var parts []string
			for _, p := range j[1].(arr) {
				parts = append(parts, flat(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestDigestRoleIsLeastPrivilege: the digest function reads and updates the
// state table and publishes; it looks nothing up.
func TestDigestRoleIsLeastPrivilege(t *testing.T) {
	s := synth(t)
	d := s.stack.Digest
	tableID := logicalID(t, s.stack.Stack, s.stack.StateTable)
	want := map[string]string{
		"logs:CreateLogStream":          "${" + logicalID(t, s.stack.Stack, d.LogGroup) + ".Arn}",
		"logs:PutLogEvents":             "${" + logicalID(t, s.stack.Stack, d.LogGroup) + ".Arn}",
		"sns:Publish":                   "${" + logicalID(t, s.stack.Stack, s.stack.Notifications.Topic) + "}",
		"kms:GenerateDataKey*":          "${" + logicalID(t, s.stack.Stack, s.stack.Notifications.TopicKey) + ".Arn}",
		"kms:Decrypt":                   "${" + logicalID(t, s.stack.Stack, s.stack.Notifications.TopicKey) + ".Arn}",
		"secretsmanager:GetSecretValue": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" + testSlackSecretName + "-??????",
		"dynamodb:PutItem":              "${" + tableID + ".Arn}",
		"dynamodb:UpdateItem":           "${" + tableID + ".Arn}",
		"dynamodb:DeleteItem":           "${" + tableID + ".Arn}",
		"dynamodb:Scan":                 "${" + tableID + ".Arn}",
		"xray:PutTraceSegments":         "*",
		"xray:PutTelemetryRecords":      "*",
		"sqs:SendMessage":               "${" + logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue) + ".Arn}",
		"sqs:GetQueueAttributes":        "${" + logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue) + ".Arn}",
		"sqs:GetQueueUrl":               "${" + logicalID(t, s.stack.Stack, s.stack.Notifications.DeadLetterQueue) + ".Arn}",
	}
	got := rolePermissions(t, s.json, logicalID(t, s.stack.Stack, d.Role))
	if !equalJSON(got, want) {
		t.Errorf("digest role may\n%v\nwant\n%v", got, want)
	}
}
