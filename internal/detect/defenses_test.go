package detect

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
)

// defenseEvents maps each detection of this group to the event names its
// decision handles, for the odd-input tests and the fuzz target.
var defenseEvents = map[string][]string{
	"cloudtrail-config-changed":             {"CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"},
	"cloudtrail-event-selectors-reduced":    {"PutEventSelectors"},
	"cloudtrail-bucket-retention-shortened": {"PutBucketLifecycle", "PutBucketLifecycleConfiguration", "PutObjectLockConfiguration"},
	"kms-key-disabled-or-deleted":           {"DisableKey", "ScheduleKeyDeletion"},
	"config-recording-changed": {"StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel",
		"PutConfigurationRecorder", "PutDeliveryChannel"},
	"guardduty-disabled": {"DeleteDetector", "UpdateDetector", "DisassociateFromMasterAccount",
		"DisassociateFromAdministratorAccount", "StopMonitoringMembers", "DisassociateMembers", "DeleteMembers"},
	"securityhub-disabled": {"DisableSecurityHub", "BatchDisableStandards", "DisassociateFromMasterAccount",
		"DisassociateFromAdministratorAccount"},
	"vpc-flow-logs-deleted":           {"DeleteFlowLogs"},
	"ebs-default-encryption-disabled": {"DisableEbsEncryptionByDefault"},
	"service-logs-turned-off": {"DeleteResolverQueryLogConfig", "DisassociateResolverQueryLogConfig", "PutBucketLogging",
		"DeleteModelInvocationLoggingConfiguration"},
	"cloudwatch-logs-deleted": {"DeleteLogGroup", "DeleteSubscriptionFilter"},
}

func defenseDetection(t testing.TB, id string) *Detection {
	t.Helper()
	for _, d := range builtin {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("detection %s is not registered", id)
	return nil
}

// apiEvent builds an event around a CloudTrail record with the given
// request parameters and response elements (raw JSON, "" for absent).
func apiEvent(name, params, response, errorCode string) *event.Event {
	rec := &cloudtrail.Record{
		EventName: name, EventSource: "test.amazonaws.com", AWSRegion: "eu-west-1",
		EventTime: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), RecipientAccountID: "111122223333",
		ErrorCode: errorCode,
	}
	if params != "" {
		rec.RequestParameters = json.RawMessage(params)
	}
	if response != "" {
		rec.ResponseElements = json.RawMessage(response)
	}
	return &event.Event{CloudTrail: rec}
}

func TestParamValue(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		str     string
		strOK   bool
		boolean string // "true", "false" or "unset"
		num     int
		numOK   bool
		strs    []string
	}{
		{raw: ``, boolean: "unset"},
		{raw: `null`, boolean: "unset"},
		{raw: `"abc"`, str: "abc", strOK: true, boolean: "unset", strs: []string{"abc"}},
		{raw: `""`, str: "", strOK: true, boolean: "unset"},
		{raw: `true`, str: "true", strOK: true, boolean: "true", strs: []string{"true"}},
		{raw: `"FALSE"`, str: "FALSE", strOK: true, boolean: "false", strs: []string{"FALSE"}},
		{raw: `7`, str: "7", strOK: true, boolean: "unset", num: 7, numOK: true, strs: []string{"7"}},
		{raw: `" 30 "`, str: " 30 ", strOK: true, boolean: "unset", num: 30, numOK: true, strs: []string{" 30 "}},
		{raw: `7.0`, str: "7.0", strOK: true, boolean: "unset", num: 7, numOK: true, strs: []string{"7.0"}},
		{raw: `7.5`, str: "7.5", strOK: true, boolean: "unset", strs: []string{"7.5"}},
		{raw: `1e300`, str: "1e300", strOK: true, boolean: "unset", strs: []string{"1e300"}},
		{raw: `["a", "", 3, {"content": "b"}, ["c"]]`, boolean: "unset", strs: []string{"a", "3", "b", "c"}},
		{raw: `{"content": "fl-1", "tag": 1}`, boolean: "unset", strs: []string{"fl-1"}},
		{raw: `{"content": ["fl-1", "fl-2"]}`, boolean: "unset", strs: []string{"fl-1", "fl-2"}},
		{raw: `{"other": 1}`, boolean: "unset"},
		{raw: `[`, boolean: "unset"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			v := paramValue(tc.raw)
			if s, ok := v.Str(); s != tc.str || ok != tc.strOK {
				t.Errorf("Str() = %q, %v; want %q, %v", s, ok, tc.str, tc.strOK)
			}
			b, set := v.Bool()
			got := "unset"
			if set {
				got = fmt.Sprint(b)
			}
			if got != tc.boolean {
				t.Errorf("Bool() = %s, want %s", got, tc.boolean)
			}
			if n, ok := v.Int(); n != tc.num || ok != tc.numOK {
				t.Errorf("Int() = %d, %v; want %d, %v", n, ok, tc.num, tc.numOK)
			}
			if s := v.Strings(); !slices.Equal(s, tc.strs) {
				t.Errorf("Strings() = %q, want %q", s, tc.strs)
			}
		})
	}
}

