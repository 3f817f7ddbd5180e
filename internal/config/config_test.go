package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
	"github.com/trailwatch/trailwatch/internal/route"
	"github.com/trailwatch/trailwatch/internal/sigma"
	"github.com/trailwatch/trailwatch/internal/suppress"
)

func TestFromContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     map[string]any
		want    Config
		wantErr []string
	}{
		{name: "nothing set", ctx: nil, want: Default()},
		{
			name: "strings as -c passes them",
			ctx:  map[string]any{KeySlackSecretName: "trailwatch/slack-webhook", KeyEmails: "sec@example.com, ops@example.com", KeyRetentionDays: "400", KeyExistingTrail: "org-trail"},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh, SlackSecretName: "trailwatch/slack-webhook", Emails: []string{"sec@example.com", "ops@example.com"}, RetentionDays: 400, ExistingTrail: "org-trail", ForwardRegions: []string{"us-east-1"}},
		},
		{
			name: "JSON values from cdk.json",
			ctx:  map[string]any{KeyEmails: []any{"sec@example.com"}, KeyRetentionDays: float64(730), KeyExistingTrail: "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh, Emails: []string{"sec@example.com"}, RetentionDays: 730, ExistingTrail: "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail", ForwardRegions: []string{"us-east-1"}},
		},
		{name: "JSON list in a string", ctx: map[string]any{KeyEmails: `["a@example.com","b@example.com"]`}, want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh, Emails: []string{"a@example.com", "b@example.com"}, RetentionDays: 365, ForwardRegions: []string{"us-east-1"}}},
		{name: "retention too short", ctx: map[string]any{KeyRetentionDays: "90"}, wantErr: []string{"at least 365 days"}},
		{name: "retention not a number", ctx: map[string]any{KeyRetentionDays: "a year"}, wantErr: []string{KeyRetentionDays, "whole number"}},
		{name: "webhook URL instead of a secret name", ctx: map[string]any{KeySlackSecretName: "https://hooks.slack.com/services/T0/B0/XXXX"}, wantErr: []string{"looks like a webhook URL"}},
		{name: "bad secret name", ctx: map[string]any{KeySlackSecretName: "my secret!"}, wantErr: []string{"not a valid Secrets Manager secret name"}},
		{name: "bad email and duplicate", ctx: map[string]any{KeyEmails: "sec@example.com,Sec <x@example.com>,sec@example.com"}, wantErr: []string{"not a plain email", "listed twice"}},
		{name: "bad trail", ctx: map[string]any{KeyExistingTrail: "arn:aws:s3:::bucket"}, wantErr: []string{"neither a trail name nor a trail ARN"}},
		{name: "wrong JSON type", ctx: map[string]any{KeySlackSecretName: float64(3)}, wantErr: []string{"want a string"}},
		{
			name: "settings and allow-lists",
			ctx: map[string]any{KeyAllowedRegions: "eu-west-1,us-east-1", KeyAllowedInstanceTypes: []any{"g5.*"}, KeyTrailBuckets: "org-trail-logs",
				KeyForwardRegions: "us-east-1,eu-central-1",
				KeySuppressions:   `[{"detections":["security-group-changed"],"principals":["ci-deploy"],"reason":"Terraform owns security groups"}]`},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh, RetentionDays: 365, AllowedRegions: []string{"eu-west-1", "us-east-1"}, AllowedInstanceTypes: []string{"g5.*"},
				TrailBuckets: []string{"org-trail-logs"}, ForwardRegions: []string{"us-east-1", "eu-central-1"},
				Suppressions: []suppress.Rule{{Detections: []string{"security-group-changed"}, Principals: []string{"ci-deploy"}, Reason: "Terraform owns security groups"}}},
		},
		{
			name: "CPU alarms and alarm routing",
			ctx: map[string]any{KeyCPUThreshold: "90", KeyCPUPeriodMinutes: float64(1), KeyCPUDatapoints: "10", KeyCPUDetailedMonitoring: "true", KeyCPUAlarmInstances: "i-0a1b2c3d4e5f60718",
				KeyCPUAlarmGroups: []any{"batch-workers"}, KeyAlarmNames: "web-cpu-high", KeyAlarmResolved: "false", KeyAlarmInsufficientData: true},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, RetentionDays: 365, ForwardRegions: []string{"us-east-1"}, CPUThreshold: 90, CPUPeriodMinutes: 1, CPUDatapoints: 10, CPUDetailedMonitoring: true,
				CPUAlarmInstances: []string{"i-0a1b2c3d4e5f60718"}, CPUAlarmGroups: []string{"batch-workers"}, AlarmNames: []string{"web-cpu-high"},
				AlarmResolved: false, MiningMinSeverity: detect.SeverityHigh, AlarmInsufficientData: true},
		},
		{name: "CPU threshold", ctx: map[string]any{KeyCPUThreshold: "150"}, wantErr: []string{KeyCPUThreshold, "1 to 100"}},
		{name: "CPU period", ctx: map[string]any{KeyCPUPeriodMinutes: "7"}, wantErr: []string{KeyCPUPeriodMinutes, "1, 5, 10"}},
		{name: "CPU datapoints", ctx: map[string]any{KeyCPUDatapoints: "0"}, wantErr: []string{KeyCPUDatapoints}},
		{name: "bad instance ID", ctx: map[string]any{KeyCPUAlarmInstances: "web-1"}, wantErr: []string{KeyCPUAlarmInstances, "not an EC2 instance ID"}},
		{name: "groups sharing an alarm name", ctx: map[string]any{KeyCPUAlarmGroups: "web asg,web-asg"}, wantErr: []string{KeyCPUAlarmGroups, `"web asg" and "web-asg" would get the same alarm name`}},
		{name: "group listed twice", ctx: map[string]any{KeyCPUAlarmGroups: "batch,batch"}, wantErr: []string{KeyCPUAlarmGroups, "same alarm name"}},
		{name: "bad boolean", ctx: map[string]any{KeyAlarmResolved: "sometimes"}, wantErr: []string{KeyAlarmResolved, "true or false"}},
		{name: "mining severity", ctx: map[string]any{KeyMiningMinSeverity: "Critical"},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, RetentionDays: 365,
				ForwardRegions: []string{"us-east-1"}, MiningMinSeverity: detect.SeverityCritical}},
		{name: "mining severity off the scale", ctx: map[string]any{KeyMiningMinSeverity: "severe"}, wantErr: []string{KeyMiningMinSeverity, `unknown severity "severe"`, "info, low, medium, high, critical"}},
		{name: "mining severity as a number", ctx: map[string]any{KeyMiningMinSeverity: float64(7)}, wantErr: []string{KeyMiningMinSeverity, "severity name"}},
		{name: "storm window", ctx: map[string]any{KeyStormWindowMinutes: "90"}, wantErr: []string{KeyStormWindowMinutes, "1 to 60"}},
		{name: "bad region", ctx: map[string]any{KeyAllowedRegions: "europe"}, wantErr: []string{KeyAllowedRegions, `"europe" is not a region`}},
		{name: "bad instance pattern", ctx: map[string]any{KeyAllowedInstanceTypes: "g5 large"}, wantErr: []string{"not an instance type"}},
		{name: "suppression with a typo", ctx: map[string]any{KeySuppressions: `[{"detection":["x"],"reason":"r"}]`}, wantErr: []string{KeySuppressions, "unknown field"}},
		{name: "suppression without whose", ctx: map[string]any{KeySuppressions: `[{"detections":["*"],"reason":"r"}]`}, wantErr: []string{"must say whose events"}},
		{
			name: "organization mode",
			ctx:  map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12", KeyMemberRegions: "us-east-1,eu-west-1,ap-southeast-2"},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh, RetentionDays: 365,
				ForwardRegions: []string{"us-east-1"}, OrganizationID: "o-a1b2c3d4e5", OrganizationTargets: []string{"r-ab12"}, MemberRegions: []string{"us-east-1", "eu-west-1", "ap-southeast-2"}},
		},
		{
			name: "organization mode with OUs from cdk.json",
			ctx:  map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: []any{"ou-ab12-11111111", "ou-ab12-22222222"}},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh, RetentionDays: 365,
				ForwardRegions: []string{"us-east-1"}, OrganizationID: "o-a1b2c3d4e5", OrganizationTargets: []string{"ou-ab12-11111111", "ou-ab12-22222222"}},
		},
		{name: "organization without targets", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5"}, wantErr: []string{KeyOrganizationTargets, "required in organization mode"}},
		{name: "bad organization ID", ctx: map[string]any{KeyOrganizationID: "a1b2c3d4e5", KeyOrganizationTargets: "r-ab12"}, wantErr: []string{KeyOrganizationID, "not an organization ID"}},
		{name: "bad target", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "111122223333"}, wantErr: []string{KeyOrganizationTargets, `"111122223333" is neither a root ID`}},
		{name: "root and OUs", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12,ou-ab12-11111111"}, wantErr: []string{KeyOrganizationTargets, "the root covers every OU"}},
		{name: "member regions without organization", ctx: map[string]any{KeyMemberRegions: "eu-west-1"}, wantErr: []string{KeyMemberRegions, "without " + KeyOrganizationID}},
		{
			name: "routes",
			ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12",
				KeyRoutes: `[{"name":"prod","ous":["ou-ab12-11111111"],"minSeverity":"medium","slackSecretName":"trailwatch/slack-prod"},{"name":"sandbox","ous":["ou-ab12-22222222"],"minSeverity":"high"}]`},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh, RetentionDays: 365,
				ForwardRegions: []string{"us-east-1"}, OrganizationID: "o-a1b2c3d4e5", OrganizationTargets: []string{"r-ab12"},
				Routes: route.Table{{Name: "prod", OUs: []string{"ou-ab12-11111111"}, MinSeverity: "medium", SlackSecretName: "trailwatch/slack-prod"}, {Name: "sandbox", OUs: []string{"ou-ab12-22222222"}, MinSeverity: "high"}}},
		},
		{name: "route with a topic ARN", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12", KeyRoutes: `[{"name":"a","accounts":["111122223333"],"topicArn":"arn:aws:sns:eu-west-1:111122223333:x"}]`}, wantErr: []string{KeyRoutes, "which the stack sets"}},
		{name: "object lock mode", ctx: map[string]any{KeyObjectLockMode: "Compliance"},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh, RetentionDays: 365,
				ForwardRegions: []string{"us-east-1"}, ObjectLockMode: ObjectLockCompliance}},
		{name: "object lock mode unknown", ctx: map[string]any{KeyObjectLockMode: "legal-hold"}, wantErr: []string{KeyObjectLockMode, `"legal-hold"`, "governance", "compliance"}},
		{name: "routes without organization", ctx: map[string]any{KeyRoutes: `[{"name":"a","accounts":["111122223333"]}]`}, wantErr: []string{KeyRoutes, "without " + KeyOrganizationID}},
		{name: "route with a typo", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12", KeyRoutes: `[{"name":"a","ou":["ou-ab12-11111111"]}]`}, wantErr: []string{KeyRoutes, "unknown field"}},
		{name: "invalid route", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12", KeyRoutes: `[{"name":"a","minSeverity":"urgent"}]`}, wantErr: []string{KeyRoutes, "no ous or accounts", "minSeverity"}},
		{name: "call as the management account", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12", KeyStackSetCallAs: "self"},
			want: Config{ScanMaxConcurrency: DefaultScanConcurrency, RetentionDays: 365, StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh,
				ForwardRegions: []string{"us-east-1"}, OrganizationID: "o-a1b2c3d4e5", OrganizationTargets: []string{"r-ab12"}, StackSetCallAs: CallAsSelf}},
		{name: "distributed scan", ctx: map[string]any{KeyScanArchive: "s3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/", KeyScanMaxConcurrency: "500",
			KeyScanArchiveKey: "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"},
			want: Config{ScanMaxConcurrency: 500, ScanArchive: "s3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/", ScanArchiveKey: "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab", StormWindowMinutes: 5, CPUThreshold: 80, CPUPeriodMinutes: 5, CPUDatapoints: 3, AlarmResolved: true, MiningMinSeverity: detect.SeverityHigh, RetentionDays: 365,
				ForwardRegions: []string{"us-east-1"}}},
		{name: "bad call as", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12", KeyStackSetCallAs: "ADMIN"}, wantErr: []string{KeyStackSetCallAs, `"ADMIN"; want DELEGATED_ADMIN`}},
		{name: "call as without organization", ctx: map[string]any{KeyStackSetCallAs: "SELF"}, wantErr: []string{KeyStackSetCallAs, "without " + KeyOrganizationID}},
		{name: "too many OUs", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: func() string {
			var ous []string
			for i := range 51 {
				ous = append(ous, fmt.Sprintf("ou-ab12-%08d", i))
			}
			return strings.Join(ous, ",")
		}()}, wantErr: []string{KeyOrganizationTargets, "lists 51 OUs", "at most 50"}},
		{name: "bad member region", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12", KeyMemberRegions: "eu-west"}, wantErr: []string{KeyMemberRegions, `"eu-west" is not a region`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromContext(func(k string) any { return tc.ctx[k] })
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("FromContext() = %+v, nil; want an error", got)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromContext() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMemberRegionsFor(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		home string
		want []string
	}{
		{Config{}, "eu-west-1", []string{"eu-west-1", "us-east-1"}},
		{Config{}, "us-east-1", []string{"us-east-1"}},
		{Config{MemberRegions: []string{"us-east-1", "eu-west-1", "us-east-1"}}, "eu-west-1", []string{"eu-west-1", "us-east-1"}},
	} {
		if got := tc.cfg.MemberRegionsFor(tc.home); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("MemberRegionsFor(%q) with %v = %v, want %v", tc.home, tc.cfg.MemberRegions, got, tc.want)
		}
	}
}

// TestMiningSeverityReachesTheDetection: the setting travels as the other
// detection settings do (context, TRAILWATCH_SETTINGS, detect.Env) and the
// note of a raised finding names the context key to change.
func TestMiningSeverityReachesTheDetection(t *testing.T) {
	c, err := FromContext(func(k string) any {
		if k == KeyMiningMinSeverity {
			return "critical"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := Runtime{TopicARN: "arn:aws:sns:eu-west-1:111122223333:alerts", Settings: c.Settings()}.Env()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := RuntimeFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := rt.Settings.Env.MiningMinSeverity; got != detect.SeverityCritical {
		t.Fatalf("MiningMinSeverity after the round trip = %v, want critical (settings %s)", got, env[EnvSettings])
	}
	catalog, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	catalog, err = catalog.WithEnv(rt.Settings.Env)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Decode(fixture.Read(t, "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json"))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := catalog.Evaluate(ev)
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings %+v, %v", fs, err)
	}
	if fs[0].Severity != detect.SeverityCritical || !strings.Contains(fs[0].SeverityNote, "("+KeyMiningMinSeverity+")") {
		t.Errorf("finding %s %q, want critical with a note naming %s", fs[0].Severity, fs[0].SeverityNote, KeyMiningMinSeverity)
	}
	if def := Default().Settings().Env; def.MiningFloor() != detect.SeverityHigh {
		t.Error("mining findings are not at least high by default")
	}
}

func TestValidateNeverEchoesAWebhookURL(t *testing.T) {
	url := "https://hooks.slack.com/services/T000/B000/secretpart"
	err := Config{SlackSecretName: url, RetentionDays: 365}.Validate()
	if err == nil || strings.Contains(err.Error(), "secretpart") {
		t.Fatalf("error %v must refuse the URL without repeating it", err)
	}
	_, err = RuntimeFromEnv(func(k string) string {
		if k == EnvSlackSecretName {
			return url
		}
		return ""
	})
	if err == nil || strings.Contains(err.Error(), "secretpart") {
		t.Fatalf("error %v must refuse the URL without repeating it", err)
	}
}

func TestRuntimeEnvRoundTrip(t *testing.T) {
	r := Runtime{SlackSecretName: "trailwatch/slack", TopicARN: "arn:aws:sns:eu-west-1:111122223333:alerts", StateTable: "trailwatch-state", StormWindowMinutes: 10,
		OrganizationID: "o-a1b2c3d4e5", LookupRole: LookupRoleName,
		Routes: route.Table{{Name: "prod", OUs: []string{"ou-ab12-11111111"}, MinSeverity: "medium", SlackSecretName: "trailwatch/slack-prod",
			TopicARN: "arn:aws:sns:eu-west-1:111122223333:trailwatch-prod"}},
		Settings: Settings{
			Env:          detect.Env{TrailBuckets: []string{"org-trail-logs"}, MinRetentionDays: 400, AllowedRegions: []string{"eu-west-1"}},
			Suppressions: []suppress.Rule{{Detections: []string{"security-group-changed"}, Principals: []string{"ci-deploy"}, Reason: "Terraform"}},
		}}
	env, err := r.Env()
	if err != nil {
		t.Fatal(err)
	}
	back, err := RuntimeFromEnv(func(k string) string { return env[k] })
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("RuntimeFromEnv(Env()) = %+v, %v; want %+v", back, err, r)
	}
	if _, err := RuntimeFromEnv(func(k string) string {
		if k == EnvSettings {
			return `{"env":{},"suppressions":[{"detections":["*"],"reason":"r"}]}`
		}
		return env[k]
	}); err == nil || !strings.Contains(err.Error(), "must say whose events") {
		t.Errorf("a rule that silences everyone must be refused at start-up; error = %v", err)
	}
	for k, v := range map[string]string{EnvOrganizationID: "org-1", EnvLookupRole: "Trailwatch Lookup", EnvRoutes: `[{"name":"x"}]`} {
		if _, err := RuntimeFromEnv(func(key string) string {
			if key == k {
				return v
			}
			return env[key]
		}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: error = %v, want one naming the variable", k, v, err)
		}
	}
	if _, err := RuntimeFromEnv(func(string) string { return "" }); err == nil {
		t.Error("a function without any channel must refuse to start")
	}
}

// TestNameLengths: names are held to AWS's lengths at both ends.
func TestNameLengths(t *testing.T) {
	valid := func(c Config) error {
		c.RetentionDays, c.CPUThreshold, c.CPUPeriodMinutes, c.CPUDatapoints, c.StormWindowMinutes, c.MiningMinSeverity = 365, 80, 5, 3, 5, detect.SeverityHigh
		return c.Validate()
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"secret of 512", Config{SlackSecretName: strings.Repeat("a", 512)}, true},
		{"secret of 513", Config{SlackSecretName: strings.Repeat("a", 513)}, false},
		{"trail of 3", Config{ExistingTrail: "abc"}, true},
		{"trail of 2", Config{ExistingTrail: "ab"}, false},
		{"trail of 128", Config{ExistingTrail: strings.Repeat("t", 128)}, true},
		{"trail of 129", Config{ExistingTrail: strings.Repeat("t", 129)}, false},
		{"trail ARN, name of 128", Config{ExistingTrail: "arn:aws:cloudtrail:eu-west-1:111122223333:trail/" + strings.Repeat("t", 128)}, true},
		{"trail ARN, name of 129", Config{ExistingTrail: "arn:aws:cloudtrail:eu-west-1:111122223333:trail/" + strings.Repeat("t", 129)}, false},
		{"trail ARN, name of 2", Config{ExistingTrail: "arn:aws:cloudtrail:eu-west-1:111122223333:trail/ab"}, false},
		{"alarm of 255 characters", Config{AlarmNames: []string{strings.Repeat("é", 255)}}, true},
		{"alarm of 256 characters", Config{AlarmNames: []string{strings.Repeat("é", 256)}}, false},
		{"group of 200", Config{CPUAlarmGroups: []string{strings.Repeat("g", 200)}}, true},
		{"group of 201", Config{CPUAlarmGroups: []string{strings.Repeat("g", 201)}}, false},
	} {
		if err := valid(tc.cfg); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestEveryKeyDocumented: docs/configuration.md lists every context key
// this package reads (Keys, which TestKeysListsEveryKey holds to
// config.go), in the order of Keys.
func TestEveryKeyDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for _, k := range Keys() {
		at := strings.Index(string(doc), "| `"+k+"` |")
		switch {
		case at < 0:
			t.Errorf("docs/configuration.md has no table row for %s", k)
		case at < last:
			t.Errorf("docs/configuration.md lists %s before the key Keys() puts before it", k)
		}
		last = max(last, at)
	}
}

// TestSigmaRules: the folder loads at synth; refused rules fail it, naming
// the key, the file and the reason, unless sigmaSkipUnsupported is set.
func TestSigmaRules(t *testing.T) {
	mixed := "../sigma/testdata/rules"
	supported := t.TempDir()
	rule, err := os.ReadFile(mixed + "/bucket_deleted.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(supported+"/bucket_deleted.yml", rule, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		ctx      map[string]any
		loaded   int
		warnings int
		wantErr  []string
	}{
		{name: "supported only", ctx: map[string]any{KeySigmaRules: supported}, loaded: 1, warnings: 0},
		{name: "refused rules fail synth", ctx: map[string]any{KeySigmaRules: mixed},
			wantErr: []string{KeySigmaRules, "13 of 19 rules cannot be deployed", KeySigmaSkipUnsupported, "refused/fieldref.yml", "fieldref modifier", "refused/keywords.yml"}},
		{name: "skipped when asked", ctx: map[string]any{KeySigmaRules: mixed, KeySigmaSkipUnsupported: "true"}, loaded: 6, warnings: 13},
		{name: "skip as a JSON boolean", ctx: map[string]any{KeySigmaRules: mixed, KeySigmaSkipUnsupported: true}, loaded: 6, warnings: 13},
		{name: "missing folder", ctx: map[string]any{KeySigmaRules: "no/such/folder"}, wantErr: []string{KeySigmaRules, "no/such/folder"}},
		{name: "empty folder", ctx: map[string]any{KeySigmaRules: t.TempDir()}, wantErr: []string{KeySigmaRules, "no .yml"}},
		{name: "not a string", ctx: map[string]any{KeySigmaRules: float64(1)}, wantErr: []string{KeySigmaRules, "want a string"}},
		{name: "skip without folder", ctx: map[string]any{KeySigmaSkipUnsupported: "true"}, wantErr: []string{KeySigmaSkipUnsupported, KeySigmaRules}},
		{name: "skip not a boolean", ctx: map[string]any{KeySigmaRules: supported, KeySigmaSkipUnsupported: "maybe"}, wantErr: []string{KeySigmaSkipUnsupported}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := FromContext(func(k string) any { return tc.ctx[k] })
			if err == nil {
				err = cfg.LoadSigma(sigma.Load)
			}
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error; want one mentioning %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Sigma) != tc.loaded || len(cfg.SigmaWarnings) != tc.warnings {
				t.Errorf("loaded %d, warnings %d; want %d, %d", len(cfg.Sigma), len(cfg.SigmaWarnings), tc.loaded, tc.warnings)
			}
			if _, err := detect.BuiltinWith(cfg.Sigma...); err != nil {
				t.Errorf("catalog with the rules: %v", err)
			}
		})
	}
}

func TestThresholdsKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		value   any
		wantErr []string
		want    map[string]detect.ThresholdSetting
	}{
		{name: "count and window", value: `{"secrets-harvested":{"count":40,"windowMinutes":15}}`,
			want: map[string]detect.ThresholdSetting{"secrets-harvested": {Count: 40, WindowMinutes: 15}}},
		{name: "from cdk.json", value: map[string]any{"secrets-harvested": map[string]any{"count": 5}},
			want: map[string]detect.ThresholdSetting{"secrets-harvested": {Count: 5}}},
		{name: "unknown detection", value: `{"secret-harvest":{"count":5}}`, wantErr: []string{KeyThresholds, `"secret-harvest" is not a detection`, "secrets-harvested"}},
		{name: "not a threshold detection", value: `{"iam-user-created":{"count":5}}`, wantErr: []string{KeyThresholds, "not a threshold detection"}},
		{name: "count out of range", value: `{"secrets-harvested":{"count":1}}`, wantErr: []string{KeyThresholds, "count 1 is out of range"}},
		{name: "window out of range", value: `{"secrets-harvested":{"windowMinutes":2000}}`, wantErr: []string{KeyThresholds, "windowMinutes 2000 is out of range"}},
		{name: "misspelt field", value: `{"secrets-harvested":{"window":5}}`, wantErr: []string{KeyThresholds, "unknown field"}},
		{name: "nothing set", value: `{"secrets-harvested":{}}`, wantErr: []string{KeyThresholds, "set count, windowMinutes or both"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromContext(func(k string) any {
				if k == KeyThresholds {
					return tc.value
				}
				return nil
			})
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("accepted")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Settings().Env.Thresholds, tc.want) {
				t.Errorf("thresholds %v, want %v", c.Settings().Env.Thresholds, tc.want)
			}
		})
	}
}

