package detect

import (
	"slices"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// regionLaunchCalls start compute or plant access in a region: what
// crypto-mining and persistence campaigns repeat region after region (the
// account's quotas are per region, and few people watch the regions they do
// not use). Only these count: a pattern over every write would invoke the
// function for each change the account makes, to count nothing that matters.
var regionLaunchCalls = map[string][]string{
	srcEC2:                      {"RunInstances", "RequestSpotInstances", "RequestSpotFleet", "CreateFleet", "CreateKeyPair", "ImportKeyPair", "CreateLaunchTemplate"},
	"lambda.amazonaws.com":      {"CreateFunction20150331", "CreateFunction"},
	"ecs.amazonaws.com":         {"RunTask", "CreateService"},
	"lightsail.amazonaws.com":   {"CreateInstances"},
	"sagemaker.amazonaws.com":   {"CreateNotebookInstance", "CreateTrainingJob"},
	"batch.amazonaws.com":       {"SubmitJob", "CreateComputeEnvironment"},
	"eks.amazonaws.com":         {"CreateCluster", "CreateNodegroup"},
	"autoscaling.amazonaws.com": {"CreateAutoScalingGroup"},
}

// regionMiningCalls are the launch calls a mining or access campaign makes
// itself (instances, spot capacity, key pairs, notebooks and jobs on GPUs);
// the others are what deployments do too.
var regionMiningCalls = map[string][]string{
	srcEC2:                    {"RunInstances", "RequestSpotInstances", "RequestSpotFleet", "CreateFleet", "CreateKeyPair", "ImportKeyPair"},
	"lightsail.amazonaws.com": {"CreateInstances"},
	"sagemaker.amazonaws.com": {"CreateNotebookInstance", "CreateTrainingJob"},
	"batch.amazonaws.com":     {"SubmitJob", "CreateComputeEnvironment"},
}

// awsRegionName is the form of a region name ("us-east-1", "us-gov-west-1");
// the region is the counted item and is named in the alert.
var awsRegionName = lazyre.New(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

func init() {
	register(&Detection{
		ID:    "regions-burst",
		Title: "One principal launching compute or creating access in many regions in minutes",
		Description: "One principal launched compute or created access in many different regions within a short " +
			"window: what crypto-mining and persistence campaigns do with stolen credentials, launching instances or " +
			"importing key pairs in every region, including the ones the account never uses (quotas are per region and " +
			"nobody looks there). People and applications work in one or two regions. A threshold detection: each call " +
			"of a curated list (EC2 instances, spot requests and fleets, key pairs, launch templates; Lambda functions; " +
			"ECS tasks and services; Lightsail instances; SageMaker notebooks and training jobs; Batch; EKS; Auto " +
			"Scaling groups) counts its region (awsRegion) towards the principal's window, failed calls too (an opt-in " +
			"region refusing or a vCPU quota reached is still a region tried); the alert comes once, at the threshold " +
			"of distinct regions (default 5 within 15 minutes, trailwatch:thresholds). Calls AWS services make on the " +
			"principal's behalf (invokedBy) do not count. Other writes and reads do not count: the rule would invoke the " +
			"function for every change and region sweep of the account, and inventory tools sweep regions all day. " +
			"Events reach the function from a region only when that region is the home region or is forwarded " +
			"(trailwatch:forwardRegions, or organization mode's member regions): list every enabled region there, or " +
			"the regions nobody uses, which are the ones this is about, stay unseen. Medium when the crossing call is " +
			"what deployments do too (launch templates, Lambda, ECS, EKS, Auto Scaling); high when it launches " +
			"instances, spot capacity, notebooks or jobs, or creates a key pair; one step higher with an IAM user's " +
			"long-term access key or from another account.",
		Severity:  SeverityMedium,
		Kind:      KindThreshold,
		Threshold: &Threshold{Count: 5, Window: 15 * time.Minute, Distinct: true, Noun: "regions", Verb: "launched compute or created access in"},
		Pattern: discoveryPattern(regionLaunchCalls).
			Where("userIdentity.invokedBy", map[string]any{"exists": false}),
		Evaluate: evaluateRegionWrite,
		MITRE:    []string{"T1535", "T1578.002", "T1496.001"},
		Runbook: "Identify the principal and whether a multi-region deployment was under way (CloudFormation StackSets, " +
			"a Terraform apply over several regions, Control Tower or landing-zone automation). If not, treat the " +
			"credentials as stolen: revoke the role's sessions or deactivate the access key, then list what was created " +
			"in every region the alert names (aws ec2 describe-instances --region REGION, describe-spot-instance-requests, " +
			"describe-key-pairs, aws lambda list-functions --region REGION) and remove it. Disable the regions the " +
			"account does not use (aws account disable-region, or an SCP denying every action outside the allowed " +
			"regions with aws:RequestedRegion).",
		References: []string{
			"https://attack.mitre.org/techniques/T1535/",
			"https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html#example-scp-deny-region",
			"https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-concepts.html#cloudtrail-concepts-regional-and-global-services",
			"https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cross-region.html",
		},
		FalsePositives: []string{
			"Multi-region deployments: StackSets execution roles, Terraform or CDK pipelines deploying to many regions, " +
				"landing-zone automation; raise their threshold (trailwatch:thresholds) or allow-list their roles " +
				"(trailwatch:suppressions).",
			"Global resources whose calls are recorded in a region of their own (IAM, STS, Organizations in us-east-1) " +
				"count as that one region only.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/regions-burst-run-instances.json", SeverityHigh},
				{"ec2/regions-burst-create-launch-template.json", SeverityMedium},
			},
			Negative: []string{
				"ec2/regions-burst-create-tags.json",
				"ec2/regions-burst-describe-regions.json",
				"ec2/regions-burst-invoked-by-service.json",
			},
		},
	})
}

// evaluateRegionWrite counts one launch call: its region is the item of
// the principal's window.
func evaluateRegionWrite(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.ReadOnly == nil || *rec.ReadOnly || rec.UserIdentity.InvokedBy != "" ||
		rec.UserIdentity.Type == "AWSService" || !awsRegionName.MatchString(rec.AWSRegion) ||
		!slices.Contains(regionLaunchCalls[rec.EventSource], rec.EventName) {
		return Finding{}, false
	}
	if rec.ManagementEvent != nil && !*rec.ManagementEvent {
		return Finding{}, false
	}
	action := strings.TrimSuffix(rec.EventSource, ".amazonaws.com") + ":" + strings.TrimSuffix(rec.EventName, "20150331")
	f := Finding{Severity: SeverityMedium, Counted: []string{rec.AWSRegion},
		Resource: Resource{Type: "AWS region", Name: rec.AWSRegion, Region: rec.AWSRegion},
		Headline: action + " called in " + rec.AWSRegion}
	if rec.Failed() {
		f.Headline += " (failed: " + rec.ErrorCode + ")"
	}
	if slices.Contains(regionMiningCalls[rec.EventSource], rec.EventName) {
		f.Severity = SeverityHigh
		f.SeverityNote = "raised from medium: " + action + " launches compute or creates access in the region"
	}
	raise := func(why string) {
		note := "raised from " + f.Severity.String() + ": " + why
		f.Severity++
		if f.SeverityNote != "" {
			note = f.SeverityNote + "; " + note
		}
		f.SeverityNote = note
	}
	switch {
	case rec.UserIdentity.Type == identityIAMUser && longTermKey(rec):
		raise("the calls use an IAM user's long-term access key")
	case foreignCaller(rec) != "":
		raise("the caller belongs to account " + foreignCaller(rec))
	}
	return f, true
}
