// Command infra is trailwatch's CDK app: one stack, "Trailwatch", holding
// the trail, the detection rules generated from the catalog, the CloudTrail
// function and the alert path. cdk.json runs it (`go run ./infra`) after its
// build step (scripts/build-functions) has compiled the functions.
//
// Configuration comes from CDK context (cdk.json or -c key=value), see
// internal/config.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/sigma"
)

// stackName is the one stack this app deploys.
const stackName = "Trailwatch"

// functionsDir is where scripts/build-functions puts the executables,
// relative to the repository root.
var functionsDir = filepath.Join("build", "functions")

// requiredFunctions must each have a bootstrap in functionsDir: cloudtrail
// and digest also in their builds with the Sigma evaluator.
var requiredFunctions = []string{"cloudtrail", "cloudtrail" + sigmaBuildSuffix, "digest", "digest" + sigmaBuildSuffix, "instance", "scan"}

func main() {
	code := run(os.Stderr)
	closeJSII()
	os.Exit(code)
}

// reapingRace is what jsii-runtime-go prints when its two waits for the
// node process race (see closeJSII).
const reapingRace = "Runtime process exited abnormally: waitid: no child processes"

// closeJSII stops the jsii runtime's node process without the stray
// "Runtime process exited abnormally: waitid: no child processes" that about
// half the synths printed. jsii-runtime-go (v1.139.0,
// internal/kernel/process/process.go) waits for that process twice at once:
// the goroutine it starts with the process calls cmd.Wait and prints that
// line to os.Stderr when Wait fails, and Close calls cmd.Wait too. Whichever
// reaps the exited process first wins; the other's waitid fails with ECHILD.
// Nothing went wrong (the process exited 0), so while Close runs os.Stderr
// is a pipe that passes everything on but that one message, and a write
// after Close returns goes nowhere. docs/development.md tells more.
func closeJSII() {
	r, w, err := os.Pipe()
	if err != nil {
		jsii.Close()
		return
	}
	stderr := os.Stderr
	done := make(chan struct{})
	go func() {
		defer close(done)
		b, _ := io.ReadAll(r)
		stderr.Write(dropReapingRace(b))
	}()
	os.Stderr = w
	jsii.Close()
	// os.Stderr stays the closed pipe: the losing wait may print after
	// Close returns, and the process exits next.
	w.Close()
	<-done
}

// dropReapingRace removes jsii-runtime-go's reaping-race message (written
// without a newline) from b.
func dropReapingRace(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte(reapingRace), nil)
}

// configError is a setting the stacks cannot be built with (a rule name
// too long for EventBridge): the constructs
// stop with it, and run reports it as a message naming what to change, not
// as a Go panic with its goroutine trace.
type configError struct{ msg string }

func (e configError) Error() string { return e.msg }

// badConfig stops building the stacks with a configError.
func badConfig(format string, args ...any) {
	panic(configError{msg: fmt.Sprintf(format, args...)})
}

// stopOnConfigError, deferred, turns a configError panic into its message
// on stderr and the exit code 1; any other panic goes on, with its trace.
func stopOnConfigError(stderr io.Writer, code *int) {
	if r := recover(); r != nil {
		e, ok := r.(configError)
		if !ok {
			panic(r)
		}
		fmt.Fprintf(stderr, "trailwatch: invalid configuration in CDK context (cdk.json or -c):\n%v\n", e)
		*code = 1
	}
}

func run(stderr io.Writer) (code int) {
	defer stopOnConfigError(stderr, &code)
	app := awscdk.NewApp(nil)
	cfg, err := readConfig(app.Node())
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch: %v\n", err)
		return 1
	}
	for _, w := range cfg.SigmaWarnings {
		fmt.Fprintf(stderr, "trailwatch: %s\n", w)
	}
	catalog, err := detect.BuiltinWith(cfg.Sigma...) // the user's Sigma rules (trailwatch:sigmaRules) beside the built-in ones
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch: detection catalog: %v\n", err)
		return 1
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch: %v\n", err)
		return 1
	}
	dir := filepath.Join(root, functionsDir)
	if err := checkFunctions(dir); err != nil {
		fmt.Fprintf(stderr, "trailwatch: %v\n", err)
		return 1
	}

	// The CDK CLI sets these from the profile; without a region the stack
	// stays environment-agnostic and no forwarder can be addressed.
	home, account := os.Getenv("CDK_DEFAULT_REGION"), os.Getenv("CDK_DEFAULT_ACCOUNT")
	props := &TrailwatchStackProps{Config: cfg, Catalog: catalog, FunctionsDir: dir}
	if home != "" {
		props.Env = &awscdk.Environment{Region: jsii.String(home), Account: optional(account)}
	}
	// Forwarders and member stacks use the patterns the home rules use
	// under these settings.
	deployed, err := catalog.WithEnv(cfg.Settings().Env)
	if err == nil {
		err = deployed.Compile() // the rules' patterns, as the matcher reads them
	}
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch: detection catalog: %v\n", err)
		return 1
	}
	if cfg.Organization() {
		member, err := NewMemberTemplate(nil, memberStackProps(cfg, home, deployed))
		if err != nil {
			fmt.Fprintf(stderr, "trailwatch: %v\n", err)
			return 1
		}
		defer os.RemoveAll(member.Dir)
		props.Member = member
	}
	mainStack := NewTrailwatchStack(app, stackName, props)
	regions := forwardRegions(home, homeForwardRegions(cfg, home))
	for _, r := range regions {
		NewForwarderStack(app, forwarderStackID(r), &ForwarderStackProps{
			StackProps: awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String(r), Account: optional(account)}},
			HomeRegion: home,
			Emails:     cfg.Emails,
			Detections: deployed.All(),
			Pattern:    deployed.PatternOf,
		})
	}
	if home == "" && len(cfg.ForwardRegions) > 0 {
		awscdk.Annotations_Of(mainStack.Stack).AddWarningV2(jsii.String("trailwatch:noForwarders"), jsii.String(
			"the deployment region is unknown at synth (no AWS_REGION or profile region), so no forwarder stack was made: "+
				"IAM, STS, sign-in and Organizations events reach EventBridge only in us-east-1. Synthesize with a region to get them."))
	}
	if home != "" {
		// cdk deploy --all needs the CDK bootstrap stack (deploy role,
		// asset bucket) in every region a stack of this app goes to.
		fmt.Fprintf(stderr, "trailwatch: deploys to %s; bootstrap each once: %s\n",
			strings.Join(append([]string{home}, regions...), ", "), bootstrapCommand(accountOrPlaceholder(account), home, regions))
	}
	addNagChecks(app)
	asm := app.Synth(nil)
	// The functions' environments, measured in the templates, where every
	// variable is set and every name CloudFormation will choose is a
	// reference of a known type.
	var errs []error
	for _, st := range *asm.Stacks() {
		template, ok := st.Template().(map[string]any)
		if !ok {
			fmt.Fprintf(stderr, "trailwatch: the template of %s is not a JSON object\n", *st.StackName())
			return 1
		}
		errs = append(errs, checkEnvironments(template, setKeys(cfg)))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "trailwatch: invalid configuration in CDK context (cdk.json or -c):\n%v\n", err)
		return 1
	}
	return 0
}

