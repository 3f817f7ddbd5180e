package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "ec2-user-data-modified",
		Title: "EC2 instance user data replaced",
		Description: "ModifyInstanceAttribute replaced the user data of an instance (requestParameters.userData, which " +
			"CloudTrail records as \"<sensitiveDataRemoved>\", or attribute userData). User data is run by cloud-init or " +
			"EC2Launch as root or SYSTEM when the instance starts: scripts run at first boot by default, but a " +
			"cloud-config or multi-part document can make them run at every start, so replacing it on a stopped " +
			"instance is a way to get code executed with the instance's role at the next start. The new content is not " +
			"in the event. Other instance attributes (type, security groups, termination protection...) do not fire; " +
			"user data given at launch (RunInstances, launch templates) is not covered. DryRun requests are not reported: AWS only checks permissions for them.",
		Severity: SeverityHigh,
		Pattern:  ec2API("ModifyInstanceAttribute"),
		Evaluate: evaluateUserDataModified,
		MITRE:    []string{"T1651", "T1578.005"},
		Runbook: "Ask the principal whether the change was intended. Read the new user data before the instance " +
			"starts (aws ec2 describe-instance-attribute --instance-id INSTANCE_ID --attribute userData --query " +
			"UserData.Value --output text | base64 -d) and look for downloads, new users or keys, and cloud-config that " +
			"runs at every boot. If it is not yours, replace it with the known-good script (aws ec2 " +
			"modify-instance-attribute --instance-id INSTANCE_ID --attribute userData --value file://GOOD_USER_DATA_BASE64) " +
			"before starting the instance; if it already ran, treat the instance and its role's credentials as compromised.",
		References: []string{
			"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceAttribute.html",
		},
		FalsePositives: []string{"Operators fixing the bootstrap script of a stopped instance; automation that rewrites user data before starting instances."},
		Tests: Tests{
			Positive: []Example{
				{"ec2/ec2-user-data-modified-script.json", SeverityHigh},
				{"ec2/ec2-user-data-modified-attribute-value.json", SeverityHigh},
				{"ec2/ec2-user-data-modified-running-instance.json", SeverityLow},
			},
			Negative: []string{
				"ec2/ec2-user-data-modified-instance-type.json",
				"ec2/ec2-user-data-read-terraform.json",
			},
		},
	})
}

func evaluateUserDataModified(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || ec2DryRun(rec) {
		return Finding{}, false
	}
	var rp struct {
		InstanceID json.RawMessage `json:"instanceId"`
		UserData   json.RawMessage `json:"userData"`
		Attribute  json.RawMessage `json:"attribute"`
	}
	ec2Decode(rec.RequestParameters, &rp)
	if !ec2Present(rp.UserData) && !strings.EqualFold(ec2Text(rp.Attribute), "userData") {
		return Finding{}, false
	}
	id := ec2Text(rp.InstanceID)
	instance := "instance " + ec2OrUnknown(id, "instance")
	f := Finding{
		Severity: SeverityHigh,
		Resource: ec2Resource(rec, "EC2 instance", "instance", id),
		Changes:  []Change{{Setting: "User data", Before: NotRecorded, After: "replaced (CloudTrail does not record the content)"}},
		Evidence: []Evidence{{Label: "Request", Text: string(ec2Compact(rec.RequestParameters))}},
	}
	return outcome(f, rec,
		fmt.Sprintf("User data of %s replaced: the new script runs as root at the instance's next start", instance),
		fmt.Sprintf("replace the user data of %s", instance)), true
}
