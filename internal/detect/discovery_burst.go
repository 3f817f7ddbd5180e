package detect

import (
	"slices"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
)

// discoveryCalls are the read-only calls reconnaissance makes first with
// new credentials (who am I, what is here, what may I reach), by event
// source: what Pacu's and Stratus Red Team's enumeration modules and
// cloud-fox-style tools call. Applications rarely call many different ones
// in minutes; people and infrastructure-as-code tools do, which the
// threshold and the allow-lists are for.
var discoveryCalls = map[string][]string{
	stsSource:                            {"GetCallerIdentity"},
	iamSource:                            {"GetAccountAuthorizationDetails", "GetAccountSummary", "ListUsers", "ListRoles", "ListGroups", "ListPolicies", "ListAccessKeys", "ListAttachedUserPolicies", "ListAttachedRolePolicies", "ListUserPolicies", "GetAccountPasswordPolicy", "ListMFADevices", "ListSAMLProviders", "ListOpenIDConnectProviders"},
	"s3.amazonaws.com":                   {"ListBuckets"},
	"ec2.amazonaws.com":                  {"DescribeInstances", "DescribeRegions", "DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "DescribeSnapshots", "DescribeVolumes", "DescribeKeyPairs", "DescribeImages"},
	"lambda.amazonaws.com":               {"ListFunctions20150331", "ListFunctions"},
	"secretsmanager.amazonaws.com":       {"ListSecrets"},
	"ssm.amazonaws.com":                  {"DescribeParameters", "DescribeInstanceInformation"},
	"rds.amazonaws.com":                  {"DescribeDBInstances", "DescribeDBClusters"},
	"dynamodb.amazonaws.com":             {"ListTables"},
	"cloudtrail.amazonaws.com":           {"DescribeTrails", "GetTrailStatus"},
	"guardduty.amazonaws.com":            {"ListDetectors"},
	"kms.amazonaws.com":                  {"ListKeys", "ListAliases"},
	"organizations.amazonaws.com":        {"DescribeOrganization", "ListAccounts"},
	"sns.amazonaws.com":                  {"ListTopics"},
	"sqs.amazonaws.com":                  {"ListQueues"},
	"eks.amazonaws.com":                  {"ListClusters"},
	"ecr.amazonaws.com":                  {"DescribeRepositories"},
	"cloudformation.amazonaws.com":       {"DescribeStacks", "ListStacks"},
	"logs.amazonaws.com":                 {"DescribeLogGroups"},
	"ses.amazonaws.com":                  {"ListIdentities", "GetSendQuota", "GetAccountSendingEnabled", "ListEmailIdentities", "GetAccount"},
	"bedrock.amazonaws.com":              {"ListFoundationModels", "GetModelInvocationLoggingConfiguration"},
	"route53.amazonaws.com":              {"ListHostedZones"},
	"elasticloadbalancing.amazonaws.com": {"DescribeLoadBalancers"},
}

func discoveryPattern(sources map[string][]string) Pattern {
	var srcs, names []string
	for src, calls := range sources {
		srcs = append(srcs, src)
		names = append(names, calls...)
	}
	slices.Sort(srcs)
	slices.Sort(names)
	return APICall(srcs, slices.Compact(names)...)
}

func init() {
	register(&Detection{
		ID:    "discovery-burst",
		Title: "One principal enumerating many services in minutes",
		Description: "One principal made many different reconnaissance calls (who am I, which users, roles, buckets, " +
			"instances, secrets, trails, detectors) within a short window: what attackers do first with new " +
			"credentials, by hand or with Pacu-style tools, where an application calls the same few APIs. A " +
			"threshold detection: each successful call of a curated list of discovery APIs counts its service and " +
			"action towards the principal's window; the alert comes once, at the threshold of distinct actions " +
			"(default 8 within 10 minutes, trailwatch:thresholds). Medium; high with the credentials of an EC2 " +
			"instance (a workload enumerating the account: stolen instance credentials, or code running where it " +
			"should not), an IAM user's long-term key, or from another account.",
		Severity:      SeverityMedium,
		Kind:          KindThreshold,
		Threshold:     &Threshold{Count: 8, Window: 10 * time.Minute, Distinct: true, Noun: "discovery calls", Verb: "made"},
		Pattern:       discoveryPattern(discoveryCalls),
		Evaluate:      evaluateDiscovery,
		NeedsReadOnly: true,
		MITRE:         []string{"T1580", "T1087.004", "T1619"},
		Runbook: "Identify the principal and whether someone was exploring on purpose (a new engineer in the console, " +
			"an audit tool, a Terraform plan). If not, treat the credentials as stolen: revoke the role's sessions or " +
			"deactivate the key, and look at what they did next (successful writes, reads of data) in the same hour. " +
			"Allow-list known scanners and infrastructure-as-code roles (trailwatch:suppressions).",
		References: []string{
			"https://stratus-red-team.cloud/attack-techniques/AWS/aws.discovery.ec2-enumerate-from-instance/",
			"https://github.com/RhinoSecurityLabs/pacu",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-concepts.html#cloudtrail-concepts-management-events",
		},
		FalsePositives: []string{
			"People browsing the console (each page makes several of these calls), Terraform or CloudFormation " +
				"planning, CSPM and inventory tools: allow-list their roles or raise the threshold.",
		},
		Tests: Tests{
			Positive: []Example{
				{"sts/discovery-burst-get-caller-identity.json", SeverityHigh},
				{"iam/discovery-burst-list-roles.json", SeverityMedium},
				{"ec2/security-group-changed-describe.json", SeverityHigh},
			},
			Negative: []string{
				"ec2/api-call-unauthorized-describe-instances.json",
				"secretsmanager/secrets-harvested-get-secret-value.json",
			},
		},
	})
}

func evaluateDiscovery(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.Failed() || !slices.Contains(discoveryCalls[rec.EventSource], rec.EventName) {
		return Finding{}, false
	}
	action := strings.TrimSuffix(rec.EventSource, ".amazonaws.com") + ":" + strings.TrimSuffix(rec.EventName, "20150331")
	f := Finding{Severity: SeverityMedium, Counted: []string{action}, Resource: Resource{Type: "AWS API action", Name: action, Region: rec.AWSRegion},
		Headline: action + " called"}
	switch {
	case instanceCredentials(rec):
		f.Severity = SeverityHigh
		f.SeverityNote = "raised from medium: the calls use an EC2 instance's role credentials"
	case rec.UserIdentity.Type == "IAMUser":
		f.Severity = SeverityHigh
		f.SeverityNote = "raised from medium: the calls use an IAM user's long-term access key"
	case foreignCaller(rec) != "":
		f.Severity = SeverityHigh
		f.SeverityNote = "raised from medium: the caller belongs to account " + foreignCaller(rec)
	}
	return f, true
}
