package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/trailwatch/trailwatch/internal/config"
)

// scanCase is one stack of the test app with the distributed scan.
type scanCase struct {
	name  string
	stack *TrailwatchStack
	tmpl  map[string]any
	// archive and objects are the archive bucket's ARN and the objects
	// the function may read, flattened (flat); prefix the configured one.
	archive, objects, prefix string
	concurrency              int
	// arn starts the stack's own regional ARNs of a service.
	arn string
	// archiveKey is the flattened ARN of the key of the archive's objects
	// (the trail's, or trailwatch:scanArchiveKey's).
	archiveKey string
}

func scanCases(t *testing.T) []scanCase {
	s := synth(t)
	trailBucket := "${" + logicalID(t, s.org.Stack, s.org.Trail.Bucket) + ".Arn}"
	return []scanCase{{
		name: "existing trail", stack: s.existing, tmpl: s.existingJSON,
		archive: "arn:${AWS::Partition}:s3:::org-archive", objects: "arn:${AWS::Partition}:s3:::org-archive/AWSLogs/o-a1b2c3d4e5/*",
		prefix: "AWSLogs/o-a1b2c3d4e5/", concurrency: config.DefaultScanConcurrency, arn: "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:",
		archiveKey: testScanArchiveKey,
	}, {
		name: "organization", stack: s.org, tmpl: s.orgJSON,
		archive: trailBucket, objects: trailBucket + "/*", concurrency: 250, arn: "arn:aws:states:eu-west-1:111122223333:",
		archiveKey: "${" + logicalID(t, s.org.Stack, s.org.Trail.Key) + ".Arn}",
	}}
}

// scanDefinition returns the state machine's definition, its Fn::Join
// resolved with ${Ref} placeholders.
func scanDefinition(t *testing.T, c scanCase) map[string]any {
	t.Helper()
	sms := resources(c.tmpl, "AWS::StepFunctions::StateMachine")
	if len(sms) != 1 {
		t.Fatalf("%d state machines, want 1", len(sms))
	}
	for _, sm := range sms {
		var def map[string]any
		if err := json.Unmarshal([]byte(flat(props(sm)["DefinitionString"])), &def); err != nil {
			t.Fatalf("definition: %v", err)
		}
		return def
	}
	return nil
}

