//lint:file-ignore SA1019 cxapi.SynthesisMessage is what assertions and the Go CDK return for annotations; its successor (@aws-cdk/cloud-assembly-api) has no Go binding in awscdk v2.270.0.

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/sigma"
)

var update = flag.Bool("update", false, "rewrite the golden template in testdata/")

// Test configuration of the main stack.
var (
	testEmails          = []string{"secops@example.com", "oncall@example.com"}
	testSlackSecretName = "trailwatch/slack-webhook"
	testRetentionDays   = 400
	testCPUInstance     = "i-0a1b2c3d4e5f60718"
	testCPUGroup        = "batch-workers"
	testUserAlarm       = "web-cpu-high"
)

// The forwarder test stack forwards us-east-1 to a home in eu-west-1.
const (
	testForwardRegion = "us-east-1"
	testHomeRegion    = "eu-west-1"
)

// testSigmaRules is the folder of Sigma rules the second test stack
// deploys: supported and refused ones.
var testSigmaRules = filepath.Join("..", "internal", "sigma", "testdata", "rules")

// readOnlyProbeID is a detection that exists only in the second test stack,
// to prove how rules of read-only detections are enabled.
const readOnlyProbeID = "test-read-only-probe"

// synthesized is the one synthesis all tests of the package share: building
// and synthesizing through jsii takes seconds, so it happens once.
type synthesized struct {
	catalog *detect.Catalog
	cfg     config.Config

	// stack is the production shape, configured like a real deployment.
	stack    *TrailwatchStack
	template assertions.Template
	json     map[string]any

	// existing relies on an existing trail, has neither emails nor Slack,
	// and its catalog holds one extra detection that needs read-only events.
	existing         *TrailwatchStack
	existingCatalog  *detect.Catalog
	existingTemplate assertions.Template
	existingJSON     map[string]any

	// annotations are the main stack's messages; existingMessages the
	// second stack's, read from the same cloud assembly.
	annotations      assertions.Annotations
	existingMessages []*cxapi.SynthesisMessage

	// forwarder forwards us-east-1's events to a stack in eu-west-1.
	forwarder         *ForwarderStack
	forwarderJSON     map[string]any
	forwarderMessages []*cxapi.SynthesisMessage
	// outdir holds the cloud assembly, cdk-nag's reports included.
	outdir string

	// org is organization mode as the issue checks it: organization
	// o-a1b2c3d4e5, target r-ab12, member regions us-east-1, eu-west-1 and
	// ap-southeast-2, home eu-west-1 in account testHomeAccount.
	org         *TrailwatchStack
	orgCfg      config.Config
	orgJSON     map[string]any
	orgMessages []*cxapi.SynthesisMessage
	// orgDeployed is the catalog under the org stack's settings (its
	// Settings: the configuration's plus its own names), as its central and
	// home rules and its functions decide.
	orgDeployed *detect.Catalog
	// memberDeployed is the catalog under the organization configuration's
	// settings, which the member template's forwarding rules are built
	// from (main.go builds the member template before the stack, from
	// cfg.Settings()): patterns a detection narrows to trailwatch's own
	// names stay broad there, and the central rules narrow them.
	memberDeployed *detect.Catalog
	// member is the member template the org stack's StackSet deploys.
	member *MemberTemplate
	// assetProbe holds a StackSet whose template is given as a file asset,
	// as a member template larger than TemplateBody allows would be.
	assetProbe      awscdk.Stack
	assetProbeJSON  map[string]any
	assetProbeAsset awss3assets.Asset
}

// The distributed scan: the existing-trail stack scans an organization
// archive of another bucket, the organization stack its own trail's.
const (
	testScanArchive     = "s3://org-archive/AWSLogs/o-a1b2c3d4e5/"
	testScanArchiveKey  = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	testScanConcurrency = "250"
)

// Organization mode of the test app.
const (
	testOrganizationID = "o-a1b2c3d4e5"
	testOrgTarget      = "r-ab12"
	testHomeAccount    = "111122223333"
	testOrgStack       = "TrailwatchOrg"
)

var testMemberRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-2"}

// testRoutes are the organization stack's routes: one with a Slack webhook
// of its own, one with emails of its own, one with a floor only.
const testRoutes = `[
	{"name": "prod", "ous": ["ou-ab12-11111111"], "minSeverity": "medium", "slackSecretName": "trailwatch/slack-prod"},
	{"name": "payments", "accounts": ["444455556666"], "emails": ["payments-sec@example.com"]},
	{"name": "sandbox", "ous": ["ou-ab12-22222222"], "minSeverity": "high"}
]`

// synthesisCount counts syntheses of the test app: the tests share one.
var synthesisCount atomic.Int32

// synthCounter is a validation on the app, which every synthesis runs.
type synthCounter struct{}

func (*synthCounter) Validate() *[]*string {
	synthesisCount.Add(1)
	return &[]*string{}
}

var (
	synthOnce   sync.Once
	synthResult *synthesized
	synthErr    error
	tempDirs    []string
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Keep jsii's Node.js version banners out of the test output; the
	// runtime starts on the first jsii call and inherits the environment.
	for k, v := range map[string]string{
		"JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION":  "1",
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
	} {
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
	code := m.Run()
	if n := synthesisCount.Load(); n > 1 {
		fmt.Fprintf(os.Stderr, "FAIL: the test app was synthesized %d times; tests must share one synthesis\n", n)
		code = 1
	}
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	// jsii.Close waits for the Node.js process while a goroutine of
	// jsii-runtime-go (kernel/process/process.go) waits for it too, which
	// the race detector reports as a data race in that library. Under -race
	// the Node.js process ends with ours instead (its stdin closes), leaving
	// the runtime's temporary folder (jsii-runtime.*, about 2 MB) behind.
	if !raceDetector {
		jsii.Close()
	}
	os.Exit(code)
}

// synth returns the shared synthesis, building it on first use.
func synth(t testing.TB) *synthesized {
	t.Helper()
	synthOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				synthErr = fmt.Errorf("synthesis panicked: %v", r)
			}
		}()
		synthResult, synthErr = buildTestApp()
	})
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	return synthResult
}

