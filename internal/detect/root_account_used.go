package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "root-account-used",
		Title: "Root user used",
		Description: "The account's root user signed in to the console or made an API call itself (userIdentity.type " +
			"\"Root\", no invokedBy, not an AWS service event), in any region. The root user cannot be restricted by IAM " +
			"and should only be used for the few tasks that need it. A rejected call still shows that someone holds root " +
			"credentials, so it is reported (at medium), not treated as a harmless attempt. Calls an AWS service makes " +
			"on the root user's behalf (invokedBy set) and sign-in events other than a successful ConsoleLogin (failed " +
			"sign-ins, password recovery) are left to console-login-failed and root-password-changed. Sessions from " +
			"sts:AssumeRoot (centralized root access from the management account) are task-scoped and rank medium. " +
			"Read-only calls (Get, List, Describe) are reported too, as CIS 4.3 asks for any use of root: high when " +
			"made with root access keys (keys that should not exist, CIS 1.4, used to look around the account is how a " +
			"stolen root key is first used), medium from a console session (its sign-in was reported high; a root console " +
			"session reads by the hundred). Repeats of the same severity by the root user within a storm window are " +
			"held for one digest, so a session of reads is one alert and a digest.",
		Severity: SeverityHigh,
		Pattern: AnyCloudTrail(event.DetailTypeAPICall, event.DetailTypeConsoleSignIn).
			Where("userIdentity.type", identityRoot).
			Where("userIdentity.invokedBy", map[string]any{"exists": false}).
			Where("eventType", map[string]any{"anything-but": []any{"AwsServiceEvent"}}),
		Evaluate: evaluateRootUsed,
		// Root reads are root use too (CIS 4.3): the rule gets read-only
		// management events; storms of them become a digest.
		NeedsReadOnly: true,
		CIS:           []string{"4.3"},
		CISRelated:    []string{"1.7"},
		MITRE:         []string{"T1078.004"},
		Runbook: "Find out who holds the root credentials and whether they did this (time, source IP, user agent and " +
			"call are in the alert). If nobody did: change the root password (sign in as root, Security credentials), " +
			"make sure MFA is registered and still yours, delete any root access keys (aws iam list-access-keys run with " +
			"root credentials lists them; the console's Security credentials page deletes them), secure the root email " +
			"inbox, and review every call the root user made since (CloudTrail event history filtered on User name " +
			"root, or Athena: userIdentity.type = 'Root'). If it was planned, record why and prefer an IAM Identity Center " +
			"role next time; in AWS Organizations consider centralized root access and removing member accounts' root " +
			"credentials (aws iam enable-organizations-root-credentials-management).",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#root-user-tasks",
			"https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-1",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#id_root-user-access-management",
		},
		FalsePositives: []string{
			"Tasks only the root user can perform (closing the account, changing the support plan or account " +
				"settings, restoring IAM access, some billing tasks), done by the account's owners.",
			"Centralized root access sessions (sts:AssumeRoot) run by the organization's administrators.",
		},
		Tests: Tests{
			Positive: []Example{
				{"signin/root-account-used-console-login.json", SeverityHigh},
				{"signin/console-login-without-mfa-root.json", SeverityHigh},
				{"iam/root-account-used-update-password-policy.json", SeverityHigh},
				{"iam/root-account-used-delete-access-key-missing.json", SeverityMedium},
				{"iam/root-access-key-created.json", SeverityHigh},
				{"iam/root-access-key-created-for-iam-user.json", SeverityHigh},
				{"iam/root-mfa-deactivated.json", SeverityHigh},
				{"iam/root-mfa-deactivated-enable-mfa-device.json", SeverityHigh},
				{"iam/root-password-changed-assume-root-create-login-profile.json", SeverityMedium},
				{"iam/api-call-unauthorized-root-scp.json", SeverityMedium},
				{"sts/root-account-used-get-session-token.json", SeverityHigh},
				{"s3/delete-account-public-access-block-root.json", SeverityHigh},
				{"sts/root-account-used-read-get-caller-identity-keys.json", SeverityHigh},
				{"ec2/root-account-used-read-describe-instances-console.json", SeverityMedium},
				{"s3/root-account-used-read-list-buckets-assume-root.json", SeverityMedium},
			},
			Negative: []string{
				"iam/root-account-used-service-linked-role.json",
				"signin/console-login-failed-root.json",
				"signin/root-password-changed-recovery-requested.json",
				"signin/console-login-without-mfa-iam-user.json",
			},
		},
	})
}

func evaluateRootUsed(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || !byRootUser(rec) || rec.UserIdentity.InvokedBy != "" || rec.EventType == "AwsServiceEvent" {
		return Finding{}, false
	}
	f := Finding{Severity: SeverityHigh, Resource: rootResource(rec)}
	if rec.EventType == "AwsConsoleSignIn" || ev.Envelope.DetailType == event.DetailTypeConsoleSignIn {
		if rec.EventName != "ConsoleLogin" || signInResult(rec) != "Success" {
			return Finding{}, false
		}
		f.Evidence = []Evidence{{Label: "Sign-in", Text: signInDetails(rec)}}
		f.Headline = fmt.Sprintf("The root user signed in to the AWS console from %s", identityAddress(rec.SourceIPAddress))
		return f, true
	}
	action := strings.TrimSuffix(rec.EventSource, ".amazonaws.com") + ":" + rec.EventName
	if assumedRoot(rec) {
		f.Severity = SeverityMedium
		f.Evidence = append(f.Evidence, Evidence{Label: "Root session obtained with sts:AssumeRoot", Text: rec.UserIdentity.ARN})
	}
	if rec.Failed() {
		f.Severity = min(f.Severity, SeverityMedium)
		msg := rec.ErrorCode
		if rec.ErrorMessage != "" {
			msg += ": " + rec.ErrorMessage
		}
		f.Evidence = append(f.Evidence, Evidence{Label: "Error returned by AWS", Text: identityClip(msg, 1000)})
		f.Headline = fmt.Sprintf("The root user called %s in %s from %s; AWS rejected it (%s)",
			action, rec.AWSRegion, identityAddress(rec.SourceIPAddress), rec.ErrorCode)
		return f, true
	}
	f.Headline = fmt.Sprintf("The root user called %s in %s from %s", action, rec.AWSRegion, identityAddress(rec.SourceIPAddress))
	if rec.ReadOnly != nil && *rec.ReadOnly {
		switch {
		case rec.ConsoleSession():
			// The session's sign-in was reported high; its page views
			// are hundreds of reads.
			f.Severity = min(f.Severity, SeverityMedium)
			f.Headline += " (read-only, from a console session)"
		case longTermKey(rec):
			f.Headline += " (read-only) with a root access key"
			f.Evidence = append(f.Evidence, Evidence{Label: "Root access key used", Text: rec.UserIdentity.AccessKeyID})
		default:
			f.Headline += " (read-only)"
		}
	}
	return f, true
}