// TestEveryKeyRefusesBadValues: every context key FromContext reads
// (Keys) has bad values here, and each is refused, without a panic, by an
// error that names the key and says what to do. A key added to Keys
// without a case here fails the test.
func TestEveryKeyRefusesBadValues(t *testing.T) {
	org := func(ctx map[string]any) map[string]any {
		out := map[string]any{KeyOrganizationID: "o-a1b2c3d4e5", KeyOrganizationTargets: "r-ab12"}
		for k, v := range ctx {
			out[k] = v
		}
		return out
	}
	type bad struct {
		ctx map[string]any // besides the key's value: what makes the value reachable
		val any
		do  string // what the error tells to do
	}
	cases := map[string][]bad{
		KeyEmails: {
			{val: "Sec Ops <sec@example.com>", do: "give the address alone"},
			{val: "a@example.com,a@example.com", do: "list each address once"},
		},
		KeySlackSecretName: {
			{val: "https://hooks.slack.com/services/T0/B0/XXXX", do: "give the secret's name"},
			{val: "my secret!", do: "letters, digits and /_+=.@- only"},
		},
		KeyRetentionDays: {
			{val: "30", do: "at least 365 days"},
			{val: "a year", do: "want a whole number"},
			{val: float64(36501), do: "at most 36500"},
		},
		KeyExistingTrail:        {{val: "arn:aws:s3:::bucket", do: "give the trail's name"}},
		KeyForwardRegions:       {{val: "europe", do: "such as eu-west-1"}},
		KeyTrailBuckets:         {{val: "Org_Trail_Logs", do: "give the bucket's name"}},
		KeyAllowedRegions:       {{val: "eu-west", do: "such as eu-west-1"}},
		KeyAllowedInstanceTypes: {{val: "g5 large", do: "such as g5.*"}},
		KeySuppressions: {
			{val: `[{"detection":["x"],"reason":"r"}]`, do: "want a JSON list of rules"},
			{val: `[{"detections":["*"],"reason":"r"}]`, do: "must say whose events"},
		},
		KeyThresholds: {
			{val: `{"secrets-harvested":{"cont":3}}`, do: `want a JSON object {"DETECTION"`},
			{val: `{"no-such-detection":{"count":3}}`, do: "threshold detections:"},
		},
		KeyCPUThreshold: {{val: "150", do: "want a CPU percentage from 1 to 100"}},
		KeyCPUPeriodMinutes: {
			{val: "7", do: "want 1, 5, 10, 15, 30 or 60"},
			{val: "60", ctx: map[string]any{KeyCPUDatapoints: "24"}, do: "so that their product is at most 180"},
			{val: "1", do: "use 5, or turn detailed monitoring on"},
		},
		KeyCPUDatapoints: {
			{val: "0", do: "want at least 1"},
			{val: float64(37), do: "so that their product is at most 180"},
		},
		KeyCPUDetailedMonitoring: {{val: "yes", do: "want true or false"}},
		KeyCPUAlarmInstances:     {{val: "web-1", do: "give IDs such as i-0a1b2c3d4e5f60718"}},
		KeyCPUAlarmGroups: {
			{val: "web asg,web-asg", do: "list each group once"},
			{val: "web|asg", do: "letters, digits, space and ._/-"},
		},
		KeyAlarmNames: {
			{val: "a*b", do: "prefix ending in a single *"},
			{val: "c**", do: "prefix ending in a single *"},
			{val: "*", do: "give the names, or prefixes"},
			{val: "bad\nname", do: "no control characters"},
		},
		KeyAlarmResolved:         {{val: "sometimes", do: "want true or false"}},
		KeyAlarmInsufficientData: {{val: float64(1), do: "want true or false"}},
		KeyMiningMinSeverity:     {{val: "severe", do: "want one of info, low, medium, high, critical"}},
		KeySigmaRules:            {{val: filepath.Join(t.TempDir(), "missing"), do: "give a folder of Sigma rules"}},
		KeySigmaSkipUnsupported:  {{val: true, do: "set " + KeySigmaRules + " to the folder"}},
		KeyStormWindowMinutes:    {{val: "90", do: "want 1 to 60 minutes"}},
		KeyObjectLockMode:        {{val: "legal-hold", do: "want governance"}},
		KeyOrganizationID: {
			{val: "a1b2c3d4e5", ctx: map[string]any{KeyOrganizationTargets: "r-ab12"}, do: "as `aws organizations describe-organization` prints it"},
		},
		KeyOrganizationTargets: {
			{val: "r-ab12", do: "set the organization ID (o-...) to turn organization mode on, or remove"},
			{val: "111122223333", ctx: map[string]any{KeyOrganizationID: "o-a1b2c3d4e5"}, do: "give the IDs"},
		},
		KeyMemberRegions: {
			{val: "eu-west-1", do: "set the organization ID"},
			{val: "eu-west", ctx: org(nil), do: "such as eu-west-1"},
		},
		KeyStackSetCallAs: {{val: "ADMIN", ctx: org(nil), do: "want DELEGATED_ADMIN"}},
		KeyRoutes: {
			{val: `[{"name":"a","ou":["ou-ab12-11111111"]}]`, ctx: org(nil), do: "want a JSON list of routes"},
			{val: `[{"name":"a","accounts":["111122223333"],"topicArn":"arn:aws:sns:eu-west-1:111122223333:x"}]`, ctx: org(nil), do: "give the route's emails instead"},
		},
		KeyScanArchive: {
			{val: "org-trail-logs/AWSLogs/", do: "give the archive as s3://bucket/prefix"},
			{val: "s3://Org_Trail_Logs/AWSLogs/", do: "with the bucket's name"},
			{val: "s3://org-trail-logs/AWSLogs/*/", do: "without wildcards"},
			{val: "trail", ctx: map[string]any{KeyExistingTrail: "org-trail"}, do: "give the existing trail's archive as s3://bucket/prefix"},
		},
		KeyScanArchiveKey: {
			{val: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", do: "give the archive to scan"},
			{val: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd", ctx: map[string]any{KeyScanArchive: "trail"}, do: "whose key trailwatch knows"},
			{val: "arn:aws:kms:eu-west-1:111122223333:alias/org-trail", ctx: map[string]any{KeyScanArchive: "s3://org-trail-logs/AWSLogs/"}, do: "not an alias"},
			{val: "1234abcd-12ab-34cd-56ef-1234567890ab", ctx: map[string]any{KeyScanArchive: "s3://org-trail-logs/AWSLogs/"}, do: "give the key's ARN"},
		},
		KeyScanMaxConcurrency: {
			{val: "100", do: "give the archive to scan"},
			{val: "0", ctx: map[string]any{KeyScanArchive: "trail"}, do: "want 1 to 10000 children"},
			{val: float64(20000), ctx: map[string]any{KeyScanArchive: "s3://org-trail-logs/AWSLogs/"}, do: "want 1 to 10000 children"},
			{val: "many", ctx: map[string]any{KeyScanArchive: "trail"}, do: "want a whole number"},
		},
	}
	keys := Keys()
	for _, k := range keys {
		if len(cases[k]) == 0 {
			t.Errorf("%s has no bad value in this test", k)
		}
		// Every key also refuses a value of the wrong JSON type.
		cases[k] = append(cases[k], bad{val: []any{float64(1)}, do: "want "})
	}
	for k := range cases {
		if !slices.Contains(keys, k) {
			t.Errorf("%s is tested but not in Keys()", k)
		}
	}
	for k, list := range cases {
		for i, b := range list {
			t.Run(fmt.Sprintf("%s/%d", k, i), func(t *testing.T) {
				ctx := map[string]any{k: b.val}
				for kk, v := range b.ctx {
					ctx[kk] = v
				}
				var err error
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("panic on %s=%v: %v", k, b.val, r)
						}
					}()
					var c Config
					if c, err = FromContext(func(key string) any { return ctx[key] }); err == nil {
						err = c.LoadSigma(sigma.Load)
					}
				}()
				if err == nil {
					t.Fatalf("%s=%#v is accepted", k, b.val)
				}
				for _, w := range []string{k, b.do} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s=%#v: error %q does not say %q", k, b.val, err, w)
					}
				}
			})
		}
	}
}

