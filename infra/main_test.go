package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
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
				CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh,
				ScanMaxConcurrency: config.DefaultScanConcurrency},
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
			name:    "misspelt key",
			context: map[string]any{"trailwatch:email": "a@example.com"},
			wantErr: "did you mean " + config.KeyEmails,
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

// TestConfigErrorsStopWithTheMessage: a setting the constructs refuse (a
// rule name past EventBridge's 64 characters) stops the synth with a
// message naming what to change and exit code 1, not a goroutine trace.
func TestConfigErrorsStopWithTheMessage(t *testing.T) {
	catalog, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	code := func() (code int) {
		defer stopOnConfigError(&out, &code)
		stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Trailwatch"+strings.Repeat("x", 60)), nil)
		fn := awslambda.Function_FromFunctionArn(stack, jsii.String("Fn"), jsii.String("arn:aws:lambda:eu-west-1:111122223333:function:probe"))
		NewDetectionRules(stack, "Rules", &DetectionRulesProps{Detections: catalog.All()[:1], Function: fn, InstanceFunction: fn,
			DeadLetterQueue: awssqs.NewQueue(stack, jsii.String("Queue"), nil)})
		return 0
	}()
	if code != 1 {
		t.Fatalf("code = %d, want 1", code)
	}
	for _, w := range []string{"longer than EventBridge's 64 characters", "shorter stack name", "CDK context"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("message %q does not say %q", out.String(), w)
		}
	}
	if strings.Contains(out.String(), "goroutine ") {
		t.Errorf("message holds a goroutine trace: %s", out.String())
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

// TestBadSettingsExitWithTheMessage runs the app as cdk does (the built
// binary, its context in CDK_CONTEXT_JSON, from the repository root) with
// bad settings: each exits 1 with the message naming the key, without a
// goroutine trace and without jsii-runtime-go's reaping-race line, which
// about half the runs printed before closeJSII (so seven runs miss it with
// a chance of 1 in 128).
func TestBadSettingsExitWithTheMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the app")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "infra")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		context map[string]any
		want    []string
	}{
		{map[string]any{config.KeyCPUPeriodMinutes: float64(60), config.KeyCPUDatapoints: float64(24)}, []string{config.KeyCPUDatapoints, "at most 180"}},
		{map[string]any{config.KeyCPUPeriodMinutes: "1"}, []string{config.KeyCPUDetailedMonitoring + "=true"}},
		{map[string]any{config.KeyAlarmNames: []any{"a*b", "c**"}}, []string{config.KeyAlarmNames, `"a*b"`, `"c**"`, "single *"}},
		{map[string]any{config.KeyCPUAlarmGroups: "web asg,web-asg"}, []string{config.KeyCPUAlarmGroups, "same alarm name"}},
		{map[string]any{config.KeyRetentionDays: float64(30)}, []string{config.KeyRetentionDays, "at least 365"}},
		{map[string]any{"trailwatch:cpuThresold": float64(90)}, []string{"trailwatch:cpuThresold is not a trailwatch setting", "did you mean " + config.KeyCPUThreshold + "?"}},
		{map[string]any{config.KeyEmails: map[string]any{"to": "a@example.com"}}, []string{config.KeyEmails, "got an object"}},
		{map[string]any{config.KeyRoutes: `[{"name":"a","accounts":["111122223333"]}]`}, []string{config.KeyRoutes, "without " + config.KeyOrganizationID}},
	} {
		ctx, err := json.Marshal(tc.context)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(string(ctx), func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CDK_CONTEXT_JSON="+string(ctx), "CDK_OUTDIR="+t.TempDir(),
				"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr.String())
			}
			got := stderr.String()
			for _, w := range append(tc.want, "invalid configuration in CDK context") {
				if !strings.Contains(got, w) {
					t.Errorf("stderr does not say %q:\n%s", w, got)
				}
			}
			for _, bad := range []string{"goroutine ", "panic:", "Runtime process exited abnormally"} {
				if strings.Contains(got, bad) {
					t.Errorf("stderr holds %q:\n%s", bad, got)
				}
			}
		})
	}
}

// TestOversizedEnvironmentExitsWithTheMessage synthesizes the whole app
// as cdk does, without a region (the forwarder warning's path), with more
// allowed instance types than the functions' environment can hold at the
// longest names CloudFormation may give: the synth ends with status 1 and
// the message naming the key, no trace.
func TestOversizedEnvironmentExitsWithTheMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the app")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	b, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err == nil {
		err = json.Unmarshal(b, &cdkJSON)
	}
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "infra")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A repository root of its own, with stand-in function executables.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module probe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range requiredFunctions {
		if err := os.MkdirAll(filepath.Join(dir, functionsDir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, functionsDir, name, "bootstrap"), []byte("probe"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	types := make([]any, 230)
	for i := range types {
		types[i] = fmt.Sprintf("p%d.48xlarge", i)
	}
	cdkJSON.Context[config.KeyAllowedInstanceTypes] = types
	ctx, err := json.Marshal(cdkJSON.Context)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CDK_DEFAULT_REGION=") && !strings.HasPrefix(kv, "AWS_REGION=") && !strings.HasPrefix(kv, "AWS_DEFAULT_REGION=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "CDK_CONTEXT_JSON="+string(ctx), "CDK_OUTDIR="+t.TempDir(),
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	got := stderr.String()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, got)
	}
	for _, w := range []string{"the environments of functions ", config.EnvSettings, "(from " + config.KeyAllowedInstanceTypes + ")", "shorten " + config.KeyAllowedInstanceTypes + " by at least"} {
		if !strings.Contains(got, w) {
			t.Errorf("stderr does not say %q:\n%s", w, got)
		}
	}
	for _, bad := range []string{"goroutine ", "panic:", "Runtime process exited abnormally"} {
		if strings.Contains(got, bad) {
			t.Errorf("stderr holds %q:\n%s", bad, got)
		}
	}
}

func TestDropReapingRace(t *testing.T) {
	in := "trailwatch: deploys to eu-west-1\n" + reapingRace + "could not clean up temporary directory: x\n"
	if got, want := string(dropReapingRace([]byte(in))), "trailwatch: deploys to eu-west-1\ncould not clean up temporary directory: x\n"; got != want {
		t.Errorf("dropReapingRace = %q, want %q", got, want)
	}
	other := "Runtime process exited abnormally: exit status 1"
	if got := string(dropReapingRace([]byte(other))); got != other {
		t.Errorf("dropReapingRace drops a real failure: %q", got)
	}
}