func buildTestApp() (*synthesized, error) {
	flags, err := featureFlags()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "trailwatch-infra-test-")
	if err != nil {
		return nil, err
	}
	tempDirs = append(tempDirs, dir)
	// The template test needs files called bootstrap, not real binaries.
	for _, name := range requiredFunctions {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return nil, err
		}
		// Each its own content, so each folder is its own asset
		// (TestSigmaBuilds tells them apart by hash).
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("placeholder for tests: "+name+"\n"), 0o755); err != nil {
			return nil, err
		}
	}

	catalog, err := detect.Builtin()
	if err != nil {
		return nil, err
	}
	all := catalog.All()
	probe := *all[0]
	probe.ID = readOnlyProbeID
	probe.Title = "Probe for rules that need read-only events"
	probe.NeedsReadOnly = true
	// The second stack is also a -c trailwatch:sigmaRules=DIR synth: the
	// sigma package's mixed folder, its refused rules skipped.
	existingCfg, err := config.FromContext(func(key string) any {
		return map[string]any{
			config.KeyExistingTrail:        "organization-trail",
			config.KeySigmaRules:           testSigmaRules,
			config.KeySigmaSkipUnsupported: "true",
			config.KeyScanArchive:          testScanArchive,
			config.KeyScanArchiveKey:       testScanArchiveKey,
		}[key]
	})
	if err == nil {
		err = existingCfg.LoadSigma(sigma.Load)
	}
	if err != nil {
		return nil, err
	}
	existingCatalog, err := detect.New(append(append(all, &probe), existingCfg.Sigma...)...)
	if err != nil {
		return nil, err
	}

	cfg := config.Default()
	cfg.Emails = testEmails
	cfg.SlackSecretName = testSlackSecretName
	cfg.RetentionDays = testRetentionDays
	cfg.CPUAlarmInstances = []string{testCPUInstance}
	cfg.CPUAlarmGroups = []string{testCPUGroup}
	cfg.AlarmNames = []string{testUserAlarm}

	app := awscdk.NewApp(&awscdk.AppProps{Context: &flags})
	s := &synthesized{catalog: catalog, cfg: cfg, existingCatalog: existingCatalog}
	s.stack = NewTrailwatchStack(app, stackName, &TrailwatchStackProps{Config: cfg, Catalog: catalog, FunctionsDir: dir})
	s.existing = NewTrailwatchStack(app, "TrailwatchExisting", &TrailwatchStackProps{
		Config: existingCfg, Catalog: existingCatalog, FunctionsDir: dir,
	})
	s.forwarder = NewForwarderStack(app, forwarderStackID(testForwardRegion), &ForwarderStackProps{
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String(testForwardRegion)}},
		HomeRegion: testHomeRegion,
		Emails:     testEmails,
		Detections: existingCatalog.All(),
	})

	// Organization mode, configured through CDK context as -c would.
	orgCtx := map[string]any{
		config.KeyOrganizationID:      testOrganizationID,
		config.KeyOrganizationTargets: testOrgTarget,
		config.KeyMemberRegions:       strings.Join(testMemberRegions, ","),
		config.KeyEmails:              strings.Join(testEmails, ","),
		config.KeyAlarmNames:          testUserAlarm,
		config.KeyRoutes:              testRoutes,
		config.KeyScanArchive:         config.ScanArchiveTrail,
		config.KeyScanMaxConcurrency:  testScanConcurrency,
	}
	if s.orgCfg, err = config.FromContext(func(k string) any { return orgCtx[k] }); err != nil {
		return nil, err
	}
	if s.memberDeployed, err = catalog.WithEnv(s.orgCfg.Settings().Env); err != nil {
		return nil, err
	}
	// The member template is an app of its own (NewMemberTemplate): its
	// synthesis is not the test app's.
	if s.member, err = NewMemberTemplate(flags, memberStackProps(s.orgCfg, testHomeRegion, s.memberDeployed)); err != nil {
		return nil, err
	}
	tempDirs = append(tempDirs, s.member.Dir)
	s.org = NewTrailwatchStack(app, testOrgStack, &TrailwatchStackProps{
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String(testHomeRegion), Account: jsii.String(testHomeAccount)}},
		Config:     s.orgCfg, Catalog: catalog, FunctionsDir: dir, Member: s.member,
	})
	if s.orgDeployed, err = catalog.WithEnv(s.org.Settings.Env); err != nil {
		return nil, err
	}
	s.assetProbe = awscdk.NewStack(app, jsii.String("TemplateAssetProbe"), nil)
	probeProps := &awscloudformation.CfnStackSetProps{StackSetName: jsii.String("probe"), PermissionModel: jsii.String("SERVICE_MANAGED")}
	s.assetProbeAsset = memberTemplateSource(s.assetProbe, s.member, 1, probeProps)
	awscloudformation.NewCfnStackSet(s.assetProbe, jsii.String("Members"), probeProps)
	addNagChecks(app)

	app.Node().AddValidation(&synthCounter{})

	// Annotations_FromStack forces a synthesis of the whole app: it is the
	// one synthesis. Template_FromStack and app.Synth reuse its assembly,
	// which is also where the second stack's messages come from (a second
	// Annotations_FromStack would synthesize again).
	s.annotations = assertions.Annotations_FromStack(s.stack.Stack)
	s.template = assertions.Template_FromStack(s.stack.Stack, nil)
	s.existingTemplate = assertions.Template_FromStack(s.existing.Stack, nil)
	assembly := app.Synth(nil)
	if msgs := assembly.GetStackArtifact(s.existing.ArtifactId()).Messages(); msgs != nil {
		s.existingMessages = *msgs
	}
	if msgs := assembly.GetStackArtifact(s.forwarder.ArtifactId()).Messages(); msgs != nil {
		s.forwarderMessages = *msgs
	}
	if msgs := assembly.GetStackArtifact(s.org.ArtifactId()).Messages(); msgs != nil {
		s.orgMessages = *msgs
	}
	if s.orgJSON, err = plainJSON(assertions.Template_FromStack(s.org.Stack, nil).ToJSON()); err != nil {
		return nil, err
	}
	if s.assetProbeJSON, err = plainJSON(assertions.Template_FromStack(s.assetProbe, nil).ToJSON()); err != nil {
		return nil, err
	}
	if s.forwarderJSON, err = plainJSON(assertions.Template_FromStack(s.forwarder.Stack, nil).ToJSON()); err != nil {
		return nil, err
	}
	s.outdir = *assembly.Directory()
	if s.json, err = plainJSON(s.template.ToJSON()); err != nil {
		return nil, err
	}
	if s.existingJSON, err = plainJSON(s.existingTemplate.ToJSON()); err != nil {
		return nil, err
	}
	return s, nil
}

