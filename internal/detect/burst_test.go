package detect_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
)

// TestRegionsBurstSteps: which writes count towards regions-burst, the
// region they count and the severity of the step. Event values are the
// caller's to choose in replay: a malformed region or a missing readOnly
// counts nothing.
func TestRegionsBurstSteps(t *testing.T) {
	const name = "ec2/regions-burst-create-launch-template.json"
	for _, tt := range []struct {
		name    string
		replace []string
		counted []string // nil: no step
		sev     detect.Severity
	}{
		{"deployment call", nil, []string{"eu-central-1"}, detect.SeverityMedium},
		{"launch", []string{`"CreateLaunchTemplate"`, `"RunInstances"`}, []string{"eu-central-1"}, detect.SeverityHigh},
		{"key pair", []string{`"CreateLaunchTemplate"`, `"ImportKeyPair"`}, []string{"eu-central-1"}, detect.SeverityHigh},
		{"Lambda", []string{`"ec2.amazonaws.com"`, `"lambda.amazonaws.com"`, `"CreateLaunchTemplate"`, `"CreateFunction20150331"`}, []string{"eu-central-1"}, detect.SeverityMedium},
		{"failed call still counts", []string{`"eventName"`, `"errorCode": "Client.OptInRequired", "eventName"`}, []string{"eu-central-1"}, detect.SeverityMedium},
		{"long-term key", []string{`"type": "AssumedRole",`, `"type": "IAMUser",`, "ASIAYEXAMPLEAPPDEP01", "AKIAYEXAMPLEAPPDEP01"}, []string{"eu-central-1"}, detect.SeverityHigh},
		{"long-term key launching", []string{`"type": "AssumedRole",`, `"type": "IAMUser",`, "ASIAYEXAMPLEAPPDEP01", "AKIAYEXAMPLEAPPDEP01", `"CreateLaunchTemplate"`, `"RunInstances"`}, []string{"eu-central-1"}, detect.SeverityCritical},
		{"another account", []string{`"accountId": "111122223333",`, `"accountId": "444455556666",`}, []string{"eu-central-1"}, detect.SeverityHigh},
		{"another write", []string{`"CreateLaunchTemplate"`, `"CreateTags"`}, nil, 0},
		{"a launch name of another service", []string{`"ec2.amazonaws.com"`, `"ecs.amazonaws.com"`}, nil, 0},
		{"read", []string{`"readOnly": false`, `"readOnly": true`}, nil, 0},
		{"readOnly missing", []string{`"readOnly": false,`, ``}, nil, 0},
		{"data event", []string{`"managementEvent": true`, `"managementEvent": false`}, nil, 0},
		{"malformed region", []string{`"awsRegion": "eu-central-1"`, `"awsRegion": "eu-central-1\nus-east-1"`}, nil, 0},
		{"empty region", []string{`"awsRegion": "eu-central-1"`, `"awsRegion": ""`}, nil, 0},
		{"AWS service", []string{`"type": "AssumedRole",`, `"type": "AWSService",`}, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkStep(t, "regions-burst", name, tt.replace, tt.counted, tt.sev)
		})
	}
}

// TestBedrockInvocationSteps: which model calls count towards
// bedrock-invocation-burst, and as which item.
func TestBedrockInvocationSteps(t *testing.T) {
	const name = "bedrock/bedrock-invocation-burst-converse.json"
	const model = "anthropic.claude-3-haiku-20240307-v1:0"
	for _, tt := range []struct {
		name    string
		replace []string
		counted []string // nil: no step
		sev     detect.Severity
	}{
		{"converse", nil, []string{model + " in us-west-2"}, detect.SeverityHigh},
		{"stream", []string{`"Converse"`, `"InvokeModelWithResponseStream"`}, []string{model + " in us-west-2"}, detect.SeverityHigh},
		{"validation probe", []string{`"eventName"`, `"errorCode": "ValidationException", "eventName"`}, []string{model + " in us-west-2"}, detect.SeverityHigh},
		{"instance credentials", []string{`"webIdFederationData": {},`, `"ec2RoleDelivery": "2.0",`}, []string{model + " in us-west-2"}, detect.SeverityCritical},
		{"denied", []string{`"eventName"`, `"errorCode": "AccessDeniedException", "eventName"`}, nil, 0},
		{"model not recorded", []string{`"modelId": "` + model + `"`, `"modelId": null`}, nil, 0},
		{"model of another shape", []string{`"modelId": "` + model + `"`, `"modelId": "claude\nin us-east-1"`}, nil, 0},
		{"model ID over 256 characters", []string{`"modelId": "` + model + `"`, `"modelId": "` + strings.Repeat("m", 257) + `"`}, nil, 0},
		{"model as a number", []string{`"modelId": "` + model + `"`, `"modelId": 7`}, nil, 0},
		{"not an invocation", []string{`"Converse"`, `"ListFoundationModels"`}, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkStep(t, "bedrock-invocation-burst", name, tt.replace, tt.counted, tt.sev)
		})
	}
}

// checkStep evaluates detection id on the fixture name with replace applied
// and checks the step it counts: counted nil means no step.
func checkStep(t *testing.T, id, name string, replace, counted []string, sev detect.Severity) {
	t.Helper()
	f, ok := findingOf(t, id, name, replace...)
	if ok != (counted != nil) {
		t.Fatalf("step = %t (%+v), want %t", ok, f, counted != nil)
	}
	if !ok {
		return
	}
	if !slices.Equal(f.Counted, counted) || f.Severity != sev {
		t.Errorf("counted %q at %s, want %q at %s", f.Counted, f.Severity, counted, sev)
	}
}
