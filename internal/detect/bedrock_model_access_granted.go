package detect

import (
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "bedrock-model-access-granted",
		Title: "Access to a Bedrock foundation model granted",
		Description: "The account was given access to a Bedrock foundation model: PutFoundationModelEntitlement (access " +
			"requested), CreateFoundationModelAgreement (a model's offer accepted) or PutUseCaseForModelAccess (the use case " +
			"form some providers require). Attackers holding stolen keys enable models to run them at the account's expense " +
			"(LLMjacking). High when done programmatically (long-term access keys, a role session, EC2 instance " +
			"credentials, a principal of another account); medium from a console session, where administrators normally " +
			"grant model access. A change CloudFormation makes and denied attempts are low.",
		Severity: SeverityHigh,
		Pattern: APICall([]string{srcBedrock},
			"PutFoundationModelEntitlement", "CreateFoundationModelAgreement", "PutUseCaseForModelAccess"),
		Evaluate: evaluateModelAccess,
		MITRE:    []string{"T1496.004", "T1078.004"},
		Runbook: "Ask the principal whether the account is meant to use this model. If not: remove the model's access " +
			"(aws bedrock list-foundation-model-agreement-offers --model-id MODEL_ID, aws bedrock " +
			"delete-foundation-model-agreement --model-id MODEL_ID), deny bedrock:InvokeModel* and bedrock:Converse* where " +
			"Bedrock is not used (an SCP), and review the principal's InvokeModel and Converse calls in CloudTrail and the " +
			"account's Bedrock costs (Cost Explorer, service Amazon Bedrock). Deactivate long-term keys involved (aws iam " +
			"update-access-key --user-name USER --access-key-id KEY_ID --status Inactive).",
		References: []string{
			"https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html",
			"https://docs.aws.amazon.com/bedrock/latest/APIReference/API_CreateFoundationModelAgreement.html",
			"https://docs.aws.amazon.com/bedrock/latest/APIReference/API_PutUseCaseForModelAccess.html",
			"https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html",
		},
		FalsePositives: []string{
			"Teams starting to use a new model; access granted by infrastructure code signs with a role session and is reported high (allow-list that role).",
		},
		Tests: Tests{
			Positive: []Example{
				{"bedrock/bedrock-model-access-granted-entitlement-long-term-key.json", SeverityHigh},
				{"bedrock/bedrock-model-access-granted-agreement-console.json", SeverityMedium},
				{"bedrock/bedrock-model-access-granted-use-case-denied.json", SeverityLow},
			},
			Negative: []string{
				"bedrock/bedrock-model-access-granted-list-offers.json",
			},
		},
	})
}

func evaluateModelAccess(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	model := jsonString(field(ev.RequestParams(), "modelId"))
	f := Finding{Severity: SeverityHigh, Resource: bedrockModelResource(rec, model)}
	if model == "" {
		f.Resource.Name = "Bedrock models of account " + rec.Account()
	}
	what := "Bedrock model " + orUnknown(model)
	var done, tried string
	switch rec.EventName {
	case "PutFoundationModelEntitlement":
		f.Changes = []Change{{Setting: "Model access", Before: NotRecorded, After: "requested"}}
		done, tried = "Access to "+what+" requested", "request access to "+what
	case "CreateFoundationModelAgreement":
		f.Changes = []Change{{Setting: "Model agreement", Before: NotRecorded, After: "accepted"}}
		done, tried = "Offer of "+what+" accepted", "accept the offer of "+what
	case "PutUseCaseForModelAccess":
		f.Resource.Name = "Bedrock models of account " + rec.Account()
		f.Changes = []Change{{Setting: "Model access use case", Before: NotRecorded, After: "submitted"}}
		done, tried = "Use case for Bedrock model access submitted", "submit a use case for Bedrock model access"
	default:
		return Finding{}, false
	}
	if why := bedrockCaller(rec); why != "" {
		done += " " + why
		f.Evidence = []Evidence{{Label: "Caller", Text: rec.UserIdentity.ARN}}
	} else if rec.ConsoleSession() {
		f.Severity = SeverityMedium
		done += " from a console session"
	}
	return selfOutcome(f, rec, done, "", tried), true
}
