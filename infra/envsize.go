package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
)

// maxEnvironmentBytes is what Lambda allows for all the environment
// variables of a function together. Lambda measures the variables as one
// JSON object (its error quotes the "String measured"), so names, quotes,
// escapes and separators count with the values.
const maxEnvironmentBytes = 4096

// envKeys are the context keys whose values fill each variable: what the
// error tells to shorten.
var envKeys = map[string][]string{
	config.EnvSettings: {config.KeySuppressions, config.KeyAllowedInstanceTypes, config.KeyTrailBuckets,
		config.KeyAllowedRegions, config.KeyAlarmNames, config.KeyThresholds},
	config.EnvRoutes:          {config.KeyRoutes},
	config.EnvSlackSecretName: {config.KeySlackSecretName},
	heartbeat.EnvTargets:      {config.KeyOrganizationTargets},
	heartbeat.EnvRegions:      {config.KeyMemberRegions},
}

// The longest values AWS gives what a template references, for the
// environment's worst case: the names CloudFormation generates for
// unnamed resources (stack name, logical ID, random suffix) are cut to the
// service's limit, so the limit is what a deployment can reach.
const (
	maxPartition = len("aws-us-gov") // longer than aws, aws-cn, aws-iso-b, aws-eusc
	// maxRegion is the longest region name today (ap-southeast-1,
	// us-isob-east-1) and two characters more.
	maxRegion    = len("ap-southeast-1") + 2
	maxURLSuffix = len("amazonaws.com.cn")
	accountLen   = 12
	maxStackName = 128
)

// arnLength is the length of arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
// with resource of the given length.
func arnLength(service string, regional bool, resource int) int {
	n := len("arn:") + maxPartition + 1 + len(service) + 1 + 1 + accountLen + 1 + resource
	if regional {
		n += maxRegion
	}
	return n
}

// maxRef is the longest value of {"Ref": ...} of a resource type.
var maxRef = map[string]int{
	"AWS::SNS::Topic":             arnLength("sns", true, 256),
	"AWS::DynamoDB::Table":        255,
	"AWS::S3::Bucket":             63,
	"AWS::SQS::Queue":             len("https://sqs.") + maxRegion + 1 + maxURLSuffix + 1 + accountLen + 1 + 80,
	"AWS::Lambda::Function":       64,
	"AWS::IAM::Role":              64,
	"AWS::Events::EventBus":       256,
	"AWS::Events::Rule":           64,
	"AWS::KMS::Key":               36, // a key ID, a UUID
	"AWS::Logs::LogGroup":         512,
	"AWS::SecretsManager::Secret": arnLength("secretsmanager", true, len("secret:")+512+7),
}

// maxPseudo is the longest value of each pseudo parameter.
var maxPseudo = map[string]int{
	"AWS::AccountId": accountLen,
	"AWS::Region":    maxRegion,
	"AWS::Partition": maxPartition,
	"AWS::URLSuffix": maxURLSuffix,
	"AWS::StackName": maxStackName,
	"AWS::NoValue":   0,
}

// maxGetAtt is the longest value of {"Fn::GetAtt": [resource, attribute]},
// by resource type and attribute.
var maxGetAtt = map[[2]string]int{
	{"AWS::SNS::Topic", "TopicName"}:  256,
	{"AWS::SNS::Topic", "TopicArn"}:   arnLength("sns", true, 256),
	{"AWS::SQS::Queue", "QueueName"}:  80,
	{"AWS::SQS::Queue", "Arn"}:        arnLength("sqs", true, 80),
	{"AWS::S3::Bucket", "Arn"}:        len("arn:") + maxPartition + len(":s3:::") + 63,
	{"AWS::DynamoDB::Table", "Arn"}:   arnLength("dynamodb", true, len("table/")+255),
	{"AWS::IAM::Role", "Arn"}:         arnLength("iam", false, len("role/")+64), // trailwatch's roles have the path /
	{"AWS::Lambda::Function", "Arn"}:  arnLength("lambda", true, len("function:")+64),
	{"AWS::Events::EventBus", "Arn"}:  arnLength("events", true, len("event-bus/")+256),
	{"AWS::Events::EventBus", "Name"}: 256,
	{"AWS::Logs::LogGroup", "Arn"}:    arnLength("logs", true, len("log-group:")+512+len(":*")),
	{"AWS::KMS::Key", "Arn"}:          arnLength("kms", true, len("key/")+36),
	{"AWS::Events::Rule", "Arn"}:      arnLength("events", true, len("rule/")+256+1+64),
}

// worstCase returns a stand-in for the deployed value of v, a template
// value: literal text as it is, each reference as that many characters as
// its longest deployed value. A reference of a kind not in the tables
// above is an error, so that a new kind of variable is measured, not
// guessed.
func worstCase(v any, types map[string]string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64, bool:
		return fmt.Sprint(x), nil
	case map[string]any:
		if len(x) != 1 {
			break
		}
		if ref, ok := x["Ref"].(string); ok {
			if n, ok := maxPseudo[ref]; ok {
				return strings.Repeat("x", n), nil
			}
			if n, ok := maxRef[types[ref]]; ok {
				return strings.Repeat("x", n), nil
			}
			return "", fmt.Errorf("no longest value known for a Ref of %s (%s): add its type to maxRef", ref, types[ref])
		}
		if att, ok := x["Fn::GetAtt"].([]any); ok && len(att) == 2 {
			id, _ := att[0].(string)
			name, _ := att[1].(string)
			if n, ok := maxGetAtt[[2]string{types[id], name}]; ok {
				return strings.Repeat("x", n), nil
			}
			return "", fmt.Errorf("no longest value known for %s.%s (%s): add it to maxGetAtt", id, name, types[id])
		}
		if join, ok := x["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			parts, _ := join[1].([]any)
			out := make([]string, len(parts))
			for i, p := range parts {
				s, err := worstCase(p, types)
				if err != nil {
					return "", err
				}
				out[i] = s
			}
			return strings.Join(out, sep), nil
		}
	}
	b, _ := json.Marshal(v)
	return "", fmt.Errorf("cannot measure the template value %s", b)
}