func TestParamValueObjects(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int
	}{
		{``, 0}, {`null`, 0}, {`"x"`, 0}, {`{"a":1}`, 1}, {`[{"a":1},2,"x",{"b":2}]`, 2}, {`[1`, 0},
	} {
		if got := len(paramValue(tc.raw).Objects()); got != tc.want {
			t.Errorf("Objects(%s) has %d items, want %d", tc.raw, got, tc.want)
		}
	}
}

func TestARNHelpers(t *testing.T) {
	for _, tc := range []struct{ in, typ, name, region string }{
		{"arn:aws:cloudtrail:eu-west-1:111122223333:trail/main", "trail/", "main", "eu-west-1"},
		{"main", "trail/", "main", ""},
		{"arn:aws:kms:us-east-1:111122223333:key/abc", "key/", "abc", "us-east-1"},
		{"arn:aws:securityhub:us-east-1:111122223333:subscription/cis-aws-foundations-benchmark/v/1.4.0", "subscription/",
			"cis-aws-foundations-benchmark/v/1.4.0", "us-east-1"},
		{"arn:broken", "trail/", "arn:broken", ""},
	} {
		if got := arnResourceName(tc.in, tc.typ); got != tc.name {
			t.Errorf("arnResourceName(%q, %q) = %q, want %q", tc.in, tc.typ, got, tc.name)
		}
		if got := arnRegion(tc.in); got != tc.region {
			t.Errorf("arnRegion(%q) = %q, want %q", tc.in, got, tc.region)
		}
	}
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a and b"}, {[]string{"a", "b", "c", "d"}, "a, b and 2 more"},
	} {
		if got := listPhrase(tc.in); got != tc.want {
			t.Errorf("listPhrase(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTrailWeakenings(t *testing.T) {
	env := &Env{TrailBuckets: []string{"acme-cloudtrail-archive"}}
	for _, tc := range []struct {
		name, params string
		want         int
	}{
		{"nothing weakened", `{"name":"t","snsTopicName":"x","isMultiRegionTrail":true}`, 0},
		{"single region as string", `{"name":"t","isMultiRegionTrail":"false"}`, 1},
		{"validation, global events, org trail", `{"enableLogFileValidation":false,"includeGlobalServiceEvents":false,"isOrganizationTrail":false}`, 3},
		{"kms removed", `{"kmsKeyId":""}`, 1},
		{"kms changed", `{"kmsKeyId":"arn:aws:kms:us-east-1:111122223333:key/k"}`, 0},
		{"kms of the wrong type", `{"kmsKeyId":{"x":1}}`, 0},
		{"cloudwatch removed", `{"cloudWatchLogsLogGroupArn":"","cloudWatchLogsRoleArn":""}`, 1},
		{"known bucket", `{"s3BucketName":"acme-cloudtrail-archive"}`, 0},
		{"unknown bucket", `{"s3BucketName":"elsewhere"}`, 1},
		{"not an object", `"name"`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rp trailParams
			decodeInto([]byte(tc.params), &rp)
			if got := trailWeakenings(rp, env); len(got) != tc.want {
				t.Errorf("trailWeakenings = %q, want %d items", got, tc.want)
			}
		})
	}
}

func TestSelectorCoverage(t *testing.T) {
	for _, tc := range []struct {
		name, params string
		ok           bool
		want         string
		sev          Severity // 0: nothing lost
	}{
		{"basic defaults", `{"eventSelectors":[{}]}`, true, "all", 0},
		{"basic all", `{"eventSelectors":[{"readWriteType":"All","includeManagementEvents":true}]}`, true, "all", 0},
		{"basic read plus write", `{"eventSelectors":[{"readWriteType":"ReadOnly"},{"readWriteType":"WriteOnly"}]}`, true, "all", 0},
		{"basic management off", `{"eventSelectors":[{"includeManagementEvents":false}]}`, true, "none", SeverityCritical},
		{"basic management off as string", `{"eventSelectors":[{"includeManagementEvents":"false"}]}`, true, "none", SeverityCritical},
		{"basic read only", `{"eventSelectors":[{"readWriteType":"ReadOnly"}]}`, true, "read events only", SeverityCritical},
		{"basic write only", `{"EventSelectors":[{"ReadWriteType":"WriteOnly"}]}`, true, "write events only", SeverityHigh},
		{"basic excluded source", `{"eventSelectors":[{"excludeManagementEventSources":["kms.amazonaws.com"]}]}`, true,
			"all, except kms.amazonaws.com", SeverityHigh},
		{"basic exclusion undone by another selector", `{"eventSelectors":[{"excludeManagementEventSources":["kms.amazonaws.com"]},{}]}`,
			true, "all", 0},
		{"basic empty list", `{"eventSelectors":[]}`, true, "none", SeverityCritical},
		{"advanced management", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]}]}]}`,
			true, "all", 0},
		{"advanced data only", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Data"]}]}]}`,
			true, "none", SeverityCritical},
		{"advanced read only", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["true"]}]}]}`,
			true, "read events only", SeverityCritical},
		{"advanced reads and writes apart", `{"advancedEventSelectors":[` +
			`{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["true"]}]},` +
			`{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["false"]}]}]}`,
			true, "all", 0},
		{"advanced excluded source", `{"advancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventSource","NotEquals":["rdsdata.amazonaws.com"]}]}]}`,
			true, "all, except rdsdata.amazonaws.com", SeverityHigh},
		{"advanced wins over basic", `{"eventSelectors":[{}],"advancedEventSelectors":[{"fieldSelectors":[]}]}`, true, "none", SeverityCritical},
		{"no selectors", `{"trailName":"t"}`, false, "", 0},
		{"selectors of the wrong type", `{"eventSelectors":"all"}`, false, "", 0},
		{"not an object", `[1,2]`, false, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cov, _, ok := parseSelectors([]byte(tc.params))
			if ok != tc.ok {
				t.Fatalf("parseSelectors ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if got := cov.String(); got != tc.want {
				t.Errorf("coverage = %q, want %q", got, tc.want)
			}
			if _, sev := cov.gaps(); sev != tc.sev {
				t.Errorf("severity = %v, want %v", sev, tc.sev)
			}
		})
	}
}

// TestSelectorDataCoverage: what the new selectors record of data events.
func TestSelectorDataCoverage(t *testing.T) {
	for _, tc := range []struct {
		name, params string
		want         []string
	}{
		{"basic without data resources", `{"eventSelectors":[{"readWriteType":"All"}]}`, nil},
		{"basic empty data resources", `{"eventSelectors":[{"dataResources":[]}]}`, nil},
		{"basic data resource without values", `{"eventSelectors":[{"dataResources":[{"type":"AWS::S3::Object","values":[]}]}]}`, nil},
		{"basic data resource with an empty value", `{"eventSelectors":[{"dataResources":[{"type":"AWS::S3::Object","values":[""]}]}]}`, nil},
		{"basic all buckets", `{"eventSelectors":[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]}`,
			[]string{"AWS::S3::Object: arn:aws:s3"}},
		{"basic data with management off", `{"eventSelectors":[{"includeManagementEvents":false,"dataResources":[{"type":"AWS::Lambda::Function","values":["arn:aws:lambda"]}]}]}`,
			[]string{"AWS::Lambda::Function: arn:aws:lambda"}},
		{"basic data resources of the wrong type", `{"eventSelectors":[{"dataResources":"all"}]}`, nil},
		{"advanced management only", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]}]}]}`, nil},
		{"advanced data", `{"advancedEventSelectors":[{"name":"S3","fieldSelectors":[{"field":"eventCategory","equals":["Data"]},{"field":"resources.type","equals":["AWS::S3::Object"]}]}]}`,
			[]string{`AWS::S3::Object (selector "S3")`}},
		{"advanced data of any type", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Data"]}]}]}`,
			[]string{"data events"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cov, _, ok := parseSelectors([]byte(tc.params))
			if !ok {
				t.Fatal("parseSelectors ok = false, want true")
			}
			if !slices.Equal(cov.Data, tc.want) {
				t.Errorf("data = %q, want %q", cov.Data, tc.want)
			}
		})
	}
}

