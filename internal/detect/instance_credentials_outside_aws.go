package detect

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/trailwatch/trailwatch/internal/awsranges"
	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "instance-credentials-outside-aws",
		Title: "EC2 instance credentials used from outside AWS",
		Description: "A call signed with the role credentials of an EC2 instance (its instance profile: a role session " +
			"named after the instance ID, or with sessionContext.ec2RoleDelivery set) came from an IP address outside " +
			"every range AWS publishes (ip-ranges.json, shipped with trailwatch and refreshed with go run " +
			"./internal/awsranges/refresh). An instance calls AWS from its own public address, a NAT gateway's or a VPC " +
			"endpoint, all inside AWS: credentials that turn up on a laptop or a rented server were taken from the " +
			"instance (through its metadata service by SSRF, or from its disk or memory). Every such call is high, denied " +
			"ones too, since the denial does not make the credentials any less stolen; a successful call that changes " +
			"something (readOnly false) is critical. Calls through a VPC endpoint (vpcEndpointId set), calls AWS " +
			"services make on the role's behalf (invokedBy, or a service name as the source) and private addresses are " +
			"not reported. Credentials used from another AWS account's instance come from inside AWS's ranges: GuardDuty's " +
			"InstanceCredentialExfiltration.InsideAWS finding covers those (guardduty-instance-credential-exfiltration). " +
			"Cost: the rule receives every API call, read-only ones included, made with instance credentials over " +
			"public endpoints (EventBridge cannot exclude thousands of CIDR blocks), so each such call invokes the " +
			"function once; calls through VPC endpoints never reach it.",
		Severity: SeverityHigh,
		Pattern: AnyCloudTrail(event.DetailTypeAPICall).
			Where("userIdentity.type", "AssumedRole").
			// EC2 names instance profile sessions after the instance
			// (AROA...:i-0123...), ec2RoleDelivery or not, so the
			// principal alone selects them.
			Where("userIdentity.principalId", map[string]any{"wildcard": "*:i-*"}).
			Where("userIdentity.invokedBy", map[string]any{"exists": false}).
			Where("vpcEndpointId", map[string]any{"exists": false}).
			// An address, not a service's name ("ec2.amazonaws.com",
			// "AWS Internal"): three dots (IPv4) or a colon (IPv6).
			Where("sourceIPAddress", map[string]any{"wildcard": "*.*.*.*"}, map[string]any{"wildcard": "*:*"}),
		Evaluate:      evaluateInstanceCredentialsOutside,
		MITRE:         []string{"T1552.005", "T1078.004"},
		NeedsReadOnly: true,
		Runbook: "Treat the instance role's credentials as stolen. Revoke its sessions issued until now (IAM console: " +
			"Roles > ROLE > Revoke active sessions, which attaches the AWSRevokeOlderSessions policy; the instance gets " +
			"new credentials within minutes), then list what the stolen key did: aws cloudtrail lookup-events " +
			"--lookup-attributes AttributeKey=AccessKeyId,AttributeValue=ACCESS_KEY_ID (or Athena over the trail: " +
			"userIdentity.accessKeyId and sourceIPAddress). Find how it left the instance: require IMDSv2 " +
			"(aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID --http-tokens required " +
			"--http-put-response-hop-limit 1), look for SSRF in the applications it runs and for credential files on " +
			"disk, and isolate or replace the instance if it is compromised. To make copied credentials useless, add " +
			"a deny unless aws:ec2InstanceSourceVPC equals aws:SourceVpc (or aws:ec2InstanceSourcePrivateIPv4 equals " +
			"aws:VpcSourceIp) to the role's policies. A known, legitimate use from outside AWS belongs in an " +
			"allow-list (trailwatch:suppressions), not in the role.",
		References: []string{
			"https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-ranges.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html#instance-metadata-security-credentials",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-ec2instancesourcevpc",
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html#unauthorizedaccess-iam-instancecredentialexfiltrationoutsideaws",
		},
		FalsePositives: []string{
			"Addresses AWS added after the shipped ranges were taken (ranges.txt records when): refresh them " +
				"(go run ./internal/awsranges/refresh) and redeploy.",
			"Instances whose traffic leaves through a proxy or a VPN outside AWS (an on-premises egress, a " +
				"third-party firewall service): allow-list that egress address for the role.",
			"A role session someone named after an instance ID on purpose (sts assume-role --role-session-name i-...).",
		},
		Tests: Tests{
			Positive: []Example{
				{"sts/instance-credentials-outside-aws-get-caller-identity.json", SeverityHigh},
				{"s3/instance-credentials-outside-aws-list-buckets-ipv6.json", SeverityHigh},
				{"iam/instance-credentials-outside-aws-create-access-key.json", SeverityCritical},
				{"secretsmanager/instance-credentials-outside-aws-denied.json", SeverityHigh},
				// Instance credentials from outside AWS in other detections'
				// fixtures: the same events raise this one too.
				{"ec2/ec2-password-data-retrieved-instance-role.json", SeverityHigh},
				{"ec2/ec2-password-data-retrieved-not-found.json", SeverityHigh},
				{"iam/permissions-enumerated-role-list-users.json", SeverityHigh},
				{"secretsmanager/secrets-harvested-denied.json", SeverityHigh},
				{"secretsmanager/secrets-harvested-get-secret-value.json", SeverityHigh},
				{"ssm/ssm-parameters-harvested-get-parameters.json", SeverityHigh},
				{"ssm/ssm-parameters-harvested-no-decryption.json", SeverityHigh},
				{"sts/discovery-burst-get-caller-identity.json", SeverityHigh},
			},
			Negative: []string{
				"s3/instance-credentials-outside-aws-from-ec2.json",
				"s3/instance-credentials-outside-aws-vpc-endpoint.json",
				"kms/instance-credentials-outside-aws-invoked-by-s3.json",
				"sts/instance-credentials-outside-aws-not-instance.json",
				"ec2/ec2-user-data-read-terraform.json",
			},
		},
	})
}