// TestKeysListsEveryKey: Keys holds every "trailwatch:..." key of
// config.go, so that TestEveryKeyRefusesBadValues covers a new key.
func TestKeysListsEveryKey(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	found := []string{KeyMiningMinSeverity} // defined in internal/detect
	for _, m := range regexp.MustCompile(`"(trailwatch:[A-Za-z]+)"`).FindAllStringSubmatch(string(src), -1) {
		found = append(found, m[1])
	}
	slices.Sort(found)
	keys := slices.Sorted(slices.Values(Keys()))
	if !slices.Equal(slices.Compact(found), keys) {
		t.Errorf("Keys() = %v\nconfig.go defines %v", keys, slices.Compact(found))
	}
}

// TestCheckKeys: a "trailwatch:" key that is none of Keys is refused,
// naming the closest key when one is close; other context (CDK's feature
// flags) is not this package's.
func TestCheckKeys(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want string // "" for accepted
	}{
		{KeyCPUThreshold, ""},
		{"@aws-cdk/core:checkSecretUsage", ""},
		{"trailwatch:cpuThresold", "did you mean " + KeyCPUThreshold + "?"},
		{"trailwatch:Emails", "did you mean " + KeyEmails + "?"},
		{"trailwatch:alarmName", "did you mean " + KeyAlarmNames + "?"},
		{"trailwatch:colour", "remove it, or give one of the keys docs/configuration.md lists"},
	} {
		err := CheckKeys(map[string]any{tc.key: "x"})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.key, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.key+" is not a trailwatch setting") || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one naming it and saying %q", tc.key, err, tc.want)
		}
	}
}

func TestScanSource(t *testing.T) {
	for _, tc := range []struct {
		archive        string
		bucket, prefix string
		trail, ok      bool
	}{
		{"", "", "", false, false},
		{"trail", "", "", true, true},
		{"s3://org-trail-logs", "org-trail-logs", "", false, true},
		{"s3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/", "org-trail-logs", "AWSLogs/o-a1b2c3d4e5/", false, true},
	} {
		b, p, tr, ok := Config{ScanArchive: tc.archive}.ScanSource()
		if b != tc.bucket || p != tc.prefix || tr != tc.trail || ok != tc.ok {
			t.Errorf("ScanSource(%q) = %q, %q, %v, %v; want %q, %q, %v, %v", tc.archive, b, p, tr, ok, tc.bucket, tc.prefix, tc.trail, tc.ok)
		}
	}
}
