package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "bedrock-invoked-with-long-term-keys",
		Title: "Bedrock model invoked with an IAM user's long-term access key",
		Description: "InvokeModel, InvokeModelWithResponseStream, Converse or ConverseStream was called with an IAM user's " +
			"long-term access key (userIdentity.type IAMUser, key AKIA...). Applications call models with roles; leaked " +
			"keys are how LLMjacking starts, so this is high. Bedrock logs these calls as read-only management events " +
			"(readOnly true), so the rule receives all management events. A ValidationException is medium: AWS checked " +
			"the permission and only rejected the parameters, which is how LLMjacking tools probe a key's model access " +
			"without paying for output. Other errors (AccessDenied, a model without access) are low attempts. Calls by " +
			"roles, the root user (root-account-used) and temporary credentials are not reported; a burst of calls by one " +
			"key is one alert and a digest.",
		Severity: SeverityHigh,
		Pattern: APICall([]string{srcBedrock}, "InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream").
			Where("userIdentity.type", identityIAMUser).
			Where("userIdentity.accessKeyId", map[string]any{"prefix": "AKIA"}),
		Evaluate:      evaluateBedrockLongTermKey,
		NeedsReadOnly: true,
		MITRE:         []string{"T1496.004", "T1078.004"},
		Runbook: "Ask the key's owner whether they called the model. If not, deactivate the key at once (aws iam " +
			"update-access-key --user-name USER --access-key-id KEY_ID --status Inactive), then look for where it leaked " +
			"(repositories, CI logs, laptops). Review the key's other calls in CloudTrail (aws cloudtrail lookup-events " +
			"--lookup-attributes AttributeKey=AccessKeyId,AttributeValue=KEY_ID), the models used and the Bedrock costs " +
			"(Cost Explorer, service Amazon Bedrock), and whether model invocation logging is on (aws bedrock " +
			"get-model-invocation-logging-configuration). Move the workload to a role; deny bedrock:InvokeModel* and " +
			"bedrock:Converse* to IAM users with an SCP or permissions boundary.",
		References: []string{
			"https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html",
			"https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html",
			"https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
		},
		FalsePositives: []string{
			"Developers trying models from their laptops with IAM user keys (allow-list the user while they move to Identity Center).",
			"Legacy applications still configured with an IAM user's keys.",
		},
		Tests: Tests{
			Positive: []Example{
				{"bedrock/bedrock-invoked-with-long-term-keys-invoke-model.json", SeverityHigh},
				{"bedrock/bedrock-invoked-with-long-term-keys-converse-stream.json", SeverityHigh},
				{"bedrock/bedrock-invoked-with-long-term-keys-validation-probe.json", SeverityMedium},
				{"bedrock/bedrock-invoked-with-long-term-keys-denied.json", SeverityLow},
			},
			Negative: []string{
				"bedrock/bedrock-invoked-with-long-term-keys-role-session.json",
				"bedrock/bedrock-invoked-with-long-term-keys-session-token.json",
			},
		},
	})
}

func evaluateBedrockLongTermKey(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.UserIdentity.Type != identityIAMUser || !longTermKey(rec) {
		return Finding{}, false
	}
	if !isBedrockInvocation(rec.EventName) {
		return Finding{}, false
	}
	model := jsonString(field(ev.RequestParams(), "modelId"))
	f := Finding{Severity: SeverityHigh, Resource: bedrockModelResource(rec, model)}
	if model == "" {
		f.Resource.Name = "a Bedrock model (not recorded)"
	}
	key := rec.UserIdentity.AccessKeyID
	f.Evidence = []Evidence{{Label: "Long-term access key", Text: key + " of " + rec.UserIdentity.ARN}}
	if extra := fields(rec.AdditionalEventData); len(extra) > 0 {
		f.Evidence = append(f.Evidence, Evidence{Label: "Additional event data", Text: excerpt(rec.AdditionalEventData)})
	}
	what := fmt.Sprintf("Bedrock model %s called (%s) with the long-term access key %s of %s from %s",
		orUnknown(model), rec.EventName, key, callerLabel(rec), identityAddress(rec.SourceIPAddress))
	if rec.ErrorCode == "ValidationException" {
		// The permission check passed; only the request was malformed.
		f.Severity = SeverityMedium
		f.Headline = what + "; AWS rejected only its parameters (ValidationException), so the key may call the model"
		return f, true
	}
	return outcome(f, rec, what, fmt.Sprintf("call Bedrock model %s with the long-term access key %s of %s",
		orUnknown(model), key, callerLabel(rec))), true
}
