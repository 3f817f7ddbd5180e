package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

// unauthorizedControlPlane are the services where a denied call is probing for
// the keys to the account: identities, sessions, encryption keys, the audit
// trail and the organization.
var unauthorizedControlPlane = map[string]bool{
	iamSource:                     true,
	stsSource:                     true,
	"kms.amazonaws.com":           true,
	"cloudtrail.amazonaws.com":    true,
	"organizations.amazonaws.com": true,
}

func init() {
	register(&Detection{
		ID:    "api-call-unauthorized",
		Title: "API call denied for lack of permission",
		Description: "An AWS API call that AWS refused because the caller lacked permission: errorCode ending in " +
			"\"UnauthorizedOperation\" (EC2 and other Query APIs: Client.UnauthorizedOperation) or starting with " +
			"\"AccessDenied\" (AccessDenied, AccessDeniedException), in any service and region. A stolen or leaked " +
			"credential used to find out what it can reach produces bursts of these, mostly on read-only List, Get and " +
			"Describe calls, so the rule also receives read-only events. The denial itself is the signal: the finding " +
			"is not a failed attempt at something else. It is reported per principal and time window. Denials in IAM, " +
			"STS, KMS, CloudTrail and Organizations, and any denial of the root user, rank higher. " +
			"Other failures (throttling, missing resources, validation errors, DryRun answers) are deliberately left out.",
		Severity: SeverityLow,
		Pattern: AnyCloudTrail(event.DetailTypeAPICall).Where("errorCode",
			map[string]any{"wildcard": "*UnauthorizedOperation"},
			map[string]any{"prefix": "AccessDenied"}),
		Evaluate: evaluateUnauthorized,
		CIS:      []string{"4.1"},
		// Discovery rather than Valid Accounts: what the denials show is a
		// credential being walked across services to learn what it may do
		// (Cloud Infrastructure Discovery); how the credential was obtained
		// is not in the event.
		MITRE: []string{"T1580"},
		Runbook: "Identify the principal and its credentials (Caller evidence: access key or role session). Count its " +
			"denials and successful calls around the alert in CloudTrail (aws cloudtrail lookup-events --lookup-attributes " +
			"AttributeKey=AccessKeyId,AttributeValue=ACCESS_KEY_ID, or Athena/CloudTrail Lake over the trail), and decode " +
			"EC2's encoded message if needed (aws sts decode-authorization-message --encoded-message MESSAGE). A deploy or " +
			"script missing a permission denies the same few calls repeatedly from known addresses; enumeration denies many " +
			"different calls across services, often from a new address or user agent. If it is not explained, deactivate " +
			"the key (aws iam update-access-key --user-name USER --access-key-id ACCESS_KEY_ID --status Inactive) or revoke " +
			"the role's sessions (IAM console: Roles > ROLE > Revoke active sessions), then look for what the successful " +
			"calls did.",
		References: []string{
			"https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html#cloudwatch-1",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html",
			"https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html",
			"https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html",
		},
		FalsePositives: []string{
			"Deployments and scripts whose role lacks one permission repeat the same denial until fixed.",
			"Console pages call many APIs the user may not need (the Billing and Cost Explorer pages answer AccessDenied " +
				"\"IAM user access not activated\" to every IAM user until IAM access to billing is turned on).",
			"Security and inventory tools (AWS Config, Access Analyzer, third-party scanners) probing services they are not granted.",
		},
		Noisy:         true,
		NeedsReadOnly: true,
		Tests: Tests{
			Positive: []Example{
				{"ec2/api-call-unauthorized-describe-instances.json", SeverityLow},
				{"sts/api-call-unauthorized-assume-role.json", SeverityMedium},
				{"iam/api-call-unauthorized-root-scp.json", SeverityMedium},
				{"iam/iam-policy-changed-attach-admin-denied.json", SeverityMedium},
				{"iam/iam-user-created-denied.json", SeverityMedium},
				{"s3/put-bucket-policy-public-denied.json", SeverityLow},
				{"s3/put-bucket-public-access-block-denied.json", SeverityLow},
				{"s3/put-bucket-public-access-block-hostile.json", SeverityLow},
				// Denied attempts written for other groups' detections.
				{"secretsmanager/instance-credentials-outside-aws-denied.json", SeverityLow},
				{"cloudtrail/cloudtrail-config-changed-stop-logging-denied.json", SeverityMedium},
				{"lambda/lambda-function-public-add-permission-denied.json", SeverityLow},
				{"organizations/organization-left-leave-denied-by-scp.json", SeverityMedium},
				{"s3/cloudtrail-bucket-retention-shortened-denied.json", SeverityLow},
				{"s3/s3-bucket-config-changed-delete-bucket-replication-denied.json", SeverityLow},
				{"events/trailwatch-rule-tampered-disable-rule-denied.json", SeverityLow},
				{"lambda/trailwatch-function-tampered-update-code-denied.json", SeverityLow},
				{"lambda/lambda-code-or-layers-changed-update-code-denied.json", SeverityLow},
				{"logs/cloudwatch-logs-deleted-denied.json", SeverityLow},
				{"bedrock/bedrock-invoked-with-long-term-keys-denied.json", SeverityLow},
				{"bedrock/bedrock-model-access-granted-use-case-denied.json", SeverityLow},
				{"route53resolver/service-logs-turned-off-delete-query-log-config-denied.json", SeverityLow},
				{"ssm/ssm-command-sent-denied.json", SeverityLow},
				{"ssm/ssm-session-started-denied.json", SeverityLow},
				{"ec2-instance-connect/ec2-ssh-key-pushed-denied.json", SeverityLow},
				{"rolesanywhere/roles-anywhere-trust-changed-create-trust-anchor-denied.json", SeverityLow},
				{"iam/identity-provider-created-or-changed-create-oidc-denied.json", SeverityMedium},
				{"sts/federation-token-issued-denied.json", SeverityMedium},
				{"events/trailwatch-organization-tampered-delete-event-bus-denied.json", SeverityLow},
				{"secretsmanager/secrets-harvested-denied.json", SeverityLow},
				{"iam/permissions-enumerated-role-list-users.json", SeverityMedium},
				{"iam/trailwatch-member-role-tampered-lookup-delete-role-denied.json", SeverityMedium},
				{"sqs/trailwatch-delivery-tampered-delete-queue-denied.json", SeverityLow},
			},
			Negative: []string{
				"ec2/api-call-unauthorized-dry-run.json",
				"s3/get-account-public-access-block.json",
				"s3/put-bucket-acl-not-supported.json",
				"iam/access-key-created-for-another-user-limit-exceeded.json",
			},
		},
	})
}

