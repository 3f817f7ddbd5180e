package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "root-access-key-created",
		Title: "Access key created for the root user",
		Description: "CreateAccessKey called by the root user without a userName, which creates a long-term access key " +
			"for the root user itself: a credential with every permission in the account that no IAM policy can limit. " +
			"AWS advises never to have one. The root user creating a key for an IAM user (userName set) is not a root " +
			"key and is left to access-key-created-for-another-user.",
		Severity: SeverityCritical,
		Pattern:  APICall([]string{iamSource}, "CreateAccessKey").Where("userIdentity.type", identityRoot),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil || !byRootUser(rec) {
				return Finding{}, false
			}
			rp := identityFields(rec.RequestParameters)
			if identityString(rp, "userName") != "" {
				return Finding{}, false
			}
			f := Finding{Severity: SeverityCritical, Resource: rootResource(rec)}
			key := identityString(identityFields(identityFields(rec.ResponseElements)["accessKey"]), "accessKeyId")
			if key == "" {
				key = NotRecorded
			}
			f.Changes = []Change{{Setting: "Root access key", After: key + " (active)"}}
			return outcome(f, rec,
				fmt.Sprintf("Access key %s created for the root user of account %s", key, rec.Account()),
				fmt.Sprintf("create an access key for the root user of account %s", rec.Account())), true
		},
		CISRelated: []string{"1.4"},
		MITRE:      []string{"T1098.001"},
		Runbook: "Unless the owners of the root credentials created it for a task that needs it (almost none do), " +
			"treat root as compromised: sign in as root, deactivate and delete the key (Security credentials page; or " +
			"with the key itself: aws iam update-access-key --access-key-id ACCESS_KEY_ID --status Inactive, then aws iam " +
			"delete-access-key --access-key-id ACCESS_KEY_ID), change the root password, check the MFA devices, and review " +
			"every call made with the key (CloudTrail, filtered on AccessKeyId). In AWS Organizations, centralized root " +
			"access can delete member accounts' root credentials (aws sts assume-root with the IAMDeleteRootUserCredentials " +
			"task policy).",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_add-key.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html",
			"https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-4",
		},
		FalsePositives: []string{"None expected: even legacy tools that once needed root keys have IAM alternatives."},
		GlobalService:  true,
		Tests: Tests{
			Positive: []Example{
				{"iam/root-access-key-created.json", SeverityCritical},
			},
			Negative: []string{
				"iam/root-access-key-created-for-iam-user.json",
				"iam/access-key-created-for-another-user-self.json",
			},
		},
	})
}
