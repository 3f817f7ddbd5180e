package detect

import (
	"encoding/json"
	"fmt"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

func init() {
	register(&Detection{
		ID:    "ec2-password-data-retrieved",
		Title: "Windows administrator password of an EC2 instance retrieved",
		Description: "GetPasswordData returned (or was asked for) the encrypted Administrator password of a Windows " +
			"instance. Whoever holds the instance's key pair can decrypt it and sign in over RDP, so collecting it is " +
			"credential access. A retrieval is medium; it is high when the caller belongs to another account than the " +
			"instance, or uses the credentials of an EC2 instance (its instance profile): a workload reading other " +
			"instances' administrator passwords is a lateral-movement step people rarely need. A denied call is a low " +
			"attempt; bursts of them are what credential-harvesting tools produce, and the unauthorized-calls " +
			"detection reports those per principal. CloudTrail never records the password itself. DryRun requests are not reported: AWS only checks permissions for them.",
		Severity:      SeverityMedium,
		Pattern:       ec2API("GetPasswordData"),
		Evaluate:      evaluatePasswordData,
		MITRE:         []string{"T1552"},
		NeedsReadOnly: true,
		Runbook: "Ask the principal why they needed the password. If the call is not explained, reset the local " +
			"Administrator password on the instance (aws ssm send-command --instance-ids INSTANCE_ID --document-name " +
			"AWS-RunPowerShellScript, or EC2Rescue), review RDP sign-ins on it since the call, and check who holds the " +
			"private key of its key pair (aws ec2 describe-instances --instance-ids INSTANCE_ID --query " +
			"Reservations[].Instances[].KeyName). Prefer Fleet Manager or Session Manager to shared administrator passwords.",
		References: []string{
			"https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetPasswordData.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/connect-rdp.html",
		},
		FalsePositives: []string{"Administrators connecting to a Windows instance from the console's RDP client dialog."},
		Tests: Tests{
			Positive: []Example{
				{"ec2/ec2-password-data-retrieved-console.json", SeverityMedium},
				{"ec2/ec2-password-data-retrieved-instance-role.json", SeverityHigh},
				{"ec2/ec2-password-data-retrieved-not-found.json", SeverityLow},
			},
			Negative: []string{
				"ec2/ec2-user-data-read-terraform.json",
				"ec2/security-group-changed-describe.json",
			},
		},
	})
}

// instanceSession matches the session name EC2 gives instance profile
// credentials: the instance ID.
var instanceSession = lazyre.New(`:i-[0-9a-f]{8,17}$`)

// instanceCredentials reports whether the caller used the credentials of an
// EC2 instance profile.
func instanceCredentials(rec *cloudtrail.Record) bool {
	ui := rec.UserIdentity
	if ui.SessionContext != nil && ui.SessionContext.EC2RoleDelivery != "" {
		return true
	}
	return ui.Type == "AssumedRole" && instanceSession.MatchString(ui.PrincipalID)
}

// foreignCaller is the account of the calling principal when it is not
// the account the event belongs to, else "".
func foreignCaller(rec *cloudtrail.Record) string {
	caller := rec.UserIdentity.AccountID
	if caller != "" && rec.RecipientAccountID != "" && caller != rec.RecipientAccountID {
		return caller
	}
	return ""
}

func evaluatePasswordData(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || ec2DryRun(rec) {
		return Finding{}, false
	}
	var rp struct {
		InstanceID json.RawMessage `json:"instanceId"`
	}
	ec2Decode(rec.RequestParameters, &rp)
	id := ec2Text(rp.InstanceID)
	instance := "instance " + ec2OrUnknown(id, "instance")
	f := Finding{Severity: SeverityMedium, Resource: ec2Resource(rec, "EC2 instance", "instance", id)}
	why := ""
	switch {
	case foreignCaller(rec) != "":
		f.Severity = SeverityHigh
		why = " by a principal of account " + foreignCaller(rec)
		f.Evidence = []Evidence{{Label: "The caller belongs to another AWS account", Text: rec.UserIdentity.ARN}}
	case instanceCredentials(rec):
		f.Severity = SeverityHigh
		why = " with the credentials of an EC2 instance"
		f.Evidence = []Evidence{{Label: "The caller used an EC2 instance's role credentials", Text: rec.UserIdentity.ARN}}
	}
	return outcome(f, rec,
		fmt.Sprintf("Administrator password data of %s retrieved%s", instance, why),
		fmt.Sprintf("retrieve the administrator password data of %s%s", instance, why)), true
}