func TestCoversCloudTrailLogs(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		want   bool
	}{
		{"", false}, // whole bucket: only a known trail bucket counts
		{"logs/", false},
		{"AWSLogs/", true},
		{"AWSLogs", false},
		{"AWSLogs/111122223333/", true},
		{"AWSLogs/1111", true},
		{"AWSLogs/111122223333/CloudTrail/", true},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/", true},
		{"AWSLogs/111122223333/Cloud", true},
		{"AWSLogs/111122223333/CloudTrail-Digest/", true},
		{"AWSLogs/o-abc123def4/111122223333/CloudTrail/", true},
		{"audit/AWSLogs/111122223333/CloudTrail/", true},
		{"audit/AWSLogs/", true},
		{"myAWSLogs/", false},
		{"AWSLogs/111122223333/elasticloadbalancing/", false},
		{"AWSLogs/111122223333/vpcflowlogs/", false},
		{"AWSLogs/111122223333/e", false},
		{"AWSLogs/not-an-account/", false},
	} {
		if got := coversCloudTrailLogs(tc.prefix); got != tc.want {
			t.Errorf("coversCloudTrailLogs(%q) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
}

func TestLifecycleRule(t *testing.T) {
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, rule, prefix string
		enabled            bool
		days, noncurrent   int // -1: not set
	}{
		{"days", `{"Status":"Enabled","Filter":{"Prefix":"AWSLogs/"},"Expiration":{"Days":1}}`, "AWSLogs/", true, 1, -1},
		{"days as string", `{"Status":"Enabled","Prefix":"a/","Expiration":{"Days":"30"}}`, "a/", true, 30, -1},
		{"and filter", `{"Status":"Enabled","Filter":{"And":{"Prefix":"b/","Tags":[]}},"NoncurrentVersionExpiration":{"NoncurrentDays":7}}`,
			"b/", true, -1, 7},
		{"date", `{"Status":"Enabled","Filter":"","Expiration":{"Date":"2026-12-20T00:00:00Z"}}`, "", true, 30, -1},
		{"date passed", `{"Status":"Enabled","Expiration":{"Date":"2026-01-01T00:00:00.000Z"}}`, "", true, 0, -1},
		{"delete markers only", `{"Status":"Enabled","Expiration":{"ExpiredObjectDeleteMarker":true}}`, "", true, -1, -1},
		{"disabled", `{"Status":"Disabled","Expiration":{"Days":1}}`, "", false, 1, -1},
		{"no status", `{"Expiration":{"Days":0}}`, "", true, -1, -1},
		{"wrong types", `{"Status":1,"Filter":[1],"Expiration":"soon","NoncurrentVersionExpiration":[]}`, "", true, -1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r lifecycleRule
			decodeInto([]byte(tc.rule), &r)
			if got := r.prefix(); got != tc.prefix {
				t.Errorf("prefix() = %q, want %q", got, tc.prefix)
			}
			if got := r.enabled(); got != tc.enabled {
				t.Errorf("enabled() = %v, want %v", got, tc.enabled)
			}
			d, ok := r.expiryDays(at)
			if !ok {
				d = -1
			}
			if d != tc.days {
				t.Errorf("expiryDays() = %d, want %d", d, tc.days)
			}
			n, ok := r.noncurrentDays()
			if !ok {
				n = -1
			}
			if n != tc.noncurrent {
				t.Errorf("noncurrentDays() = %d, want %d", n, tc.noncurrent)
			}
		})
	}
}

