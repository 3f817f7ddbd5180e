package detect

import (
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "ami-public",
		Title: "AMI made public or shared with another account",
		Description: "ModifyImageAttribute added a launchPermission: for the group \"all\", which lets every AWS account " +
			"launch the image and read its disks (critical); for another AWS account, which can then copy it (medium); or " +
			"for an organization or organizational unit, which may not be the account's own (low). Removals, grants to the " +
			"image's own account and changes of other attributes (description, boot mode, IMDS support) do not fire. " +
			"Sharing of the underlying snapshots is ebs-snapshot-public's.",
		Severity: SeverityCritical,
		Pattern:  APICall([]string{ec2Source}, "ModifyImageAttribute"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			rp := ev.RequestParams()
			s := ec2PermissionAdds(field(rp, "launchPermission"), rec.Account())
			if !s.Any() {
				return Finding{}, false
			}
			id := jsonString(field(rp, "imageId"))
			res := Resource{Type: "AMI", Name: id, Region: rec.AWSRegion}
			if id != "" {
				res.ARN = partitionARN(rec.AWSRegion, "ec2", rec.AWSRegion, "", "image/"+id)
			}
			f := sharingFinding(rec, s, res, "AMI "+orUnknown(id), "Launch permission")
			f.Evidence = append(f.Evidence, Evidence{Label: "Permission change", Text: excerpt(field(rp, "launchPermission"))})
			return f, true
		},
		MITRE: []string{"T1537"},
		Runbook: "Ask the principal whether the share was intended. If not, withdraw it " +
			"(aws ec2 modify-image-attribute --image-id IMAGE_ID --launch-permission \"Remove=[{Group=all}]\", or " +
			"\"Remove=[{UserId=ACCOUNT_ID}]\") and check what remains (aws ec2 describe-image-attribute --image-id IMAGE_ID " +
			"--attribute launchPermission). Assume the image was copied while shared: rotate credentials, keys and secrets baked " +
			"into it. Block new public sharing for the region (aws ec2 enable-image-block-public-access " +
			"--image-block-public-access-state block-new-sharing).",
		References: []string{
			"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-intro.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/block-public-access-to-amis.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyImageAttribute.html",
		},
		FalsePositives: []string{
			"Golden-image pipelines that share AMIs with the organization's workload accounts (medium or low).",
			"Vendors publishing public AMIs on purpose.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/ami-public-group-all.json", SeverityCritical},
				{"ec2/ami-public-external-account.json", SeverityMedium},
				{"ec2/ami-public-organization.json", SeverityLow},
			},
			Negative: []string{
				"ec2/ami-public-description-changed.json",
				"ec2/ebs-snapshot-public-group-all.json",
			},
		},
	})
}
