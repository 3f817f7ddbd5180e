package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "access-key-created-for-another-user",
		Title: "Access key created for another IAM user",
		Description: "CreateAccessKey with a userName other than the caller's own: an IAM user creating a key for a " +
			"different user, or a role session, federated session or the root user creating a key for any IAM user. " +
			"Whoever did it holds the new secret and can act as that user from anywhere, a classic way to keep access " +
			"(backdoor keys). An IAM user creating its own key (no userName, or its own) is routine rotation and is " +
			"deliberately not reported; a key for the root user itself is root-access-key-created's.",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{iamSource}, "CreateAccessKey"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			target := identityString(identityFields(rec.RequestParameters), "userName")
			if target == "" {
				return Finding{}, false // a key for the caller itself
			}
			if self := iamUserName(rec); self != "" && strings.EqualFold(self, target) { // IAM user names are case-insensitive
				return Finding{}, false
			}
			key := identityString(identityFields(identityFields(rec.ResponseElements)["accessKey"]), "accessKeyId")
			if key == "" {
				key = NotRecorded
			}
			f := Finding{
				Severity: SeverityHigh,
				Resource: iamUserResource(rec, target, ""),
				Changes:  []Change{{Setting: "Access keys", After: "new key " + key + " (active)"}},
			}
			return outcome(f, rec,
				fmt.Sprintf("Access key %s created for IAM user %s by %s", key, iamNameQuoted(target), callerLabel(rec)),
				fmt.Sprintf("create an access key for IAM user %s", iamNameQuoted(target))), true
		},
		MITRE: []string{"T1098.001"},
		Runbook: "Ask the owner of the user and the caller whether the key was meant to be made, and who holds the " +
			"secret now. If nobody can account for it, deactivate it (aws iam update-access-key --user-name USER " +
			"--access-key-id ACCESS_KEY_ID --status Inactive), look for its use (CloudTrail, filtered on AccessKeyId; " +
			"aws iam get-access-key-last-used --access-key-id ACCESS_KEY_ID), delete it (aws iam delete-access-key " +
			"--user-name USER --access-key-id ACCESS_KEY_ID), and investigate the caller's credentials. Prefer roles for " +
			"workloads so nobody needs to create keys for others.",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html#securing_access-keys",
		},
		FalsePositives: []string{
			"Administrators or infrastructure-as-code (CloudFormation AWS::IAM::AccessKey, Terraform aws_iam_access_key) " +
				"creating keys for service users.",
		},
		GlobalService: true,
		Tests: Tests{
			Positive: []Example{
				{"iam/access-key-created-for-another-user.json", SeverityHigh},
				{"iam/access-key-created-for-another-user-role-session.json", SeverityHigh},
				{"iam/access-key-created-for-another-user-limit-exceeded.json", SeverityLow},
				{"iam/root-access-key-created-for-iam-user.json", SeverityHigh},
				{"iam/instance-credentials-outside-aws-create-access-key.json", SeverityHigh},
			},
			Negative: []string{
				"iam/access-key-created-for-another-user-self.json",
				"iam/access-key-created-for-another-user-list-access-keys.json",
				"iam/root-access-key-created.json",
			},
		},
	})
}
