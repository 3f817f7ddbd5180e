package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
)

func TestReadConfig(t *testing.T) {
	tests := []struct {
		name    string
		context map[string]any
		want    config.Config // checked when wantErr is empty
		wantErr string        // substring of the error
	}{
		{
			name: "empty context is the default",
			want: config.Default(),
		},
		{
			name: "values as -c passes them",
			context: map[string]any{
				config.KeyEmails:          "a@example.com, b@example.com",
				config.KeySlackSecretName: "trailwatch/slack-webhook",
				config.KeyRetentionDays:   "730",
			},
			want: config.Config{Emails: []string{"a@example.com", "b@example.com"}, SlackSecretName: "trailwatch/slack-webhook", RetentionDays: 730, ForwardRegions: []string{"us-east-1"}, StormWindowMinutes: 5,
				CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh},
		},
		{
			name:    "retention below a year",
			context: map[string]any{config.KeyRetentionDays: "30"},
			wantErr: config.KeyRetentionDays,
		},
		{
			name:    "retention below a year from cdk.json",
			context: map[string]any{config.KeyRetentionDays: 30},
			wantErr: config.KeyRetentionDays,
		},
		{
			name:    "webhook URL instead of secret name",
			context: map[string]any{config.KeySlackSecretName: "https://hooks.slack.com/services/T000/B000/XXXX"},
			wantErr: config.KeySlackSecretName,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := constructs.NewRootConstruct(jsii.String(""))
			for k, v := range tt.context {
				root.Node().SetContext(jsii.String(k), v)
			}
			got, err := readConfig(root.Node())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readConfig error = %v, want one naming %s", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "CDK context") {
					t.Errorf("error %q does not say the configuration comes from CDK context", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("readConfig: %v", err)
			}
			if !equalJSON(got, tt.want) {
				t.Errorf("readConfig = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckFunctions(t *testing.T) {
	dir := t.TempDir()
	err := checkFunctions(dir)
	if err == nil || !strings.Contains(err.Error(), "./scripts/build-functions") {
		t.Fatalf("checkFunctions on an empty folder = %v, want an error telling to run ./scripts/build-functions", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "cloudtrail", "bootstrap"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkFunctions(dir); err == nil {
		t.Error("checkFunctions accepts a directory named bootstrap")
	}
	other := t.TempDir()
	for _, name := range requiredFunctions {
		if err := os.MkdirAll(filepath.Join(other, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(other, name, "bootstrap"), []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := checkFunctions(other); err != nil {
		t.Errorf("checkFunctions with bootstrap present: %v", err)
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cdk.json")); err != nil {
		t.Errorf("repoRoot = %s, which holds no cdk.json: %v", root, err)
	}
}

// TestTooLargeSettingsAreAConfigError: settings that do not fit Lambda's
// environment stop the synth with a message naming the keys to shorten,
// which run prints without a goroutine trace.
func TestTooLargeSettingsAreAConfigError(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("SettingsProbe"), nil)
	topic := awssns.NewTopic(stack, jsii.String("Topic"), nil)
	queue := awssqs.NewQueue(stack, jsii.String("Queue"), nil)
	dir := t.TempDir()
	settings := config.Settings{Env: detect.Env{AllowedInstanceTypes: make([]string, 2000)}}
	for i := range settings.Env.AllowedInstanceTypes {
		settings.Env.AllowedInstanceTypes[i] = "p5.48xlarge"
	}
	var got any
	func() {
		defer func() { got = recover() }()
		NewAlertFunction(stack, "Fn", &AlertFunctionProps{CodeDir: dir, Topic: topic, DeadLetterQueue: queue, Settings: settings, Description: "probe"})
	}()
	e, ok := got.(configError)
	if !ok {
		t.Fatalf("recovered %v (%T), want a configError", got, got)
	}
	if !strings.Contains(e.Error(), config.KeyAllowedInstanceTypes) || !strings.Contains(e.Error(), "shorten the lists") {
		t.Errorf("error %q does not name the key and what to do", e)
	}
}

// TestReadmeBootstrapsWhatTheAppDeploys: the README's bootstrap command is
// the one the app prints for its default configuration (the home region
// and us-east-1, where the forwarder goes).
func TestReadmeBootstrapsWhatTheAppDeploys(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := bootstrapCommand("ACCOUNT", "REGION", homeForwardRegions(config.Default(), "REGION"))
	if !strings.Contains(string(readme), want+" ") {
		t.Errorf("README does not bootstrap %q", want)
	}
	if got := bootstrapCommand("111122223333", "eu-west-1", []string{"us-east-1", "ap-southeast-2"}); got != "npx cdk bootstrap aws://111122223333/eu-west-1 aws://111122223333/us-east-1 aws://111122223333/ap-southeast-2" {
		t.Errorf("bootstrapCommand = %q", got)
	}
}
