package detect

import (
	"fmt"
	"slices"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "ssm-parameters-harvested",
		Title: "Many different SecureString parameters decrypted by one principal in minutes",
		Description: "One principal read many different Systems Manager parameters with decryption (GetParameter, " +
			"GetParameters, GetParametersByPath with WithDecryption) within a short window: SecureString parameters " +
			"hold passwords and keys, and harvesting tools read them all once a role allows it. A threshold " +
			"detection: each successful decrypting read counts the parameters it names (a path read counts its " +
			"path) towards the principal's window; the alert comes once, at the threshold (default 20 within 10 " +
			"minutes, trailwatch:thresholds). Reads without decryption and denied reads do not count. High; " +
			"critical with an IAM user's long-term access key or from another account.",
		Severity:      SeverityHigh,
		Kind:          KindThreshold,
		Threshold:     &Threshold{Count: 20, Window: 10 * time.Minute, Distinct: true, Noun: "parameters", Verb: "decrypted"},
		Pattern:       APICall([]string{"ssm.amazonaws.com"}, "GetParameter", "GetParameters", "GetParametersByPath"),
		Evaluate:      evaluateParameterRead,
		NeedsReadOnly: true,
		MITRE:         []string{"T1555.006", "T1552"},
		Runbook: "Find out whether the principal is a workload that reads its configuration at start (many " +
			"instances of one service starting at once read the same names: distinct names stay few). If not, " +
			"treat every parameter named as exposed: rotate what they hold, overwrite them (aws ssm put-parameter " +
			"--name NAME --type SecureString --overwrite), revoke the principal's sessions, and narrow who may call " +
			"ssm:GetParameter* with kms:Decrypt on the parameters' key.",
		References: []string{
			"https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-cloudtrail-logs.html",
			"https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParametersByPath.html",
			"https://stratus-red-team.cloud/attack-techniques/AWS/aws.credential-access.ssm-retrieve-securestring-parameters/",
		},
		FalsePositives: []string{
			"Configuration loaders that read a whole tree of parameters by name: raise the threshold for their role " +
				"(trailwatch:thresholds) or allow-list it (trailwatch:suppressions).",
		},
		Tests: Tests{
			Positive: []Example{
				{"ssm/ssm-parameters-harvested-get-parameters.json", SeverityHigh},
			},
			Negative: []string{
				"ssm/ssm-parameters-harvested-no-decryption.json",
				"secretsmanager/secrets-harvested-get-secret-value.json",
			},
		},
	})
}

func evaluateParameterRead(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.Failed() {
		return Finding{}, false
	}
	rp := ev.RequestParams()
	if v, ok := paramValue(field(rp, "withDecryption")).Bool(); !ok || !v {
		return Finding{}, false
	}
	var names []string
	switch rec.EventName {
	case "GetParameter":
		names = []string{jsonString(field(rp, "name"))}
	case "GetParameters":
		names = jsonStrings(field(rp, "names"))
	case "GetParametersByPath":
		if p := jsonString(field(rp, "path")); p != "" {
			names = []string{p + " (path)"}
		}
	}
	names = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(names))), func(s string) bool { return s == "" })
	if len(names) == 0 {
		return Finding{}, false
	}
	f := Finding{Severity: SeverityHigh, Counted: names, Resource: Resource{Type: "SSM parameter", Name: names[0], Region: rec.AWSRegion}}
	switch {
	case rec.UserIdentity.Type == "IAMUser":
		f.Severity = SeverityCritical
		f.SeverityNote = "raised from high: the reads use an IAM user's long-term access key"
	case foreignCaller(rec) != "":
		f.Severity = SeverityCritical
		f.SeverityNote = "raised from high: the reader belongs to account " + foreignCaller(rec)
	}
	f.Headline = fmt.Sprintf("%d parameter(s) decrypted: %s", len(names), listPhrase(names))
	return f, true
}