func TestRecorderNarrowing(t *testing.T) {
	for _, tc := range []struct {
		group string
		want  string // "" when all supported types are recorded
	}{
		{``, ""},
		{`{"allSupported":true,"includeGlobalResourceTypes":false}`, ""},
		{`{"allSupported":"true","recordingStrategy":{"useOnly":"ALL_SUPPORTED_RESOURCE_TYPES"}}`, ""},
		{`{"allSupported":false,"resourceTypes":["AWS::S3::Bucket"]}`, "only 1 listed resource type"},
		{`{"allSupported":false,"exclusionByResourceTypes":{"resourceTypes":["AWS::EC2::Instance","AWS::IAM::Role"]},"recordingStrategy":{"useOnly":"EXCLUSION_BY_RESOURCE_TYPES"}}`,
			"all supported resource types but 2 excluded types"},
		{`{}`, "not all supported resource types"},
		{`"everything"`, "not all supported resource types"},
	} {
		got, narrowed := recorderNarrowing(paramValue(tc.group))
		if got != tc.want || narrowed != (tc.want != "") {
			t.Errorf("recorderNarrowing(%s) = %q, %v; want %q", tc.group, got, narrowed, tc.want)
		}
	}
}

func TestDisabledProtections(t *testing.T) {
	for _, tc := range []struct {
		features, dataSources string
		want                  []string
	}{
		{`[{"name":"S3_DATA_EVENTS","status":"ENABLED"}]`, ``, nil},
		{`[{"name":"S3_DATA_EVENTS","status":"DISABLED"},{"name":"RUNTIME_MONITORING","status":"ENABLED",` +
			`"additionalConfiguration":[{"name":"EKS_ADDON_MANAGEMENT","status":"DISABLED"}]}]`, ``,
			[]string{"S3_DATA_EVENTS", "RUNTIME_MONITORING/EKS_ADDON_MANAGEMENT"}},
		{`{"name":"EKS_AUDIT_LOGS","status":"disabled"}`, ``, []string{"EKS_AUDIT_LOGS"}},
		{``, `{"s3Logs":{"enable":false},"kubernetes":{"auditLogs":{"enable":"false"}},"malwareProtection":{"scanEc2InstanceWithFindings":{"ebsVolumes":true}}}`,
			[]string{"kubernetes.auditLogs", "s3Logs"}},
		{`"all"`, `{"enable":false}`, nil},
	} {
		got := disabledProtections(paramValue(tc.features), paramValue(tc.dataSources))
		if !slices.Equal(got, tc.want) {
			t.Errorf("disabledProtections(%s, %s) = %q, want %q", tc.features, tc.dataSources, got, tc.want)
		}
	}
}