// TestScanStateMachine: a Distributed Map over the archive's objects
// (listObjectsV2 of the fixed bucket, the execution's prefix), in batches,
// at the configured concurrency, retrying Lambda's transient errors,
// writing its results to the results bucket, then the summary.
func TestScanStateMachine(t *testing.T) {
	for _, c := range scanCases(t) {
		t.Run(c.name, func(t *testing.T) {
			def := scanDefinition(t, c)
			fnID := logicalID(t, c.stack.Stack, c.stack.Scan.Function)
			resultsID := logicalID(t, c.stack.Stack, c.stack.Scan.ResultsBucket)
			if def["StartAt"] != "Scan archive" {
				t.Errorf("StartAt %v", def["StartAt"])
			}
			states := def["States"].(obj)
			m := states["Scan archive"].(obj)
			want := map[string]any{
				"Type":           "Map",
				"Next":           "Write summary",
				"MaxConcurrency": float64(c.concurrency),
				"ResultPath":     "$.map",
				"ItemReader": obj{
					"Resource":   "arn:${AWS::Partition}:states:::s3:listObjectsV2",
					"Parameters": obj{"Bucket": strings.TrimPrefix(strings.TrimPrefix(c.archive, "arn:${AWS::Partition}:s3:::"), "${"), "Prefix.$": "$.prefix"},
				},
				"ItemBatcher": obj{
					"MaxItemsPerBatch": float64(scanBatchObjects), "MaxInputBytesPerBatch": float64(scanBatchBytes),
					"BatchInput": obj{"execution.$": "$$.Execution.Name", "filters.$": "$.filters"},
				},
				"ResultWriter": obj{
					"Resource":   "arn:${AWS::Partition}:states:::s3:putObject",
					"Parameters": obj{"Bucket": "${" + resultsID + "}", "Prefix": scanMapRunsPrefix},
				},
			}
			if c.stack.Trail != nil { // the trail bucket trailwatch creates
				want["ItemReader"].(obj)["Parameters"].(obj)["Bucket"] = "${" + logicalID(t, c.stack.Stack, c.stack.Trail.Bucket) + "}"
			}
			for k, v := range want {
				if !equalJSON(m[k], v) {
					t.Errorf("map %s = %v, want %v", k, jsonOf(m[k]), jsonOf(v))
				}
			}
			proc := m["ItemProcessor"].(obj)
			if !equalJSON(proc["ProcessorConfig"], obj{"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}) {
				t.Errorf("ProcessorConfig %v", jsonOf(proc["ProcessorConfig"]))
			}
			child := proc["States"].(obj)[proc["StartAt"].(string)].(obj)
			checkScanTask(t, "child", child, fnID, obj{"Items.$": "$.Items", "BatchInput.$": "$.BatchInput"})
			summary := states["Write summary"].(obj)
			checkScanTask(t, "summary", summary, fnID, obj{"summarize": true, "execution.$": "$$.Execution.Name", "prefix.$": "$.prefix", "filters.$": "$.filters"})
			if summary["End"] != true {
				t.Errorf("summary is not the last state: %v", jsonOf(summary))
			}
		})
	}
}

// checkScanTask: a synchronous invocation of the scan function with the
// payload, its result the function's, retried on Lambda's transient errors.
func checkScanTask(t *testing.T, what string, task obj, fnID string, payload obj) {
	t.Helper()
	if task["Resource"] != "${"+fnID+".Arn}" {
		t.Errorf("%s invokes %v, want the scan function", what, task["Resource"])
	}
	if !equalJSON(task["Parameters"], payload) {
		t.Errorf("%s payload %v, want %v", what, jsonOf(task["Parameters"]), jsonOf(payload))
	}
	retries, _ := task["Retry"].(arr)
	var errs []string
	for _, r := range retries {
		for _, e := range r.(obj)["ErrorEquals"].(arr) {
			errs = append(errs, e.(string))
		}
		if r.(obj)["MaxAttempts"].(float64) < 3 || r.(obj)["BackoffRate"].(float64) < 2 {
			t.Errorf("%s retry %v: want at least 3 attempts with backoff", what, jsonOf(r))
		}
	}
	for _, e := range []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException", "States.Timeout"} {
		if !slices.Contains(errs, e) {
			t.Errorf("%s does not retry %s (retries %v)", what, e, errs)
		}
	}
	if slices.Contains(errs, "States.ALL") || slices.Contains(errs, "States.TaskFailed") {
		t.Errorf("%s retries every error (%v): a bad filter would be tried again and again", what, errs)
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestScanIsLeastPrivilege: the state machine lists only the archive
// (under the prefix), invokes only the scan function and writes only its
// map-run results; the function reads only the archive's prefix and reads
// and writes only the results under scans/, with the results key (and the
// trail's key for the trail's log files). Each role holds exactly these.
func TestScanIsLeastPrivilege(t *testing.T) {
	for _, c := range scanCases(t) {
		t.Run(c.name, func(t *testing.T) {
			st := c.stack.Stack
			sc := c.stack.Scan
			results := "${" + logicalID(t, st, sc.ResultsBucket) + ".Arn}"
			key := "${" + logicalID(t, st, sc.ResultsKey) + ".Arn}"
			fn := "${" + logicalID(t, st, sc.Function) + ".Arn}"
			logs := "${" + logicalID(t, st, sc.Node().FindChild(jsii.String("FunctionLogGroup"))) + ".Arn}"
			smName := scanStateMachineName(*st.StackName())
			wantSM := map[string][]string{
				"s3:ListBucket":            {c.archive},
				"lambda:InvokeFunction":    {fn},
				"s3:PutObject":             {results + "/" + scanMapRunsPrefix + "*"},
				"kms:GenerateDataKey":      {key},
				"kms:Decrypt":              {key},
				"states:StartExecution":    {c.arn + "stateMachine:" + smName},
				"states:DescribeExecution": {c.arn + "execution:" + smName + ":*"},
				"states:StopExecution":     {c.arn + "execution:" + smName + ":*"},
			}
			for _, a := range []string{"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
				"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
				"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"} {
				wantSM[a] = []string{"*"} // no resource-level permissions
			}
			smStatements := roleStatements(t, c.tmpl, logicalID(t, st, sc.Role))
			checkActions(t, "state machine", actionsOf(smStatements), wantSM)
			for _, s := range smStatements {
				if slices.Contains(s.Actions, "s3:ListBucket") {
					var want any
					if c.prefix != "" {
						want = obj{"StringLike": obj{"s3:prefix": c.prefix + "*"}}
					}
					if !equalJSON(s.Condition, want) {
						t.Errorf("state machine lists the archive under %v, want %v", jsonOf(s.Condition), jsonOf(want))
					}
				}
			}

			wantFn := map[string][]string{
				"s3:GetObject":             sorted(c.objects, results+"/"+scanResultsPrefix+"*"),
				"s3:PutObject":             {results + "/" + scanResultsPrefix + "*"},
				"s3:ListBucket":            {results},
				"kms:GenerateDataKey":      {key},
				"kms:Decrypt":              sorted(key, c.archiveKey),
				"logs:CreateLogStream":     {logs},
				"logs:PutLogEvents":        {logs},
				"xray:PutTraceSegments":    {"*"},
				"xray:PutTelemetryRecords": {"*"},
			}
			fnStatements := roleStatements(t, c.tmpl, logicalID(t, st, sc.FunctionRole))
			checkActions(t, "function", actionsOf(fnStatements), wantFn)
			for _, s := range fnStatements {
				if slices.Contains(s.Actions, "s3:ListBucket") && !equalJSON(s.Condition, obj{"StringLike": obj{"s3:prefix": scanResultsPrefix + "*"}}) {
					t.Errorf("function lists the results under %v, want %s*", jsonOf(s.Condition), scanResultsPrefix)
				}
			}
		})
	}
}

// checkActions: exactly the wanted actions on exactly their resources; no
// wildcard action, no "*" resource but where AWS allows no other.
func checkActions(t *testing.T, who string, got, want map[string][]string) {
	t.Helper()
	for a, res := range got {
		if strings.HasSuffix(a, "*") {
			t.Errorf("%s may %s", who, a)
		}
		if w, ok := want[a]; !ok {
			t.Errorf("%s may %s on %v, which it does not need", who, a, res)
		} else if !slices.Equal(res, w) {
			t.Errorf("%s may %s on %v, want %v", who, a, res, w)
		}
	}
	for a, w := range want {
		if _, ok := got[a]; !ok {
			t.Errorf("%s may not %s on %v", who, a, w)
		}
	}
}

func sorted(items ...string) []string {
	var out []string
	for _, s := range items {
		if s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// TestScanOutputsAndFunction: the outputs the CLI reads, the function's
// settings, and no scan without trailwatch:scanArchive.
func TestScanOutputsAndFunction(t *testing.T) {
	for _, c := range scanCases(t) {
		t.Run(c.name, func(t *testing.T) {
			outs, _ := c.tmpl["Outputs"].(map[string]any)
			for _, o := range []string{"ScanStateMachineArn", "ScanResultsBucketName"} {
				if outs[o] == nil {
					t.Errorf("no output %s", o)
				}
			}
			fn := props(resources(c.tmpl, "AWS::Lambda::Function")[logicalID(t, c.stack.Stack, c.stack.Scan.Function)])
			if fn["MemorySize"] != float64(scanMemoryMB) || fn["Timeout"] != float64(scanTimeoutMinutes*60) || !equalJSON(fn["Architectures"], arr{"arm64"}) {
				t.Errorf("function memory %v, timeout %v, architectures %v", fn["MemorySize"], fn["Timeout"], fn["Architectures"])
			}
			vars := fn["Environment"].(obj)["Variables"].(obj)
			if flat(vars[config.EnvScanResultsBucket]) != "${"+logicalID(t, c.stack.Stack, c.stack.Scan.ResultsBucket)+"}" {
				t.Errorf("%s = %v", config.EnvScanResultsBucket, vars[config.EnvScanResultsBucket])
			}
			if archive := flat(vars[config.EnvScanArchiveBucket]); archive == "" || !strings.Contains(c.archive, strings.Trim(archive, "${}")) {
				t.Errorf("%s = %v, want the archive %s", config.EnvScanArchiveBucket, archive, c.archive)
			}
			// The settings name the stack's resources (Refs, flattened).
			var settings config.Settings
			if err := json.Unmarshal([]byte(flat(vars[config.EnvSettings])), &settings); err != nil || len(settings.Env.OwnNames) == 0 {
				t.Errorf("%s = %v (%v), want the stack's settings", config.EnvSettings, vars[config.EnvSettings], err)
			}
		})
	}
	s := synth(t)
	if s.stack.Scan != nil || len(resources(s.json, "AWS::StepFunctions::StateMachine")) > 0 {
		t.Error("the main stack, without trailwatch:scanArchive, has a scan")
	}
	for _, o := range []string{"ScanStateMachineArn", "ScanResultsBucketName"} {
		if outs, _ := s.json["Outputs"].(map[string]any); outs[o] != nil {
			t.Errorf("the main stack outputs %s", o)
		}
	}
}

// TestScanStateMachineName: STACK-scan while it fits Step Functions' 80
// characters; longer stack names keep their beginning and a hash of the
// whole, so two that share their first 66 characters still differ.
func TestScanStateMachineName(t *testing.T) {
	long := strings.Repeat("Trailwatch-Production-", 5) // 110 characters
	for _, tc := range []struct{ stack, want string }{
		{"Trailwatch", "Trailwatch-scan"},
		{strings.Repeat("a", 75), strings.Repeat("a", 75) + "-scan"},
	} {
		if got := scanStateMachineName(tc.stack); got != tc.want {
			t.Errorf("scanStateMachineName(%q) = %q, want %q", tc.stack, got, tc.want)
		}
	}
	a, b := scanStateMachineName(long+"A"), scanStateMachineName(long+"B")
	for _, n := range []string{a, b} {
		if len(n) != maxStateMachineName || !strings.HasPrefix(n, long[:66]+"-") || !strings.HasSuffix(n, "-scan") {
			t.Errorf("scanStateMachineName of a long name = %q (%d characters)", n, len(n))
		}
	}
	if a == b {
		t.Errorf("two long stack names share the state machine name %q", a)
	}
}