// bootstrapCommand is the CDK bootstrap of every region the app deploys
// to: the home region, then the forwarded ones.
func bootstrapCommand(account, home string, forwarded []string) string {
	envs := []string{"aws://" + account + "/" + home}
	for _, r := range forwarded {
		envs = append(envs, "aws://"+account+"/"+r)
	}
	return "npx cdk bootstrap " + strings.Join(envs, " ")
}

func accountOrPlaceholder(account string) string {
	if account == "" {
		return "ACCOUNT"
	}
	return account
}

// nagPackNames are the cdk-nag packs addNagChecks applies: every rule ID of
// a pack, and every report it writes beside the templates, starts with its
// name.
var nagPackNames = []string{"AwsSolutions", "Serverless"}

// nagFinding matches the message of a cdk-nag finding from any pack the app
// runs (nagPackNames): "<pack>-<rule>: ...", or the CdkNagValidationFailure
// warning of a rule that could not check a resource, which names the rule
// in brackets.
var nagFinding = regexp.MustCompile(`\b(` + strings.Join(nagPackNames, "|") + `)-`)

// addNagChecks runs cdk-nag's AwsSolutions and Serverless packs on every
// synthesis of scope. An unsuppressed finding is an error or warning
// annotation; the tests fail on either.
func addNagChecks(scope constructs.IConstruct) {
	props := &cdknag.NagPackProps{Verbose: jsii.Bool(true)}
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(props), nil)
	awscdk.Aspects_Of(scope).Add(cdknag.NewServerlessChecks(props), nil)
}

// memberStackProps are the member template's settings for a deployment
// in home.
func memberStackProps(cfg config.Config, home string, deployed *detect.Catalog) *MemberStackProps {
	return &MemberStackProps{
		Detections:       deployed.All(),
		Pattern:          deployed.PatternOf,
		CPUThreshold:     cfg.CPUThreshold,
		CPUPeriodMinutes: cfg.CPUPeriodMinutes,
		CPUDatapoints:    cfg.CPUDatapoints,
		LookupRoleRegion: lookupRoleRegion(home, cfg.MemberRegionsFor(home)),
	}
}

// homeForwardRegions are the regions whose events the home account
// forwards to home: the configured ones, and in organization mode the
// member regions too, so that the home account is watched wherever its
// members are (it gets no member stack).
func homeForwardRegions(cfg config.Config, home string) []string {
	regions := slices.Clone(cfg.ForwardRegions)
	if cfg.Organization() {
		for _, r := range cfg.MemberRegionsFor(home) {
			if !slices.Contains(regions, r) {
				regions = append(regions, r)
			}
		}
	}
	return regions
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}

// readConfig reads and validates the configuration from CDK context. Its
// errors name the context keys to fix.
func readConfig(node constructs.Node) (config.Config, error) {
	cfg, err := config.FromContext(func(key string) any { return node.TryGetContext(jsii.String(key)) })
	if err == nil {
		err = cfg.LoadSigma(sigma.Load) // the user's Sigma rules, as the functions' layer will hold them
	}
	if all, ok := node.GetAllContext(nil).(map[string]any); ok {
		err = errors.Join(config.CheckKeys(all), err) // a misspelt key first: it may explain the rest
	}
	if err != nil {
		return cfg, fmt.Errorf("invalid configuration in CDK context (cdk.json or -c):\n%w", err)
	}
	return cfg, nil
}

// checkFunctions makes sure every function was built into dir.
func checkFunctions(dir string) error {
	var errs []error
	for _, name := range requiredFunctions {
		p := filepath.Join(dir, name, "bootstrap")
		info, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("%s is missing: run ./scripts/build-functions from the repository root "+
				"(cdk runs it itself through the \"build\" step of cdk.json)", p))
		case err != nil:
			errs = append(errs, err)
		case info.IsDir():
			errs = append(errs, fmt.Errorf("%s is a directory, not the function executable", p))
		}
	}
	return errors.Join(errs...)
}

// repoRoot finds the folder holding go.mod, walking up from the working
// directory; cdk runs the app from the folder of cdk.json, the root.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run the app from the trailwatch repository")
		}
		dir = parent
	}
}
