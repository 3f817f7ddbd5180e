package detect

import (
	"fmt"
	"slices"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "secrets-harvested",
		Title: "Many different secrets read by one principal in minutes",
		Description: "One principal read the values of many different Secrets Manager secrets (GetSecretValue, " +
			"BatchGetSecretValue) within a short window: what credential-harvesting tools do once they hold a role " +
			"that may read secrets, where an application reads the same few secrets again and again. A threshold " +
			"detection: every successful read counts the secret towards the principal's window (a batch read " +
			"counts each secret it names; one by filters counts as one), and the alert comes once, when the window " +
			"holds the threshold of distinct secrets (default 20 within 10 minutes, trailwatch:thresholds), naming " +
			"them. Reads below it send nothing. Denied reads do not count (the unauthorized-calls detection reports " +
			"those). High; critical when the reads use an IAM user's long-term access key or come from another account.",
		Severity:      SeverityHigh,
		Kind:          KindThreshold,
		Threshold:     &Threshold{Count: 20, Window: 10 * time.Minute, Distinct: true, Noun: "secrets", Verb: "read"},
		Pattern:       APICall([]string{"secretsmanager.amazonaws.com"}, "GetSecretValue", "BatchGetSecretValue"),
		Evaluate:      evaluateSecretRead,
		NeedsReadOnly: true,
		MITRE:         []string{"T1555.006", "T1552"},
		Runbook: "Find out whether the principal is a workload that legitimately reads many secrets (a deployment " +
			"tool, a secrets sync): if so, raise its threshold or allow-list it. Otherwise treat every secret named " +
			"as exposed: rotate them (aws secretsmanager rotate-secret --secret-id SECRET), revoke the principal's " +
			"sessions (for a role: an inline deny on aws:TokenIssueTime; for a user: deactivate its keys), look for " +
			"the use of what the secrets hold (database logins, third-party API keys) since the first read, and " +
			"review who may call secretsmanager:GetSecretValue on every secret (resource policies and identity policies).",
		References: []string{
			"https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-cloudtrail.html",
			"https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html",
			"https://stratus-red-team.cloud/attack-techniques/AWS/aws.credential-access.secretsmanager-retrieve-secrets/",
		},
		FalsePositives: []string{
			"Deployment pipelines and secret-sync tools reading every secret of an environment: raise the threshold for " +
				"them (trailwatch:thresholds) or allow-list their role (trailwatch:suppressions).",
		},
		Tests: Tests{
			Positive: []Example{
				{"secretsmanager/secrets-harvested-get-secret-value.json", SeverityHigh},
				{"secretsmanager/secrets-harvested-batch-get.json", SeverityCritical},
			},
			Negative: []string{
				"secretsmanager/secrets-harvested-denied.json",
				"secretsmanager/trailwatch-delivery-tampered-put-secret-value.json",
			},
		},
	})
}

// evaluateSecretRead counts one successful secret read: the secrets it
// names are the items of the principal's window.
func evaluateSecretRead(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.Failed() {
		return Finding{}, false
	}
	rp := ev.RequestParams()
	var secrets []string
	switch rec.EventName {
	case "GetSecretValue":
		if id := jsonString(field(rp, "secretId")); id != "" {
			secrets = []string{id}
		}
	case "BatchGetSecretValue":
		secrets = jsonStrings(field(rp, "secretIdList"))
		if len(secrets) == 0 {
			if filters := field(rp, "filters"); len(filters) > 0 {
				secrets = []string{"secrets matching " + compactJSON(filters)}
			}
		}
	}
	secrets = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(secrets))), func(s string) bool { return s == "" })
	if len(secrets) == 0 {
		return Finding{}, false
	}
	f := Finding{Severity: SeverityHigh, Counted: secrets, Resource: Resource{Type: "Secrets Manager secret", Name: secrets[0], Region: rec.AWSRegion}}
	switch {
	case rec.UserIdentity.Type == "IAMUser":
		f.Severity = SeverityCritical
		f.SeverityNote = "raised from high: the reads use an IAM user's long-term access key"
	case foreignCaller(rec) != "":
		f.Severity = SeverityCritical
		f.SeverityNote = "raised from high: the reader belongs to account " + foreignCaller(rec)
	}
	f.Headline = fmt.Sprintf("%d secret(s) read: %s", len(secrets), listPhrase(secrets))
	return f, true
}
