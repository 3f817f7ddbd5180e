package sigma

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

// probe is one event of a construct's table: the detail fields laid over a
// plain CloudTrail record, whether the compiled pattern lets it through and
// whether the rule matches it.
type probe struct {
	detail  string
	pattern bool
	match   bool
}

// constructCases cover every supported construct: each has events the
// rule matches (which the pattern must let through) and events it does
// not, some rejected by the pattern itself, others only by the decision.
var constructCases = []struct {
	name      string
	detection string
	// literal: no Sigma wildcard, so sigma-go on the nested record (its own
	// JSONPath field mappings) must decide as trailwatch does.
	literal bool
	probes  []probe
}{
	{"equality", "sel:\n  eventName: DeleteTrail\ncondition: sel", true, []probe{
		{`{"eventName":"DeleteTrail"}`, true, true},
		{`{"eventName":"deleteTRAIL"}`, true, true},
		{`{"eventName":"DeleteTrails"}`, false, false},
		{`{"eventName":"Delete"}`, false, false},
	}},
	{"startswith and contains lower like Go", "sel:\n  eventName|startswith: kill\n  userAgent|contains: ki\ncondition: sel", true, []probe{
		{`{"eventName":"\u212aILLSwitch","userAgent":"x\u212a\u0130"}`, true, true},
		{`{"eventName":"kiLLSwitch","userAgent":"kI"}`, true, true},
		{`{"eventName":"kilSwitch","userAgent":"ki"}`, true, false},
		{`{"eventName":"kalSwitch","userAgent":"ki"}`, false, false},
	}},
	{"kelvin and long s fold like Go", "sel:\n  eventName: ListKeys\ncondition: sel", true, []probe{
		{`{"eventName":"Li\u017ft\u212aeys"}`, true, true},
		{`{"eventName":"LISTKEYS"}`, true, true},
		{`{"eventName":"ListKey"}`, false, false},
	}},
	{"list", "sel:\n  eventName:\n    - StopLogging\n    - DeleteTrail\ncondition: sel", true, []probe{
		{`{"eventName":"StopLogging"}`, true, true},
		{`{"eventName":"DeleteTrail"}`, true, true},
		{`{"eventName":"StartLogging"}`, false, false},
	}},
	{"null", "sel:\n  eventName: DeleteBucket\n  errorCode: null\ncondition: sel", true, []probe{
		{`{"eventName":"DeleteBucket"}`, true, true},
		{`{"eventName":"DeleteBucket","errorCode":null}`, true, true},
		{`{"eventName":"DeleteBucket","errorCode":"AccessDenied"}`, true, false},
		{`{"eventName":"CreateBucket"}`, false, false},
	}},
	{"and not", "sel:\n  eventSource: s3.amazonaws.com\nfilter:\n  eventName: ListBuckets\ncondition: sel and not filter", true, []probe{
		{`{"eventName":"DeleteBucket"}`, true, true},
		{`{"eventName":"ListBuckets"}`, true, false},
		{`{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances"}`, false, false},
	}},
	{"or", "a:\n  eventName: StopLogging\nb:\n  eventName: DeleteTrail\n  eventSource: cloudtrail.amazonaws.com\ncondition: a or b", true, []probe{
		{`{"eventName":"StopLogging"}`, true, true},
		{`{"eventName":"DeleteTrail","eventSource":"cloudtrail.amazonaws.com"}`, true, true},
		{`{"eventName":"DeleteTrail"}`, true, false},
		{`{"eventName":"UpdateTrail","eventSource":"cloudtrail.amazonaws.com"}`, false, false},
	}},
	{"1 of pattern", "sel_stop:\n  eventName: StopLogging\nsel_delete:\n  eventName: DeleteTrail\nother:\n  awsRegion: eu-west-1\ncondition: 1 of sel_*", true, []probe{
		{`{"eventName":"StopLogging"}`, true, true},
		{`{"eventName":"DeleteTrail"}`, true, true},
		{`{"eventName":"CreateTrail","awsRegion":"eu-west-1"}`, false, false},
	}},
	{"all of pattern", "sel_name:\n  eventName: StopLogging\nsel_region:\n  awsRegion: eu-west-1\ncondition: all of sel_*", true, []probe{
		{`{"eventName":"StopLogging","awsRegion":"eu-west-1"}`, true, true},
		{`{"eventName":"StopLogging","awsRegion":"us-east-1"}`, false, false},
		{`{"eventName":"StartLogging","awsRegion":"eu-west-1"}`, false, false},
	}},
	{"1 of them", "a:\n  eventName: StopLogging\nb:\n  eventName: DeleteTrail\ncondition: 1 of them", true, []probe{
		{`{"eventName":"DeleteTrail"}`, true, true},
		{`{"eventName":"CreateTrail"}`, false, false},
	}},
	{"all of them", "a:\n  eventName: StopLogging\nb:\n  awsRegion: eu-west-1\ncondition: all of them", true, []probe{
		{`{"eventName":"StopLogging","awsRegion":"eu-west-1"}`, true, true},
		{`{"eventName":"StopLogging"}`, false, false},
	}},
	{"list of maps", "sel:\n  - eventName: StopLogging\n    eventSource: cloudtrail.amazonaws.com\n  - eventName: DeleteBucket\n    eventSource: s3.amazonaws.com\ncondition: sel", true, []probe{
		{`{"eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com"}`, true, true},
		{`{"eventName":"DeleteBucket"}`, true, true},
		{`{"eventName":"StopLogging"}`, true, false},
		{`{"eventName":"CreateBucket"}`, false, false},
	}},
	{"condition list", "condition:\n  - a\n  - b\na:\n  eventName: StopLogging\nb:\n  eventName: DeleteTrail", true, []probe{
		{`{"eventName":"StopLogging"}`, true, true},
		{`{"eventName":"DeleteTrail"}`, true, true},
		{`{"eventName":"CreateTrail"}`, false, false},
	}},
	{"nested field", "sel:\n  eventName: PutBucketPolicy\n  requestParameters.bucketName: acme-logs\ncondition: sel", true, []probe{
		{`{"eventName":"PutBucketPolicy","requestParameters":{"bucketName":"ACME-LOGS"}}`, true, true},
		{`{"eventName":"PutBucketPolicy","requestParameters":{"bucketName":"acme-data"}}`, false, false},
		{`{"eventName":"PutBucketPolicy","requestParameters":{"bucketName":"acme-loɡs"}}`, false, false},
		{`{"eventName":"PutBucketPolicy","requestParameters":null}`, false, false},
	}},
	{"array of objects", "sel:\n  eventName: AssumeRole\n  resources.ARN: arn:aws:iam::1:role/admin\ncondition: sel", false, []probe{
		{`{"eventName":"AssumeRole","resources":[{"ARN":"arn:aws:iam::1:user/x"},{"ARN":"arn:aws:iam::1:role/admin"}]}`, true, true},
		{`{"eventName":"AssumeRole","resources":[{"ARN":"arn:aws:iam::1:role/other"}]}`, false, false},
	}},
	{"boolean", "sel:\n  eventName: UpdateDetector\n  requestParameters.enable: 'false'\ncondition: sel", true, []probe{
		{`{"eventName":"UpdateDetector","requestParameters":{"enable":false}}`, true, true},
		{`{"eventName":"UpdateDetector","requestParameters":{"enable":"FALSE"}}`, true, true},
		{`{"eventName":"UpdateDetector","requestParameters":{"enable":true}}`, false, false},
	}},
	{"number", "sel:\n  eventName: CreateDBInstance\n  requestParameters.allocatedStorage: 20\ncondition: sel", true, []probe{
		{`{"eventName":"CreateDBInstance","requestParameters":{"allocatedStorage":20}}`, true, true},
		{`{"eventName":"CreateDBInstance","requestParameters":{"allocatedStorage":"20"}}`, true, true},
		{`{"eventName":"CreateDBInstance","requestParameters":{"allocatedStorage":30}}`, true, false},
	}},
	{"contains", "sel:\n  eventSource: iam.amazonaws.com\n  userAgent|contains: S3 Browser\ncondition: sel", true, []probe{
		{`{"eventSource":"iam.amazonaws.com","userAgent":"Mozilla s3 browser 9.1"}`, true, true},
		{`{"eventSource":"iam.amazonaws.com","userAgent":"aws-cli"}`, false, false},
		{`{"eventSource":"iam.amazonaws.com","userAgent":"S3 Brow"}`, true, false},
		{`{"eventSource":"s3.amazonaws.com","userAgent":"S3 Browser"}`, false, false},
	}},
	{"contains all on an object", "sel:\n  eventName: PutUserPolicy\n  requestParameters|contains|all:\n    - '\"Effect\":\"Allow\"'\n    - 's3:*'\ncondition: sel", false, []probe{
		{`{"eventName":"PutUserPolicy","requestParameters":{"policy":{"Effect":"Allow","Action":"s3:GetObject"}}}`, true, true},
		{`{"eventName":"PutUserPolicy","requestParameters":{"policy":{"Effect":"Deny","Action":"s3:GetObject"}}}`, true, false},
	}},
	{"startswith and endswith", "sel:\n  eventName|startswith: Describe\n  userAgent|endswith: '/\\*'\n  sourceIPAddress|startswith: '::'\ncondition: sel", false, []probe{
		{`{"eventName":"describeInstances","userAgent":"x/*","sourceIPAddress":"::1"}`, true, true},
		{`{"eventName":"DescribeInstances","userAgent":"x/1","sourceIPAddress":"::1"}`, false, false},
		{`{"eventName":"DescribeInstances","userAgent":"x/*","sourceIPAddress":"10.0.0.1"}`, false, false},
		{`{"eventName":"ListInstances","userAgent":"x/*","sourceIPAddress":"::1"}`, false, false},
		{`{"eventName":"DesInstances","userAgent":"x/*","sourceIPAddress":"::1"}`, true, false},
		{`{"eventName":"DEſCRIBEInstances","userAgent":"x/*","sourceIPAddress":"::1"}`, false, false},
	}},
	{"re", "sel:\n  userIdentity.arn|re: '.+:assumed-role/aws:.+'\ncondition: sel", true, []probe{
		{`{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1"}}`, true, true},
		{`{"userIdentity":{"type":"AssumedRole","arn":":assumed-role/aws:"}}`, true, false},
		{`{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/AWS:x/i-1"}}`, false, false},
	}},
	{"cidr", "sel:\n  eventName: ConsoleLogin\n  sourceIPAddress|cidr: 203.0.113.0/24\ncondition: sel", true, []probe{
		{`{"eventName":"ConsoleLogin","sourceIPAddress":"203.0.113.9"}`, true, true},
		{`{"eventName":"ConsoleLogin","sourceIPAddress":"198.51.100.1"}`, true, false},
		{`{"eventName":"GetCallerIdentity","sourceIPAddress":"203.0.113.9"}`, false, false},
	}},
	{"base64", "sel:\n  eventName: ModifyInstanceAttribute\n  requestParameters.userData|base64: '#!/bin/sh'\ncondition: sel", true, []probe{
		{`{"eventName":"ModifyInstanceAttribute","requestParameters":{"userData":"IyEvYmluL3No"}}`, true, true},
		{`{"eventName":"ModifyInstanceAttribute","requestParameters":{"userData":"aWQ="}}`, false, false},
	}},
	{"gte", "sel:\n  eventName: CreateDBInstance\n  requestParameters.allocatedStorage|gte: 1000\ncondition: sel", true, []probe{
		{`{"eventName":"CreateDBInstance","requestParameters":{"allocatedStorage":4000}}`, true, true},
		{`{"eventName":"CreateDBInstance","requestParameters":{"allocatedStorage":100}}`, true, false},
	}},
	{"wildcards", "sel:\n  eventSource: ec2.amazonaws.com\n  eventName: 'Describe*'\n  errorMessage|contains: '*'\n  userAgent: 'aws-cli/?.*'\ncondition: sel", false, []probe{
		{`{"eventSource":"ec2.amazonaws.com","eventName":"DESCRIBEInstances","errorMessage":"denied","userAgent":"aws-cli/2.9"}`, true, true},
		{`{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","userAgent":"aws-cli/2.9"}`, true, false},
		{`{"eventSource":"ec2.amazonaws.com","eventName":"ListInstances","errorMessage":"denied","userAgent":"aws-cli/2.9"}`, true, false},
		{`{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","errorMessage":"denied","userAgent":"aws-cli/22.9"}`, true, false},
		{`{"eventSource":"s3.amazonaws.com","eventName":"DescribeInstances","errorMessage":"denied","userAgent":"aws-cli/2.9"}`, false, false},
	}},
	{"escaped wildcard", "sel:\n  eventName: DeleteTrail\n  requestParameters.name: 'trail\\*'\ncondition: sel", false, []probe{
		{`{"eventName":"DeleteTrail","requestParameters":{"name":"trail*"}}`, true, true},
		{`{"eventName":"DeleteTrail","requestParameters":{"name":"trailx"}}`, false, false},
		{`{"eventName":"DeleteTrail","requestParameters":{"name":"TRAIL*"}}`, true, true},
	}},
}