// checkEnvironments measures the environment of every Lambda function of
// template (a synthesized CloudFormation template) with each name and ARN
// it references at its longest, and refuses one that could outgrow
// Lambda's 4 KB, naming its largest variables and the context keys, of
// those set (nil: all), that fill them.
func checkEnvironments(template map[string]any, set func(key string) bool) error {
	resources, _ := template["Resources"].(map[string]any)
	types := map[string]string{}
	for id, r := range resources {
		if m, ok := r.(map[string]any); ok {
			types[id], _ = m["Type"].(string)
		}
	}
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	// Functions whose environments are too big for the same reason share
	// one message.
	var reasons []string
	functions := map[string][]string{}
	for _, id := range ids {
		if types[id] != "AWS::Lambda::Function" {
			continue
		}
		r := resources[id].(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		envProp, _ := props["Environment"].(map[string]any)
		vars, _ := envProp["Variables"].(map[string]any)
		if len(vars) == 0 {
			continue
		}
		name := id
		if md, ok := r["Metadata"].(map[string]any); ok {
			if p, ok := md["aws:cdk:path"].(string); ok {
				name = p
			}
		}
		worst := make(map[string]string, len(vars))
		for k, v := range vars {
			s, err := worstCase(v, types)
			if err != nil {
				errs = append(errs, fmt.Errorf("function %s, variable %s: %w", name, k, err))
				continue
			}
			worst[k] = s
		}
		if reason := environmentTooLarge(worst, set); reason != "" {
			if functions[reason] == nil {
				reasons = append(reasons, reason)
			}
			functions[reason] = append(functions[reason], name)
		}
	}
	for _, reason := range reasons {
		fns := functions[reason]
		what := "the environment of function " + fns[0]
		if len(fns) > 1 {
			what = "the environments of functions " + strings.Join(fns[:len(fns)-1], ", ") + " and " + fns[len(fns)-1]
		}
		errs = append(errs, errors.New(what+" "+reason))
	}
	return errors.Join(errs...)
}

// environmentTooLarge says why env, a function's variables at their
// longest, could outgrow Lambda's limit, or "" when it cannot.
func environmentTooLarge(env map[string]string, set func(key string) bool) string {
	b, _ := json.Marshal(env) // strings only: cannot fail
	if len(b) <= maxEnvironmentBytes {
		return ""
	}
	type variable struct {
		name string
		size int
	}
	var list []variable
	for k, v := range env {
		e, _ := json.Marshal(v)
		list = append(list, variable{k, len(k) + len(e) + 4}) // "name":value,
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].size != list[j].size {
			return list[i].size > list[j].size
		}
		return list[i].name < list[j].name
	})
	var parts, keys []string
	for i, v := range list {
		var from []string
		for _, k := range envKeys[v.name] {
			if set == nil || set(k) {
				from = append(from, k)
			}
		}
		if i >= 3 && len(from) == 0 {
			continue // the largest three, and every one a setting fills
		}
		part := fmt.Sprintf("%s %d bytes", v.name, v.size)
		if len(from) > 0 {
			part += " (from " + strings.Join(from, ", ") + ")"
		}
		parts = append(parts, part)
		for _, k := range from {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	todo := "shorten the settings"
	if len(keys) > 0 {
		todo = "shorten " + strings.Join(keys, ", ")
	}
	return fmt.Sprintf("could take %d bytes once deployed, counting the names CloudFormation gives its resources at their longest, and Lambda allows %d for all of a function's variables together: %s. To deploy, %s by at least %d bytes",
		len(b), maxEnvironmentBytes, strings.Join(parts, ", "), todo, len(b)-maxEnvironmentBytes)
}

// setKeys reports which of the keys that fill the functions' environments
// cfg sets.
func setKeys(cfg config.Config) func(key string) bool {
	set := map[string]bool{
		config.KeySuppressions:         len(cfg.Suppressions) > 0,
		config.KeyAllowedInstanceTypes: len(cfg.AllowedInstanceTypes) > 0,
		config.KeyTrailBuckets:         len(cfg.TrailBuckets) > 0,
		config.KeyAllowedRegions:       len(cfg.AllowedRegions) > 0,
		config.KeyAlarmNames:           len(cfg.AlarmNames) > 0,
		config.KeyThresholds:           len(cfg.Thresholds) > 0,
		config.KeyRoutes:               len(cfg.Routes) > 0,
		config.KeySlackSecretName:      cfg.SlackSecretName != "",
		config.KeyOrganizationTargets:  len(cfg.OrganizationTargets) > 0,
		config.KeyMemberRegions:        len(cfg.MemberRegions) > 0,
	}
	return func(key string) bool { return set[key] }
}
