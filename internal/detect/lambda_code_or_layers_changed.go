package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "lambda-code-or-layers-changed",
		Title: "Lambda function code replaced or layers attached outside a deployment",
		Description: "Persistence through Lambda: UpdateFunctionCode gave a function new code, or UpdateFunctionConfiguration " +
			"or CreateFunction set its layers (a layer can carry an extension, which runs beside every invocation with the " +
			"function's role and sees its events). CloudTrail names Lambda events with the API version " +
			"(UpdateFunctionCode20150331v2), so the rule matches name prefixes. High: a layer published by another AWS " +
			"account than the function's (its code is whatever that account puts in the version). Medium: new code or a " +
			"layer of the account itself set by a person (a console session, an IAM user's keys, an MFA, IAM Identity " +
			"Center or SAML session), by EC2 instance credentials or by a principal of another account. Low: the same " +
			"from other role sessions (automation such as a deployment pipeline), a change CloudFormation makes, and denied " +
			"attempts. UpdateFunctionConfiguration without layers, and CreateFunction without layers, are not reported. " +
			"trailwatch's own functions are left to trailwatch-function-tampered.",
		Severity: SeverityMedium,
		Pattern: APICall([]string{lambdaSource}).Where("eventName",
			map[string]any{"prefix": "UpdateFunctionCode"},
			map[string]any{"prefix": "UpdateFunctionConfiguration"},
			map[string]any{"prefix": "CreateFunction"}),
		Evaluate: evaluateLambdaCodeOrLayers,
		MITRE:    []string{"T1648", "T1525"},
		Runbook: "Ask the principal whether the change was a deployment. If not: compare the function with its source " +
			"(aws lambda get-function --function-name FUNCTION gives the code's SHA-256 and a download link; aws lambda " +
			"get-function-configuration --function-name FUNCTION lists its layers), inspect every layer it uses (aws lambda " +
			"get-layer-version-by-arn --arn LAYER_ARN; an extensions/ folder in the layer runs as an extension), redeploy the " +
			"function from its pipeline, or remove the layers (aws lambda update-function-configuration --function-name " +
			"FUNCTION --layers with the expected list). Read the function's log group for what the code did, review what its " +
			"role can reach, and treat the principal as compromised until explained. When a deployment pipeline or its role " +
			"raises this on every release, allow-list that role for this detection (trailwatch:suppressions, principals).",
		References: []string{
			"https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html",
			"https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html",
			"https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html",
			"https://docs.aws.amazon.com/lambda/latest/dg/lambda-extensions.html",
			"https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html",
		},
		FalsePositives: []string{
			"Deployments by a pipeline that signs with an IAM user's keys or a person's session (allow-list the pipeline's principal).",
			"Layers AWS or vendors publish from their own accounts (Lambda Insights, Powertools, Datadog, the Parameters and Secrets extension): reported high; allow-list the principal that attaches them, or keep them in CloudFormation.",
			"Hot fixes typed in the console's code editor.",
		},
		Tests: Tests{
			Positive: []Example{
				{"lambda/lambda-code-or-layers-changed-update-code-iam-user.json", SeverityMedium},
				{"lambda/trailwatch-function-tampered-update-other-function.json", SeverityMedium},
				{"lambda/lambda-code-or-layers-changed-update-code-pipeline.json", SeverityLow},
				{"lambda/lambda-code-or-layers-changed-update-code-cloudformation.json", SeverityLow},
				{"lambda/lambda-code-or-layers-changed-update-code-denied.json", SeverityLow},
				{"lambda/lambda-code-or-layers-changed-foreign-layer.json", SeverityHigh},
				{"lambda/lambda-code-or-layers-changed-create-function-foreign-layer.json", SeverityHigh},
				{"lambda/lambda-code-or-layers-changed-own-layer-console.json", SeverityMedium},
			},
			Negative: []string{
				"lambda/lambda-code-or-layers-changed-update-configuration-timeout.json",
				"lambda/trailwatch-function-tampered-update-code.json",
				"lambda/trailwatch-function-tampered-update-configuration.json",
				"lambda/lambda-function-public-get-policy.json",
			},
		},
	})
}

// layerAccount is the account of a layer version ARN
// (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION), "" when s is not one.
func layerAccount(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "layer" || !isAccountID(parts[4]) {
		return ""
	}
	return parts[4]
}

func evaluateLambdaCodeOrLayers(ev *event.Event, env *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := ev.RequestParams()
	given := jsonString(field(rp, "functionName"))
	name := functionNameOf(given)
	if env.Owns(name) {
		// trailwatch-function-tampered reports trailwatch's own functions.
		return Finding{}, false
	}
	f := Finding{Resource: lambdaFunctionResource(rec, given)}
	f.Resource.Name = name
	fn := functionLabel(name)
	api := strings.TrimRight(rec.EventName, "0123456789v")
	var done, tried string
	switch api {
	case "UpdateFunctionCode":
		f.Changes = []Change{{Setting: "Code", Before: NotRecorded, After: "replaced"}}
		if sha := jsonString(field(fields(rec.ResponseElements), "codeSha256")); sha != "" {
			f.Changes[0].After = "replaced (SHA-256 " + clip(sha, 100) + ")"
		}
		f.Evidence = []Evidence{{Label: "Code source in the request", Text: compactJSON(rec.RequestParameters)}}
		done, tried = fn+" given new code", "replace the code of "+fn
	case "UpdateFunctionConfiguration", "CreateFunction":
		raw := field(rp, "layers")
		if raw == nil {
			return Finding{}, false
		}
		layers := jsonStrings(raw)
		var foreign []string
		for _, l := range layers {
			if a := layerAccount(l); a != "" && a != rec.Account() && !slices.Contains(foreign, a) {
				foreign = append(foreign, a)
			}
		}
		after := "none"
		if len(layers) > 0 {
			after = clip(strings.Join(layers, ", "), 2000)
		}
		before := NotRecorded
		if api == "CreateFunction" {
			before = ""
		}
		f.Changes = []Change{{Setting: "Layers", Before: before, After: after}}
		f.Evidence = []Evidence{{Label: "Layers in the request", Text: compactJSON(raw)}}
		verb := "given layers"
		if api == "CreateFunction" {
			verb = "created with layers"
		}
		if len(layers) == 0 {
			// Layers removed: nothing new runs.
			return Finding{}, false
		}
		done, tried = fn+" "+verb+" "+listPhrase(layers), "set the layers of "+fn
		if len(foreign) > 0 {
			f.Severity = SeverityHigh
			f.Evidence = append(f.Evidence, Evidence{Label: "Layers published by another AWS account", Text: strings.Join(foreign, ", ")})
			by := "account "
			if len(foreign) > 1 {
				by = "accounts "
			}
			done = fmt.Sprintf("%s %s published by %s%s", fn, verb, by, listPhrase(foreign))
		}
	default:
		// CreateFunctionUrlConfig and the like share the prefixes.
		return Finding{}, false
	}
	if f.Severity == 0 {
		f.Severity = SeverityLow
		who := personSession(rec)
		switch {
		case foreignCaller(rec) != "":
			who = "by a principal of account " + foreignCaller(rec)
		case who == "" && instanceCredentials(rec):
			who = "with the credentials of an EC2 instance"
		}
		if who != "" {
			f.Severity = SeverityMedium
			done += " " + who
		}
	}
	return selfOutcome(f, rec, done, "", tried), true
}
