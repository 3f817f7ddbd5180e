package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "iam-user-created",
		Title: "IAM user created",
		Description: "CreateUser added an IAM user: a long-term identity that can be given a console password and " +
			"access keys, a common way to keep access to an account (persistence) and one most teams no longer use for " +
			"people. The finding names the new user and who created it; the user's permissions and credentials arrive in " +
			"later calls, reported by iam-policy-changed, access-key-created-for-another-user and " +
			"login-profile-created-or-changed.",
		Severity: SeverityMedium,
		Pattern:  APICall([]string{iamSource}, "CreateUser"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			rp := identityFields(rec.RequestParameters)
			name := identityString(rp, "userName")
			user := identityFields(identityFields(rec.ResponseElements)["user"])
			f := Finding{
				Severity: SeverityMedium,
				Resource: iamUserResource(rec, name, identityString(user, "arn")),
				Changes:  []Change{{Setting: "IAM user", After: "created"}},
			}
			if b := identityString(rp, "permissionsBoundary"); b != "" {
				f.Evidence = append(f.Evidence, Evidence{Label: "Permissions boundary given at creation", Text: b})
			}
			return outcome(f, rec,
				fmt.Sprintf("IAM user %s created by %s", iamNameQuoted(name), callerLabel(rec)),
				fmt.Sprintf("create IAM user %s", iamNameQuoted(name))), true
		},
		MITRE: []string{"T1136.003"},
		Runbook: "Check that the user was expected (a ticket, an infrastructure-as-code change: the user agent shows the " +
			"tool). If not, look at what was added to it (aws iam list-access-keys --user-name USER, aws iam " +
			"get-login-profile --user-name USER, aws iam list-attached-user-policies --user-name USER, aws iam " +
			"list-user-policies --user-name USER, aws iam list-groups-for-user --user-name USER), deactivate its keys " +
			"(aws iam update-access-key --user-name USER --access-key-id ACCESS_KEY_ID --status Inactive), delete its " +
			"login profile (aws iam delete-login-profile --user-name USER), then investigate the creator's credentials.",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_users_create.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#bp-users-federation-idp",
		},
		FalsePositives: []string{"Provisioning of service users by infrastructure-as-code or by administrators, in accounts that still use IAM users."},
		GlobalService:  true,
		Tests: Tests{
			Positive: []Example{
				{"iam/iam-user-created.json", SeverityMedium},
				{"iam/iam-user-created-denied.json", SeverityLow},
			},
			Negative: []string{
				"iam/iam-user-created-delete-user.json",
			},
		},
	})
}