func TestFlowLogIDs(t *testing.T) {
	for _, tc := range []struct {
		params, response string
		ids, failed      []string
	}{
		{`{"DeleteFlowLogsRequest":{"FlowLogId":{"content":"fl-1","tag":1}}}`,
			`{"DeleteFlowLogsResponse":{"unsuccessful":""}}`, []string{"fl-1"}, nil},
		{`{"DeleteFlowLogsRequest":{"FlowLogId":[{"content":"fl-1","tag":1},{"content":"fl-2","tag":2}]}}`,
			`{"DeleteFlowLogsResponse":{"unsuccessful":{"item":[{"resourceId":"fl-2","error":{"code":"x"}}]}}}`,
			[]string{"fl-1", "fl-2"}, []string{"fl-2"}},
		{`{"flowLogIds":["fl-3","fl-3"]}`, `{"unsuccessful":[{"resourceId":"fl-3"}]}`, []string{"fl-3"}, []string{"fl-3"}},
		{`{"DeleteFlowLogsRequest":"fl-4"}`, `null`, nil, nil},
		{`[]`, `"x"`, nil, nil},
	} {
		if got := flowLogIDs([]byte(tc.params)); !slices.Equal(got, tc.ids) {
			t.Errorf("flowLogIDs(%s) = %q, want %q", tc.params, got, tc.ids)
		}
		if got := unsuccessfulFlowLogs([]byte(tc.response)); !slices.Equal(got, tc.failed) {
			t.Errorf("unsuccessfulFlowLogs(%s) = %q, want %q", tc.response, got, tc.failed)
		}
	}
}