// featureFlags returns the @aws-cdk feature flags of cdk.json, so the tests
// synthesize what `cdk synth` does.
func featureFlags() (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join("..", "cdk.json"))
	if err != nil {
		return nil, err
	}
	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &cdkJSON); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	flags := map[string]any{}
	for k, v := range cdkJSON.Context {
		if strings.HasPrefix(k, "@aws-cdk/") {
			flags[k] = v
		}
	}
	return flags, nil
}

// plainJSON turns what jsii returns into plain Go JSON values.
func plainJSON(v *map[string]any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}

// ruled are the catalog's detections that get EventBridge rules: all but
// the Scheduled ones, which no rule ever feeds.
func ruled(c *detect.Catalog) []*detect.Detection {
	var out []*detect.Detection
	for _, d := range c.All() {
		if !d.Scheduled {
			out = append(out, d)
		}
	}
	return out
}

// assert runs an assertions call, which panics when it fails, and reports
// the failure on t instead of ending the test binary.
func assert(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

// resources returns the template's resources of one type, by logical ID.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	all, _ := tmpl["Resources"].(map[string]any)
	for id, r := range all {
		res, _ := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// props returns a resource's Properties.
func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

// logicalID returns the logical ID of the CloudFormation resource behind an
// L2 construct, or of an L1 construct itself.
func logicalID(t *testing.T, stack awscdk.Stack, c constructs.IConstruct) string {
	t.Helper()
	el, ok := c.(awscdk.CfnElement)
	if !ok {
		el, ok = c.Node().DefaultChild().(awscdk.CfnElement)
	}
	if !ok {
		t.Fatalf("%s has no CloudFormation element", *c.Node().Path())
	}
	id, ok := stack.Resolve(el.LogicalId()).(string)
	if !ok {
		t.Fatalf("logical ID of %s does not resolve to a string", *c.Node().Path())
	}
	return id
}

// ref and getAtt are CloudFormation intrinsics as the template holds them.
func ref(id string) obj { return obj{"Ref": id} }

func getAtt(id, attr string) obj { return obj{"Fn::GetAtt": arr{id, attr}} }

// obj is shorthand for assertion patterns.
type obj = map[string]any

// arr is shorthand for assertion patterns.
type arr = []any

func like(m obj) assertions.Matcher { return assertions.Match_ObjectLike(&m) }

func arrayWith(items ...any) assertions.Matcher {
	a := arr(items)
	return assertions.Match_ArrayWith(&a)
}

// equalJSON reports whether two values encode to the same JSON.
func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// findMessages returns the messages of one level whose text matches re, as
// Annotations.FindError and FindWarning do, for messages read from the
// cloud assembly.
func findMessages(msgs []*cxapi.SynthesisMessage, level cxapi.SynthesisMessageLevel, re *regexp.Regexp) []*cxapi.SynthesisMessage {
	var out []*cxapi.SynthesisMessage
	for _, m := range msgs {
		if m.Level == level && m.Entry != nil && re.MatchString(fmt.Sprint(m.Entry.Data)) {
			out = append(out, m)
		}
	}
	return out
}
