package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "root-password-changed",
		Title: "Root user's password changed or recovered",
		Description: "The root user's password was changed or reset. AWS sign-in records these as sign-in events " +
			"(eventSource signin.amazonaws.com, eventType AwsConsoleSignIn): PasswordUpdated when the root user changes " +
			"the password while signed in, PasswordRecoveryRequested when someone asks for the \"Forgot password\" email " +
			"(only the root user has this flow), PasswordRecoveryCompleted when a new password is set from that email. " +
			"With centralized root access, a management-account session from sts:AssumeRoot can turn a member account's " +
			"root password recovery back on with iam:CreateLoginProfile and no userName (medium: the root email can then " +
			"set a password); iam:UpdateLoginProfile or iam:ChangePassword by the root user would count as a change. A completed change is high: whoever made it now holds the one " +
			"credential IAM cannot limit, and may have locked the owners out. A recovery request alone is medium: it " +
			"proves access to nothing but is how a takeover through the root email starts. Password changes of IAM " +
			"users are left to login-profile-created-or-changed.",
		Severity: SeverityHigh,
		Pattern: AnyCloudTrail(event.DetailTypeConsoleSignIn, event.DetailTypeAPICall).
			Where("eventSource", signinSource, iamSource).
			Where("eventName", "PasswordUpdated", "PasswordRecoveryRequested", "PasswordRecoveryCompleted",
				"CreateLoginProfile", "UpdateLoginProfile", "ChangePassword"),
		Evaluate: evaluateRootPassword,
		CIS:      []string{"4.3"},
		MITRE:    []string{"T1098", "T1531"},
		Runbook: "Ask the owners of the root credentials whether they changed or reset the password (time and source IP " +
			"are in the alert). If not: recover the password through the root email at once (sign-in page, Forgot " +
			"password), secure that mailbox (its password and MFA: a recovery needs only it), check the root MFA devices " +
			"and access keys, and review everything the root user did since (CloudTrail, userIdentity.type = Root). If " +
			"you cannot sign in, contact AWS Support from another account. A recovery request nobody made means someone " +
			"knows the root email address and is trying: make sure the mailbox is locked down.",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-password.html",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#id_root-user-access-management",
		},
		FalsePositives: []string{
			"Planned rotation of the root password by its owners.",
			"An organization administrator recovering a member account's root password through centralized root access.",
		},
		GlobalService: true,
		Tests: Tests{
			Positive: []Example{
				{"signin/root-password-changed-password-updated.json", SeverityHigh},
				{"signin/root-password-changed-recovery-completed.json", SeverityHigh},
				{"signin/root-password-changed-recovery-requested.json", SeverityMedium},
				{"signin/root-password-changed-update-failed.json", SeverityLow},
				{"iam/root-password-changed-assume-root-create-login-profile.json", SeverityMedium},
			},
			Negative: []string{
				"iam/root-password-changed-iam-user-change-password.json",
				"iam/login-profile-created-or-changed-other-user.json",
				"signin/root-account-used-console-login.json",
			},
		},
	})
}

func evaluateRootPassword(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	f := Finding{Severity: SeverityHigh, Resource: rootResource(rec)}
	account := rec.Account()
	change := Change{Setting: "Root user password", Before: NotRecorded, After: "changed"}
	var done, tried string
	switch rec.EventSource {
	case signinSource:
		switch rec.EventName {
		case "PasswordRecoveryRequested":
			f.Severity = SeverityMedium
			change.After = "unchanged so far: a reset link was sent to the root email address"
			done = fmt.Sprintf("Password recovery for the root user of account %s requested from %s", account, identityAddress(rec.SourceIPAddress))
			tried = fmt.Sprintf("request password recovery for the root user of account %s", account)
		case "PasswordRecoveryCompleted":
			change.After = "reset through password recovery"
			done = fmt.Sprintf("Root user's password of account %s reset through password recovery from %s", account, identityAddress(rec.SourceIPAddress))
			tried = fmt.Sprintf("reset the root user's password of account %s", account)
		case "PasswordUpdated":
			if !byRootUser(rec) {
				return Finding{}, false
			}
			done = fmt.Sprintf("Root user's password of account %s changed from %s", account, identityAddress(rec.SourceIPAddress))
			tried = fmt.Sprintf("change the root user's password of account %s", account)
		default:
			return Finding{}, false
		}
		f.Changes = []Change{change}
		f.Evidence = []Evidence{{Label: "Sign-in", Text: signInDetails(rec)}}
		// Sign-in events carry no errorCode: the outcome is the value of
		// the event name in responseElements.
		if signInResult(rec) == "Failure" {
			f.Attempt = true
			f.Severity = SeverityLow
			f.Changes = nil
			reason := rec.ErrorMessage
			if reason == "" {
				reason = "Failure"
			}
			f.Headline = fmt.Sprintf("Failed attempt to %s (%s)", tried, reason)
			return f, true
		}
		f.Headline = done
		return f, true
	case iamSource:
		if !byRootUser(rec) {
			return Finding{}, false
		}
		if rec.EventName != "ChangePassword" && identityString(identityFields(rec.RequestParameters), "userName") != "" {
			return Finding{}, false // the root user setting an IAM user's password
		}
		how := ""
		if assumedRoot(rec) {
			how = " by a centralized root access session (sts:AssumeRoot)"
		}
		if rec.EventName == "CreateLoginProfile" {
			// For the root user this sets no password: it turns password
			// recovery back on for a member account whose root credentials
			// were removed, so whoever reads the root email can set one.
			f.Severity = SeverityMedium
			f.Changes = []Change{{Setting: "Root user password recovery", Before: "off (no root password)",
				After: "on: the root email address can now set a password"}}
			return outcome(f, rec,
				fmt.Sprintf("Password recovery turned on for the root user of account %s%s", account, how),
				fmt.Sprintf("turn on password recovery for the root user of account %s", account)), true
		}
		f.Changes = []Change{change}
		return outcome(f, rec,
			fmt.Sprintf("Root user's password of account %s changed with iam:%s%s", account, rec.EventName, how),
			fmt.Sprintf("change the root user's password of account %s with iam:%s", account, rec.EventName)), true
	}
	return Finding{}, false
}