func evaluateUnauthorized(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.ErrorCode == "" {
		return Finding{}, false
	}
	if !strings.HasSuffix(rec.ErrorCode, "UnauthorizedOperation") && !strings.HasPrefix(rec.ErrorCode, "AccessDenied") {
		return Finding{}, false
	}
	service := strings.TrimSuffix(rec.EventSource, ".amazonaws.com")
	action := service + ":" + rec.EventName
	f := Finding{
		Severity: SeverityLow,
		Resource: Resource{Type: "AWS API action", Name: action, Region: rec.AWSRegion},
	}
	var why []string
	if byRootUser(rec) {
		f.Severity = SeverityMedium
		why = append(why, "the root user's credentials are in use")
	}
	if unauthorizedControlPlane[rec.EventSource] {
		f.Severity = SeverityMedium
		why = append(why, "the call targets "+service+", which controls access to the account")
	}
	if len(why) > 0 {
		f.Evidence = append(f.Evidence, Evidence{Label: "Why it ranks medium", Text: strings.Join(why, "; ")})
	}
	msg := rec.ErrorCode
	if rec.ErrorMessage != "" {
		msg += ": " + rec.ErrorMessage
	}
	f.Evidence = append(f.Evidence, Evidence{Label: "Error returned by AWS", Text: identityClip(msg, 1000)})
	f.Headline = fmt.Sprintf("%s was denied %s in %s (%s)", identityUpperFirst(callerLabel(rec)), action, rec.AWSRegion, rec.ErrorCode)
	return f, true
}