// instanceIDOf is the instance whose credentials signed the call: the
// session name of an instance profile session, when it is an instance ID.
func instanceIDOf(rec *cloudtrail.Record) string {
	if !instanceSession.MatchString(rec.UserIdentity.PrincipalID) {
		return ""
	}
	return rec.UserIdentity.PrincipalID[strings.LastIndexByte(rec.UserIdentity.PrincipalID, ':')+1:]
}

// publicAddress parses a CloudTrail source address that could be outside
// AWS: an IP address (not a service's name) that is not private, loopback,
// link-local or unspecified.
func publicAddress(text string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(text))
	if err != nil {
		return netip.Addr{}, false
	}
	a = a.Unmap()
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() {
		return netip.Addr{}, false
	}
	return a, true
}

func evaluateInstanceCredentialsOutside(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || !instanceCredentials(rec) || rec.UserIdentity.InvokedBy != "" || rec.VPCEndpointID != "" {
		return Finding{}, false
	}
	addr, ok := publicAddress(rec.SourceIPAddress)
	if !ok {
		return Finding{}, false
	}
	ranges, info := awsranges.Shipped()
	if ranges.Contains(addr) {
		return Finding{}, false
	}
	role := ""
	var roleARN string
	if sc := rec.UserIdentity.SessionContext; sc != nil && sc.SessionIssuer != nil {
		role, roleARN = sc.SessionIssuer.UserName, sc.SessionIssuer.ARN
	}
	instance := instanceIDOf(rec)
	f := Finding{
		Severity: SeverityHigh,
		Resource: Resource{Type: "IAM role", Name: role, ARN: roleARN},
	}
	whose := "an EC2 instance"
	if instance != "" {
		whose = "EC2 instance " + instance
	}
	if role != "" {
		whose += " (role " + role + ")"
	}
	call := strings.TrimSuffix(rec.EventSource, ".amazonaws.com") + ":" + rec.EventName
	taken := "ranges of " + firstNonEmpty(info.CreateDate, info.SyncToken, "unknown date")
	// Who called, with which key and client, is in the alert's Who.
	f.Evidence = []Evidence{{Label: "Source address, outside AWS's published " + taken, Text: addr.String()}}
	write := rec.ReadOnly != nil && !*rec.ReadOnly
	switch {
	case rec.Failed():
		// Still high, and not an attempt that changed nothing: the denial
		// stops this call, not whoever holds the credentials.
		f.Headline = fmt.Sprintf("Credentials of %s used from %s, outside AWS: %s denied (%s)", whose, addr, call, rec.ErrorCode)
	case write:
		f.Severity = SeverityCritical
		f.Headline = fmt.Sprintf("Credentials of %s used from %s, outside AWS, to change something: %s", whose, addr, call)
	default:
		f.Headline = fmt.Sprintf("Credentials of %s used from %s, outside AWS: %s", whose, addr, call)
	}
	return f, true
}