// oddInputs are request parameters and response elements of the wrong
// shape: decisions must neither panic nor report a finding without a
// headline and resource.
var oddInputs = []string{
	``, `null`, `{}`, `[]`, `"text"`, `42`, `true`,
	`{"name":42,"trailName":[1],"keyId":{},"pendingWindowInDays":"soon","detectorId":[],"enable":"maybe",` +
		`"eventSelectors":{"readWriteType":7},"advancedEventSelectors":[{"fieldSelectors":"x"}],` +
		`"LifecycleConfiguration":{"Rule":[null,1,{"Expiration":{"Days":-3}},{"Expiration":{"Date":"yesterday"}}]},` +
		`"configurationRecorder":"default","deliveryChannel":[],"features":[{"status":{}}],"dataSources":{"a":{"b":{"enable":false}}},` +
		`"accountIds":{"content":7},"StandardsSubscriptionArns":"arn","DeleteFlowLogsRequest":{"FlowLogId":[{"content":{}}]}}`,
	`{"s3BucketName":"","kmsKeyId":null,"isMultiRegionTrail":null,"LifecycleConfiguration":{"Rules":{"Status":"Enabled","Expiration":{"Days":"1"}}}}`,
}

func TestDefenseDecisionsSurviveOddInput(t *testing.T) {
	env := &Env{TrailBuckets: []string{"acme-cloudtrail-archive"}}
	for id, names := range defenseEvents {
		d := defenseDetection(t, id)
		if f, ok := d.Evaluate(&event.Event{}, env); ok {
			t.Errorf("%s reported %+v on an event without a CloudTrail record", id, f)
		}
		for _, name := range names {
			for _, params := range oddInputs {
				for _, errorCode := range []string{"", "AccessDenied"} {
					ev := apiEvent(name, params, params, errorCode)
					f, ok := d.Evaluate(ev, env)
					if !ok {
						continue
					}
					if f.Headline == "" || f.Resource.Type == "" || !f.Severity.Valid() {
						t.Errorf("%s on %s %s: incomplete finding %+v", id, name, params, f)
					}
					if errorCode != "" && (!f.Attempt || f.Severity > SeverityLow && !AttemptRaised(f)) {
						t.Errorf("%s on failed %s %s: got %v attempt=%v, want a low attempt", id, name, params, f.Severity, f.Attempt)
					}
				}
			}
		}
	}
}

func TestDefenseDecisionsKeepTheirNames(t *testing.T) {
	// Each decision handles exactly the event names its pattern lets through.
	for id, names := range defenseEvents {
		d := defenseDetection(t, id)
		got, _ := d.Pattern.Detail["eventName"].([]string)
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(names))) {
			t.Errorf("%s: pattern names %q, decision table %q", id, got, names)
		}
		if d.GlobalService || d.NeedsReadOnly || d.Noisy {
			t.Errorf("%s: regional write events: GlobalService, NeedsReadOnly and Noisy must be false", id)
		}
	}
}

// FuzzDefenseDecisions feeds arbitrary request parameters and response
// elements to every decision of the group.
func FuzzDefenseDecisions(f *testing.F) {
	for _, s := range oddInputs {
		f.Add("UpdateTrail", s, s)
	}
	f.Add("PutEventSelectors", `{"advancedEventSelectors":[{"fieldSelectors":[{"field":"readOnly","equals":["true"]}]}]}`, ``)
	f.Add("PutBucketLifecycle", `{"bucketName":"b","LifecycleConfiguration":{"Rule":{"Filter":{"Prefix":"AWSLogs/"},"Expiration":{"Days":1}}}}`, ``)
	f.Add("DeleteFlowLogs", `{"DeleteFlowLogsRequest":{"FlowLogId":{"content":"fl-1"}}}`, `{"DeleteFlowLogsResponse":{"unsuccessful":{"item":{"resourceId":"fl-1"}}}}`)
	env := &Env{TrailBuckets: []string{"b"}}
	f.Fuzz(func(t *testing.T, name, params, response string) {
		for id := range defenseEvents {
			d := defenseDetection(t, id)
			if fd, ok := d.Evaluate(apiEvent(name, params, response, ""), env); ok && (fd.Headline == "" || fd.Resource.Type == "") {
				t.Errorf("%s: incomplete finding %+v", id, fd)
			}
		}
	})
}