const constructHeader = "title: construct\nid: 0b6a1c4e-3333-4a6f-9a55-000000000000\nlogsource:\n  product: aws\n  service: cloudtrail\nlevel: low\ndetection:\n"

func TestConstructs(t *testing.T) {
	for _, tc := range constructCases {
		t.Run(tc.name, func(t *testing.T) {
			src := constructHeader + "  " + strings.ReplaceAll(tc.detection, "\n", "\n  ") + "\n"
			r, refusal := Parse(tc.name+".yml", []byte(src))
			if refusal != nil {
				t.Fatalf("refused: %s\n%s", refusal, src)
			}
			cat, err := detect.New(r.Detection)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range tc.probes {
				raw := probeEvent(t, p.detail)
				ev, err := event.Decode(raw)
				if err != nil {
					t.Fatalf("probe %d: %v", i, err)
				}
				matched, err := cat.Match(ev)
				if err != nil {
					t.Fatal(err)
				}
				if got := slices.Contains(matched, r.Detection); got != p.pattern {
					pat, _ := r.Detection.Pattern.JSON()
					t.Errorf("probe %d %s: pattern matched %t, want %t\npattern %s", i, p.detail, got, p.pattern, pat)
				}
				res, err := evaluatorOf(t, r).matches(ev.CloudTrail.Raw)
				if err != nil {
					t.Fatal(err)
				}
				if res.Match != p.match {
					t.Errorf("probe %d %s: rule matched %t, want %t", i, p.detail, res.Match, p.match)
				}
				findings, err := cat.Evaluate(ev)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(findings) == 1; got != (p.match && p.pattern) {
					t.Errorf("probe %d %s: catalog finding %t, want %t", i, p.detail, got, p.match && p.pattern)
				}
				if tc.literal {
					if own := ownEvaluator(t, r.Sigma, ev.CloudTrail.Raw); own != res.Match {
						t.Errorf("probe %d %s: sigma-go on the nested record says %t, trailwatch %t", i, p.detail, own, res.Match)
					}
				}
			}
			// And events generated from the rule's own values.
			gens := generators(r.Sigma)
			rng := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
			for range 200 {
				check(t, r, cat, generate(rng, gens, ""))
			}
		})
	}
}

