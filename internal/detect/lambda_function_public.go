package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "lambda-function-public",
		Title: "Lambda function opened to anyone",
		Description: "AddPermission (CloudTrail names carry the API version, e.g. AddPermission20150331v2) added a statement " +
			"to a function's resource-based policy for principal \"*\" with no sourceArn, sourceAccount or principalOrgID: " +
			"anyone with AWS credentials can invoke it (critical), or anyone on the internet when the grant is limited to the " +
			"function URL with auth type NONE (high). CreateFunctionUrlConfig or UpdateFunctionUrlConfig with authType NONE " +
			"gives the function a public HTTPS endpoint without authentication (high). A service principal " +
			"(s3.amazonaws.com...) without a source ARN or account lets that service invoke the function for any account's " +
			"resources (low, confused deputy). Not covered: grants to a named account or organization, grants pinned to a " +
			"source, function URLs with AWS_IAM auth, layer permissions (AddLayerVersionPermission), and API Gateway in front of a function.",
		Severity: SeverityCritical,
		Pattern: APICall([]string{lambdaSource}).Where("eventName",
			map[string]any{"prefix": "AddPermission"},
			map[string]any{"prefix": "CreateFunctionUrlConfig"},
			map[string]any{"prefix": "UpdateFunctionUrlConfig"}),
		Evaluate: evaluateLambdaPublic,
		MITRE:    []string{"T1648", "T1133"},
		Runbook: "Read the function's policy (aws lambda get-policy --function-name FUNCTION) and URL configuration " +
			"(aws lambda get-function-url-config --function-name FUNCTION). If the access was not intended, remove the " +
			"statement (aws lambda remove-permission --function-name FUNCTION --statement-id STATEMENT_ID) and require IAM " +
			"auth on the URL (aws lambda update-function-url-config --function-name FUNCTION --auth-type AWS_IAM) or delete it " +
			"(aws lambda delete-function-url-config --function-name FUNCTION). Review invocations since the change " +
			"(CloudWatch metric Invocations and the function's log group) and what the function can reach with its execution role.",
		References: []string{
			"https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
			"https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
			"https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html",
			"https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html",
		},
		FalsePositives: []string{
			"Public webhooks and APIs served from a function URL on purpose (high): confirm the function authenticates callers itself.",
			"Older templates granting a service principal without SourceArn (low).",
		},
		Tests: Tests{
			Positive: []Example{
				{"lambda/lambda-function-public-add-permission-anyone.json", SeverityCritical},
				{"lambda/lambda-function-public-add-permission-url-none.json", SeverityHigh},
				{"lambda/lambda-function-public-function-url-none.json", SeverityHigh},
				{"lambda/lambda-function-public-add-permission-service-no-source.json", SeverityLow},
				{"lambda/lambda-function-public-add-permission-denied.json", SeverityLow},
			},
			Negative: []string{
				"lambda/lambda-function-public-add-permission-s3-source-arn.json",
				"lambda/lambda-function-public-add-permission-org.json",
				"lambda/lambda-function-public-update-url-iam.json",
				"lambda/lambda-function-public-get-policy.json",
			},
		},
	})
}

func evaluateLambdaPublic(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := ev.RequestParams()
	switch {
	case strings.HasPrefix(rec.EventName, "AddPermission"):
		g := parseLambdaGrant(rec.RequestParameters)
		who, sev, ok := g.exposure()
		if !ok {
			return Finding{}, false
		}
		res := lambdaFunctionResource(rec, g.Function)
		action := orUnknown(g.Action)
		f := Finding{Severity: sev, Resource: res}
		f.Changes = []Change{{Setting: "Resource policy statement " + orUnknown(g.StatementID), After: fmt.Sprintf("allows %s to %s", orUnknown(g.Principal), action)}}
		f.Evidence = []Evidence{{Label: "Permission request", Text: excerpt(rec.RequestParameters)}}
		if stmt := jsonString(field(fields(rec.ResponseElements), "statement")); stmt != "" {
			f.Evidence = append(f.Evidence, Evidence{Label: "Statement added to the function policy", Text: clip(compactJSON([]byte(stmt)), maxEvidence)})
		}
		label := functionLabel(res.Name)
		return outcome(f, rec,
			fmt.Sprintf("%s can now be invoked by %s (%s)", capitalize(label), who, action),
			fmt.Sprintf("let %s invoke %s", who, label)), true

	case strings.HasPrefix(rec.EventName, "CreateFunctionUrlConfig"), strings.HasPrefix(rec.EventName, "UpdateFunctionUrlConfig"):
		if !strings.EqualFold(jsonString(field(rp, "authType")), "NONE") {
			return Finding{}, false
		}
		resp := fields(rec.ResponseElements)
		fn := jsonString(field(rp, "functionName"))
		if arn := jsonString(field(resp, "functionArn")); arn != "" && !strings.HasPrefix(fn, "arn:") {
			fn = arn
		}
		res := lambdaFunctionResource(rec, fn)
		label := functionLabel(res.Name)
		before := ""
		if strings.HasPrefix(rec.EventName, "Update") {
			before = NotRecorded
		}
		f := Finding{Severity: SeverityHigh, Resource: res}
		f.Changes = []Change{{Setting: "Function URL auth type", Before: before, After: "NONE"}}
		url := jsonString(field(resp, "functionUrl"))
		if url != "" {
			f.Evidence = append(f.Evidence, Evidence{Label: "Public endpoint", Text: url})
		}
		f.Evidence = append(f.Evidence, Evidence{Label: "Function URL request", Text: excerpt(rec.RequestParameters)})
		return outcome(f, rec,
			fmt.Sprintf("%s has a function URL without authentication: anyone who finds the URL can invoke it", capitalize(label)),
			fmt.Sprintf("give %s a function URL without authentication", label)), true
	}
	return Finding{}, false
}
