package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "trailwatch-function-tampered",
		Title: "trailwatch's Lambda functions changed, throttled or deleted",
		Description: "One of trailwatch's own Lambda functions (the CloudTrail function that raises alerts, the digest " +
			"function) was changed or switched off outside a deployment. CloudTrail names Lambda events with the API " +
			"version (UpdateFunctionCode20150331v2, DeleteFunction20150331), so the rule matches name prefixes. Critical: " +
			"DeleteFunction, UpdateFunctionCode (new code runs with the function's permissions and decides which alerts go " +
			"out) and PutFunctionConcurrency with 0 reserved executions (every invocation is throttled). High: " +
			"UpdateFunctionConfiguration (environment, role, timeout, layers: the settings and channels it delivers to) and " +
			"RemovePermission (EventBridge may no longer invoke it). Medium: PutFunctionConcurrency with a small limit " +
			"(bursts are throttled). A change CloudFormation makes (deploying or deleting trailwatch) is low; a denied " +
			"attempt is low. Which functions are trailwatch's comes from the settings (the stacks' name prefixes); " +
			"without settings, functions whose name holds \"trailwatch\" in any case.",
		Severity: SeverityCritical,
		Pattern: APICall([]string{lambdaSource}).Where("eventName",
			map[string]any{"prefix": "UpdateFunctionCode"},
			map[string]any{"prefix": "UpdateFunctionConfiguration"},
			map[string]any{"prefix": "DeleteFunction"},
			map[string]any{"prefix": "PutFunctionConcurrency"},
			map[string]any{"prefix": "RemovePermission"}),
		Narrow:   narrowFunctionPattern,
		Evaluate: evaluateFunctionTampered,
		MITRE:    []string{"T1562.001", "T1562.006"},
		Runbook: "Find out who changed the function and whether it was a planned trailwatch deployment (a CloudFormation " +
			"stack operation shows in the alert). If not, compare the function with what trailwatch deploys (aws lambda " +
			"get-function --function-name FUNCTION: code SHA-256, role, environment) and redeploy trailwatch (npx cdk deploy " +
			"--all), which restores code, configuration and the EventBridge permission; remove a reserved concurrency of 0 " +
			"(aws lambda delete-function-concurrency --function-name FUNCTION). Read the function's log group for what the " +
			"replaced code did, replay what went unreported from the trail's logs (trailwatch replay), and treat the " +
			"principal as compromised until explained. Deny lambda:UpdateFunctionCode, UpdateFunctionConfiguration, " +
			"DeleteFunction, PutFunctionConcurrency and RemovePermission on function:Trailwatch-* to everyone but the " +
			"deployment role.",
		References: []string{
			"https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html",
			"https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html",
			"https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html",
			"https://docs.aws.amazon.com/lambda/latest/api/API_RemovePermission.html",
		},
		FalsePositives: []string{
			"trailwatch deployments and stack deletions (reported low, by CloudFormation).",
			"Debugging in the console (raising the timeout, editing an environment variable) instead of redeploying.",
		},
		Protected: true,
		// The digest of a storm window would be sent by what this
		// detection sees being deleted or cut off.
		Immediate: true,
		Tests: Tests{
			Positive: []Example{
				{"lambda/trailwatch-function-tampered-update-code.json", SeverityCritical},
				{"lambda/trailwatch-function-tampered-update-configuration.json", SeverityHigh},
				{"lambda/trailwatch-function-tampered-delete-function.json", SeverityCritical},
				{"lambda/trailwatch-function-tampered-concurrency-zero.json", SeverityCritical},
				{"lambda/trailwatch-function-tampered-concurrency-limited.json", SeverityMedium},
				{"lambda/trailwatch-function-tampered-remove-permission.json", SeverityHigh},
				{"lambda/trailwatch-function-tampered-cloudformation-update-code.json", SeverityLow},
				{"lambda/trailwatch-function-tampered-update-code-denied.json", SeverityLow},
			},
			Negative: []string{
				"lambda/trailwatch-function-tampered-update-other-function.json",
				"lambda/trailwatch-function-tampered-get-function.json",
			},
		},
	})
}