func probeEvent(t *testing.T, detail string) []byte {
	t.Helper()
	base := map[string]any{
		"eventVersion": "1.09", "eventTime": "2026-12-03T10:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
		"awsRegion": "us-east-1", "eventID": "e1", "eventType": "AwsApiCallViaCloudtrail",
		"userIdentity": map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::1:user/alice"},
	}
	var over map[string]any
	if err := json.Unmarshal([]byte(detail), &over); err != nil {
		t.Fatalf("probe %s: %v", detail, err)
	}
	for k, v := range over {
		base[k] = v
	}
	src, _ := base["eventSource"].(string)
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": "1", "detail-type": event.DetailTypeAPICall, "source": event.SourceFor(src),
		"account": "1", "time": "2026-12-03T10:00:00Z", "region": "us-east-1", "resources": []any{}, "detail": base,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ownEvaluator is sigma-go with its own JSONPath field mappings on the
// decoded record: the reference trailwatch's decision is held to.
func ownEvaluator(t *testing.T, r sigmago.Rule, record []byte) bool {
	t.Helper()
	mappings := map[string]sigmago.FieldMapping{}
	searches := map[string]sigmago.Search{}
	for name, s := range r.Detection.Searches {
		var cp sigmago.Search
		for _, em := range s.EventMatchers {
			var out sigmago.EventMatcher
			for _, fm := range em {
				vals := slices.Clone(fm.Values)
				for i, v := range vals {
					if v == nil {
						vals[i] = "null" // sigma-go's own spelling of null
					}
				}
				fm.Values = vals
				out = append(out, fm)
				var path strings.Builder
				path.WriteString("$")
				for _, k := range strings.Split(fm.Field, ".") {
					fmt.Fprintf(&path, "[%q]", k)
				}
				mappings[fm.Field] = sigmago.FieldMapping{TargetNames: []string{path.String()}}
			}
			cp.EventMatchers = append(cp.EventMatchers, out)
		}
		searches[name] = cp
	}
	r.Detection.Searches = searches
	var rec map[string]any
	if err := json.Unmarshal(record, &rec); err != nil {
		t.Fatal(err)
	}
	res, err := evaluator.ForRule(r, evaluator.WithConfig(sigmago.Config{FieldMappings: mappings})).Matches(context.Background(), rec)
	if err != nil {
		t.Fatalf("sigma-go: %v", err)
	}
	return res.Match
}
