package detect

import (
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "bedrock-invocation-burst",
		Title: "One principal invoking many different Bedrock models in minutes",
		Description: "One principal called many different Bedrock models (InvokeModel, InvokeModelWithResponseStream, " +
			"Converse, ConverseStream) within a short window: what LLMjacking tools do with stolen credentials, checking " +
			"which models and regions the account may use (often with deliberately invalid parameters, answered by a " +
			"ValidationException once the permission check passed) and then reselling or running them, where an " +
			"application calls the same one or two models. A threshold detection: each call that passed the permission " +
			"check (successful, or a ValidationException) counts its model and region towards the principal's window; " +
			"the alert comes once, at the threshold of distinct models (a model in another region counts apart; default " +
			"6 within 15 minutes, trailwatch:thresholds). It counts distinct models, not calls: a busy application makes " +
			"thousands of calls to one model, and a count of calls would need a threshold per application. Denied calls " +
			"do not count (permissions-enumerated and api-call-unauthorized report those). Bedrock records these calls " +
			"as read-only management events (readOnly true, eventCategory Management), not data events: a trail that " +
			"records management read events (ReadWriteType All, the default) records them, no data event selector is " +
			"needed, and the rule receives all management events. Calls in other regions reach the function only from " +
			"forwarded regions (trailwatch:forwardRegions). High; critical with an IAM user's long-term access key, an " +
			"EC2 instance's credentials, or from another account.",
		Severity:      SeverityHigh,
		Kind:          KindThreshold,
		Threshold:     &Threshold{Count: 6, Window: 15 * time.Minute, Distinct: true, Noun: "Bedrock models", Verb: "invoked"},
		Pattern:       APICall([]string{srcBedrock}, "InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream"),
		Evaluate:      evaluateBedrockInvocation,
		NeedsReadOnly: true,
		MITRE:         []string{"T1496.004", "T1078.004"},
		Runbook: "Find out whether the principal is an application or a person evaluating models (the Bedrock " +
			"console's playgrounds, a model comparison job). If not, treat the credentials as stolen: deactivate the " +
			"access key or revoke the role's sessions, then look at the models used and what they cost (Cost Explorer, " +
			"service Amazon Bedrock, by region), whether model invocation logging is on (aws bedrock " +
			"get-model-invocation-logging-configuration) and what the prompts were, and at recent model access changes " +
			"(PutFoundationModelEntitlement, CreateFoundationModelAgreement). Restrict bedrock:InvokeModel* and " +
			"bedrock:Converse* to the roles and models that need them (SCP or permissions boundary).",
		References: []string{
			"https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html",
			"https://sysdig.com/blog/llmjacking-stolen-cloud-credentials-used-in-new-ai-attack/",
			"https://permiso.io/blog/exploiting-hosted-models",
			"https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html",
		},
		FalsePositives: []string{
			"People comparing models in the Bedrock console or a notebook, model evaluation jobs and routers that " +
				"spread requests over many models and regions: raise their threshold (trailwatch:thresholds) or " +
				"allow-list them (trailwatch:suppressions).",
		},
		Tests: Tests{
			Positive: []Example{
				{"bedrock/bedrock-invocation-burst-converse.json", SeverityHigh},
				{"bedrock/bedrock-invocation-burst-validation-probe-other-account.json", SeverityCritical},
			},
			Negative: []string{
				"bedrock/bedrock-invoked-with-long-term-keys-denied.json",
				"bedrock/bedrock-model-access-granted-list-offers.json",
			},
		},
	})
}

// evaluateBedrockInvocation counts one model call that passed the
// permission check: its model and region are the item of the principal's
// window.
func evaluateBedrockInvocation(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.Failed() && rec.ErrorCode != "ValidationException" {
		return Finding{}, false
	}
	if !isBedrockInvocation(rec.EventName) {
		return Finding{}, false
	}
	model := jsonString(field(ev.RequestParams(), "modelId"))
	if !validModelID(model) || !awsRegionName.MatchString(rec.AWSRegion) {
		return Finding{}, false
	}
	f := Finding{Severity: SeverityHigh, Counted: []string{model + " in " + rec.AWSRegion}, Resource: bedrockModelResource(rec, model),
		Headline: "Bedrock model " + model + " called (" + rec.EventName + ") in " + rec.AWSRegion}
	if rec.ErrorCode == "ValidationException" {
		f.Headline += "; AWS rejected only its parameters (ValidationException), so the caller may call the model"
	}
	if risk := bedrockCaller(rec); risk != "" {
		f.Severity = SeverityCritical
		f.SeverityNote = "raised from high: the calls are made " + risk
	}
	return f, true
}
