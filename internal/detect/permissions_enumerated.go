package detect

import (
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "permissions-enumerated",
		Title: "One principal denied on many different API actions in minutes",
		Description: "One principal had many different API actions denied (AccessDenied, UnauthorizedOperation) within " +
			"a short window: what permission-enumeration tools (enumerate-iam, Pacu's iam__bruteforce_permissions) do " +
			"with freshly stolen credentials, trying each service's calls to learn what they may do; a misconfigured " +
			"application is denied the same few actions again and again. A threshold detection: each denied call " +
			"counts its service and action towards the principal's window; the alert comes once, at the threshold of " +
			"distinct actions (default 10 within 10 minutes, trailwatch:thresholds). Each denied call is also reported " +
			"on its own by api-call-unauthorized, in digests. Medium; high with an IAM user's long-term access key, " +
			"the root user, or from another account.",
		Severity:  SeverityMedium,
		Kind:      KindThreshold,
		Threshold: &Threshold{Count: 10, Window: 10 * time.Minute, Distinct: true, Noun: "API actions", Verb: "was denied"},
		Pattern: AnyCloudTrail(event.DetailTypeAPICall).Where("errorCode",
			map[string]any{"wildcard": "*UnauthorizedOperation"},
			map[string]any{"prefix": "AccessDenied"}),
		Evaluate:      evaluateDeniedAction,
		NeedsReadOnly: true,
		MITRE:         []string{"T1580", "T1087.004"},
		Runbook: "Identify the credentials (the alert's access key or role session) and whether anyone recognises the " +
			"calls. Treat unexplained enumeration as a compromised credential: deactivate the access key (aws iam " +
			"update-access-key --access-key-id KEY --status Inactive --user-name USER) or revoke the role's sessions, " +
			"then look at what the same credentials did successfully in the same minutes (trailwatch replay or " +
			"CloudTrail Lake on the access key), since enumeration is followed by using whatever was allowed.",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html",
			"https://github.com/andresriancho/enumerate-iam",
		},
		FalsePositives: []string{
			"A new deployment role being tried out action by action, or a security scanner with read-only access: " +
				"allow-list it (trailwatch:suppressions).",
		},
		Tests: Tests{
			Positive: []Example{
				{"iam/permissions-enumerated-role-list-users.json", SeverityMedium},
				{"ec2/api-call-unauthorized-describe-instances.json", SeverityHigh},
			},
			Negative: []string{
				"ec2/security-group-changed-describe.json",
			},
		},
	})
}

func evaluateDeniedAction(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || !strings.HasSuffix(rec.ErrorCode, "UnauthorizedOperation") && !strings.HasPrefix(rec.ErrorCode, "AccessDenied") {
		return Finding{}, false
	}
	action := strings.TrimSuffix(rec.EventSource, ".amazonaws.com") + ":" + rec.EventName
	f := Finding{Severity: SeverityMedium, Counted: []string{action}, Resource: Resource{Type: "AWS API action", Name: action, Region: rec.AWSRegion},
		Headline: action + " denied (" + rec.ErrorCode + ")"}
	switch {
	case byRootUser(rec):
		f.Severity = SeverityHigh
		f.SeverityNote = "raised from medium: the root user's credentials are in use"
	case rec.UserIdentity.Type == "IAMUser":
		f.Severity = SeverityHigh
		f.SeverityNote = "raised from medium: an IAM user's long-term access key is being tried"
	case foreignCaller(rec) != "":
		f.Severity = SeverityHigh
		f.SeverityNote = "raised from medium: the caller belongs to account " + foreignCaller(rec)
	}
	return f, true
}
