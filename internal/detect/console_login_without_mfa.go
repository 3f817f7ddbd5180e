package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "console-login-without-mfa",
		Title: "Console sign-in without MFA",
		Description: "A successful AWS Management Console sign-in (ConsoleLogin, responseElements.ConsoleLogin \"Success\") " +
			"by an IAM user or the root user whose additionalEventData.MFAUsed is not \"Yes\": a password alone opened " +
			"the console. Federated sign-ins (IAM Identity Center, SAML, web identity: userIdentity.type AssumedRole, " +
			"SAMLUser, WebIdentityUser or FederatedUser, or a SamlProviderArn) are deliberately left out: their MFA is " +
			"enforced by the identity provider and CloudTrail cannot see it. Failed sign-ins are console-login-failed's.",
		Severity: SeverityMedium,
		Pattern: signInEvents("ConsoleLogin").
			Where("responseElements.ConsoleLogin", "Success").
			Where("userIdentity.type", identityIAMUser, identityRoot),
		Evaluate: evaluateLoginWithoutMFA,
		CIS:      []string{"4.2"},
		MITRE:    []string{"T1078.004"},
		Runbook: "Ask the person behind the user whether they signed in (time, source IP and user agent are in the alert). " +
			"If not, set a new password (aws iam update-login-profile --user-name USER --password TEMPORARY_PASSWORD " +
			"--password-reset-required), end the sessions already open by denying tokens issued before now (aws iam " +
			"put-user-policy --user-name USER --policy-name DenyOlderSessions --policy-document file://deny-older-sessions.json, " +
			"a Deny of \"*\" with condition DateLessThan aws:TokenIssueTime NOW), and review what the session did in " +
			"CloudTrail. Either way, require MFA: assign a device (aws iam create-virtual-mfa-device, then aws iam " +
			"enable-mfa-device --user-name USER --serial-number MFA_ARN --authentication-code1 CODE1 --authentication-code2 " +
			"CODE2), find the other users without one (aws iam generate-credential-report; aws iam get-credential-report, " +
			"column mfa_active), and consider moving people to IAM Identity Center. For the root user, register MFA at once.",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html",
			"https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-2",
		},
		FalsePositives: []string{
			"Break-glass IAM users whose MFA device is held elsewhere, used in an emergency.",
			"Sign-ins to accounts where MFA is enforced by an external identity provider for IAM users (rare: such " +
				"providers usually federate as roles, which this detection skips).",
		},
		GlobalService: true,
		Tests: Tests{
			Positive: []Example{
				{"signin/console-login-without-mfa-iam-user.json", SeverityMedium},
				{"signin/console-login-without-mfa-root.json", SeverityHigh},
			},
			Negative: []string{
				"signin/console-login-without-mfa-iam-user-mfa.json",
				"signin/console-login-without-mfa-identity-center.json",
				"signin/console-login-failed-iam-user.json",
				"signin/root-account-used-console-login.json",
			},
		},
	})
}

func evaluateLoginWithoutMFA(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.EventName != "ConsoleLogin" || signInResult(rec) != "Success" {
		return Finding{}, false
	}
	extra := identityFields(rec.AdditionalEventData)
	if identityString(extra, "SamlProviderArn") != "" {
		return Finding{}, false
	}
	mfa := identityString(extra, "MFAUsed")
	if mfa == "Yes" {
		return Finding{}, false
	}
	f := Finding{Severity: SeverityMedium}
	switch rec.UserIdentity.Type {
	case identityRoot:
		f.Severity = SeverityHigh
		f.Resource = rootResource(rec)
	case identityIAMUser:
		f.Resource = iamUserResource(rec, iamUserName(rec), rec.UserIdentity.ARN)
	default:
		return Finding{}, false
	}
	how := "without MFA"
	if mfa == "" {
		how = "and the event does not record MFA use"
		f.Evidence = append(f.Evidence, Evidence{Label: "MFA use not recorded", Text: "additionalEventData has no MFAUsed"})
	}
	f.Evidence = append(f.Evidence, Evidence{Label: "Sign-in", Text: signInDetails(rec)})
	f.Headline = fmt.Sprintf("%s signed in to the AWS console %s from %s", identityUpperFirst(callerLabel(rec)), how, identityAddress(rec.SourceIPAddress))
	return f, true
}