// functionField is the request parameter every call of the detection names
// its function in (a name, ARN or partial ARN, see functionNameOf).
const functionField = "requestParameters.functionName"

// narrowFunctionPattern limits the rule to calls on trailwatch's own
// functions when the settings name them: functionName holds one of
// OwnPrefixes or OwnNames (see ownContains), which the decision requires
// of the name it finds in it. Without it every change to any function of
// the account invoked the function. Without names, or past EventBridge's
// size quota, every call still reaches the decision.
func narrowFunctionPattern(p Pattern, env *Env) Pattern {
	values, ok := env.ownContains()
	if !ok {
		return p
	}
	if n := p.Where(functionField, values...); n.fits() {
		return n
	}
	return p
}

func evaluateFunctionTampered(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := ev.RequestParams()
	given := jsonString(field(rp, "functionName"))
	name := functionNameOf(given)
	if !env.Owns(name) {
		return Finding{}, false
	}
	f := Finding{Resource: Resource{Type: "Lambda function", Name: name, Region: rec.AWSRegion,
		ARN: regionalResourceARN(rec, "lambda", "function:"+name)}}
	if strings.HasPrefix(given, "arn:") {
		f.Resource.ARN = given
	}
	fn := "trailwatch function " + name
	switch api := strings.TrimRight(rec.EventName, "0123456789v"); api {
	case "UpdateFunctionCode":
		f.Severity = SeverityCritical
		f.Changes = []Change{{Setting: "Code", Before: NotRecorded, After: "replaced"}}
		if sha := jsonString(field(fields(rec.ResponseElements), "codeSha256")); sha != "" {
			f.Changes[0].After = "replaced (SHA-256 " + sha + ")"
		}
		f.Evidence = []Evidence{{Label: "Code source in the request", Text: compactJSON(rec.RequestParameters)}}
		return selfOutcome(f, rec, fn+" given new code", ": it decides which alerts go out", "replace the code of "+fn), true
	case "UpdateFunctionConfiguration":
		f.Severity = SeverityHigh
		keys := make([]string, 0, len(rp))
		for k := range rp {
			if !strings.EqualFold(k, "functionName") {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := paramValue(rp[k])
			after, ok := v.Str()
			if !ok {
				after = v.JSON()
			}
			f.Changes = append(f.Changes, Change{Setting: k, Before: NotRecorded, After: after})
		}
		f.Evidence = []Evidence{{Label: "Configuration in the request", Text: compactJSON(rec.RequestParameters)}}
		done := fn + " reconfigured"
		if len(keys) > 0 {
			done += ": " + listPhrase(keys)
		}
		return selfOutcome(f, rec, done, "", "reconfigure "+fn), true
	case "DeleteFunction":
		f.Severity = SeverityCritical
		f.Changes = []Change{{Setting: "Function", Before: "exists", After: "deleted"}}
		return selfOutcome(f, rec, fn+" deleted", ": its alerts stop", "delete "+fn), true
	case "PutFunctionConcurrency":
		n, ok := paramValue(field(rp, "reservedConcurrentExecutions")).Int()
		if !ok {
			return Finding{}, false
		}
		f.Changes = []Change{{Setting: "Reserved concurrency", Before: NotRecorded, After: fmt.Sprint(n)}}
		if n == 0 {
			f.Severity = SeverityCritical
			return selfOutcome(f, rec, fn+" throttled to zero concurrency", ": it can no longer run",
				"throttle "+fn+" to zero concurrency"), true
		}
		f.Severity = SeverityMedium
		return selfOutcome(f, rec, fmt.Sprintf("%s limited to %d concurrent executions", fn, n), ": bursts of events are throttled",
			fmt.Sprintf("limit %s to %d concurrent executions", fn, n)), true
	case "RemovePermission":
		f.Severity = SeverityHigh
		perm := "A permission"
		if sid := jsonString(field(rp, "statementId")); sid != "" {
			perm = "Permission " + sid
		}
		f.Changes = []Change{{Setting: perm, Before: "granted", After: "removed"}}
		return selfOutcome(f, rec, perm+" removed from "+fn, ": its rules may no longer invoke it",
			"remove a permission from "+fn), true
	}
	return Finding{}, false
}
