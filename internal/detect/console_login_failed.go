package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

// hiddenUserName is what CloudTrail records as the user name of a failed
// sign-in whose user name does not exist in the account.
const hiddenUserName = "HIDDEN_DUE_TO_SECURITY_REASONS"

func init() {
	register(&Detection{
		ID:    "console-login-failed",
		Title: "Console sign-in failed",
		Description: "A failed AWS Management Console sign-in (ConsoleLogin, responseElements.ConsoleLogin \"Failure\", " +
			"errorMessage such as \"Failed authentication\"): a wrong password, an unknown user name (recorded as " +
			"HIDDEN_DUE_TO_SECURITY_REASONS) or a failed MFA step. One failure is usually a typo; many, against one " +
			"user or across users, are password guessing, so the detection is reported per principal and time window. " +
			"A failure for the root user ranks higher. Successful sign-ins are not this detection's business.",
		Severity: SeverityLow,
		Pattern: signInEvents("ConsoleLogin").
			Where("responseElements.ConsoleLogin", "Failure"),
		Evaluate: evaluateLoginFailed,
		CIS:      []string{"4.6"},
		MITRE:    []string{"T1110"},
		Runbook: "Count failures for the user and for the source address in the window (CloudTrail event history, " +
			"filter Event name = ConsoleLogin; or Athena over the trail). A single failure followed by a success from the " +
			"same address is a typo. Many failures, failures for many users, or failures from unfamiliar addresses are " +
			"guessing: make sure every targeted user has MFA (aws iam list-mfa-devices --user-name USER), set a strong " +
			"password policy (aws iam update-account-password-policy --minimum-password-length 14 ...), and if a success " +
			"follows from the same address, treat that user's password as known (aws iam update-login-profile --user-name " +
			"USER --password TEMPORARY_PASSWORD --password-reset-required). For the root user, confirm the root email " +
			"inbox is secured and MFA is registered.",
		References: []string{
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html",
			"https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-6",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html",
		},
		FalsePositives: []string{"People mistyping passwords or choosing the wrong account alias; password managers filling an old password."},
		Noisy:          true,
		GlobalService:  true,
		Tests: Tests{
			Positive: []Example{
				{"signin/console-login-failed-iam-user.json", SeverityLow},
				{"signin/console-login-failed-unknown-user.json", SeverityLow},
				{"signin/console-login-failed-root.json", SeverityMedium},
			},
			Negative: []string{
				"signin/console-login-without-mfa-iam-user.json",
				"signin/root-account-used-console-login.json",
			},
		},
	})
}

func evaluateLoginFailed(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.EventName != "ConsoleLogin" || signInResult(rec) != "Failure" {
		return Finding{}, false
	}
	f := Finding{Severity: SeverityLow}
	who := callerLabel(rec)
	switch {
	case byRootUser(rec):
		f.Severity = SeverityMedium
		f.Resource = rootResource(rec)
	case rec.UserIdentity.UserName == hiddenUserName:
		who = "a user name that does not exist"
		f.Resource = Resource{Type: "AWS account", Name: rec.Account(), Region: rec.AWSRegion}
	default:
		f.Resource = iamUserResource(rec, rec.UserIdentity.UserName, rec.UserIdentity.ARN)
		if rec.UserIdentity.Type != identityIAMUser && rec.UserIdentity.UserName == "" {
			f.Resource = Resource{Type: "AWS account", Name: rec.Account(), Region: rec.AWSRegion}
		}
	}
	reason := rec.ErrorMessage
	if reason == "" {
		reason = "no reason recorded"
	}
	f.Evidence = []Evidence{
		{Label: "Reason given by AWS", Text: reason},
		{Label: "Sign-in", Text: signInDetails(rec)},
	}
	f.Headline = fmt.Sprintf("Failed console sign-in for %s from %s (%s)", who, identityAddress(rec.SourceIPAddress), reason)
	return f, true
}
