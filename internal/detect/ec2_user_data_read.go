package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "ec2-user-data-read",
		Title: "EC2 instance user data read",
		Description: "DescribeInstanceAttribute read the user data of an instance. User data often holds bootstrap " +
			"secrets (database passwords, tokens, keys) and attackers with read access collect it across every " +
			"instance, so each read is reported (medium); a denied read is a low attempt. Reading user data from inside " +
			"the instance through the metadata service (IMDS) is not an API call and is not covered; neither are other " +
			"attributes, nor DescribeLaunchTemplateVersions, which also returns user data. DryRun requests are not reported: AWS only checks permissions for them.",
		Severity:      SeverityMedium,
		Pattern:       ec2API("DescribeInstanceAttribute").Where("requestParameters.attribute", map[string]any{"equals-ignore-case": "userData"}),
		Evaluate:      evaluateUserDataRead,
		MITRE:         []string{"T1552"},
		NeedsReadOnly: true,
		Runbook: "Ask the principal why they read the user data. Read it yourself (aws ec2 describe-instance-attribute " +
			"--instance-id INSTANCE_ID --attribute userData --query UserData.Value --output text | base64 -d): if it holds " +
			"secrets, rotate them and move them to Secrets Manager or Parameter Store. If the caller read the user data of " +
			"many instances, treat its credentials as compromised.",
		References: []string{
			"https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceAttribute.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html",
		},
		FalsePositives: []string{
			"Terraform and CloudFormation read user data when refreshing an instance's state.",
			"Security posture scanners read it to look for secrets.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/ec2-user-data-read-terraform.json", SeverityMedium},
				{"ec2/ec2-user-data-read-not-found.json", SeverityLow},
			},
			Negative: []string{
				"ec2/ec2-user-data-read-other-attribute.json",
				"ec2/ec2-user-data-modified-script.json",
			},
		},
	})
}

func evaluateUserDataRead(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || ec2DryRun(rec) {
		return Finding{}, false
	}
	var rp struct {
		InstanceID json.RawMessage `json:"instanceId"`
		Attribute  json.RawMessage `json:"attribute"`
	}
	ec2Decode(rec.RequestParameters, &rp)
	if !strings.EqualFold(ec2Text(rp.Attribute), "userData") {
		return Finding{}, false
	}
	id := ec2Text(rp.InstanceID)
	instance := "instance " + ec2OrUnknown(id, "instance")
	f := Finding{Severity: SeverityMedium, Resource: ec2Resource(rec, "EC2 instance", "instance", id)}
	return outcome(f, rec,
		fmt.Sprintf("User data of %s read", instance),
		fmt.Sprintf("read the user data of %s", instance)), true
}
