package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "login-profile-created-or-changed",
		Title: "Console password of an IAM user set",
		Description: "CreateLoginProfile or UpdateLoginProfile set the console password of an IAM user. For another " +
			"user (an IAM user acting on a different user, or any role session, federated session or root user acting " +
			"on an IAM user) it is high: the caller knows the new password and can sign in as that user, a common way to " +
			"gain or keep console access. passwordResetRequired=true does not change that (the caller can sign in and " +
			"pick the next password) but is shown. A user setting its own password is low. The root user's own password " +
			"is root-password-changed's business.",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{iamSource}, "CreateLoginProfile", "UpdateLoginProfile"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			rp := identityFields(rec.RequestParameters)
			target := identityString(rp, "userName")
			self := iamUserName(rec)
			if target == "" {
				if self == "" {
					return Finding{}, false // the root user's own password, or no user named
				}
				target = self
			}
			f := Finding{Severity: SeverityHigh, Resource: iamUserResource(rec, target, "")}
			whose := "another user's"
			if self != "" && strings.EqualFold(target, self) {
				f.Severity = SeverityLow
				whose = "its own"
			}
			verb, did := "set", "set"
			change := Change{Setting: "Console password", Before: NotRecorded, After: "changed"}
			if rec.EventName == "CreateLoginProfile" {
				verb, did = "create", "created"
				change = Change{Setting: "Console password", Before: "none (no console access)", After: "set (console access enabled)"}
			}
			f.Changes = []Change{change}
			if reset, ok := identityBool(rp, "passwordResetRequired"); ok {
				f.Changes = append(f.Changes, Change{Setting: "Password reset required at next sign-in", After: fmt.Sprint(reset)})
			}
			return outcome(f, rec,
				fmt.Sprintf("Console password of IAM user %s %s by %s (%s)", iamNameQuoted(target), did, callerLabel(rec), whose),
				fmt.Sprintf("%s the console password of IAM user %s", verb, iamNameQuoted(target))), true
		},
		MITRE: []string{"T1098.001"},
		Runbook: "Ask the owner of the user whether they expected a new password. If not, the caller can sign in as the " +
			"user: remove console access (aws iam delete-login-profile --user-name USER) or set a password only the owner " +
			"learns (aws iam update-login-profile --user-name USER --password TEMPORARY_PASSWORD --password-reset-required), " +
			"check for console sign-ins since (CloudTrail ConsoleLogin events for the user), and investigate the caller's " +
			"credentials.",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html",
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateLoginProfile.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_admin-change-user.html",
		},
		FalsePositives: []string{"Administrators creating console access for new staff or resetting a forgotten password (usually with passwordResetRequired=true)."},
		GlobalService:  true,
		Tests: Tests{
			Positive: []Example{
				{"iam/login-profile-created-or-changed-other-user.json", SeverityHigh},
				{"iam/login-profile-created-or-changed-self.json", SeverityLow},
			},
			Negative: []string{
				"iam/login-profile-created-or-changed-delete-login-profile.json",
				"iam/root-password-changed-assume-root-create-login-profile.json",
			},
		},
	})
}
