package detect

import (
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "ebs-snapshot-public",
		Title: "EBS snapshot made public or shared with another account",
		Description: "ModifySnapshotAttribute added a createVolumePermission: for the group \"all\", which lets every AWS " +
			"account create a volume from the snapshot and read the disk (critical), or for another AWS account, which " +
			"lets that account copy the data out (medium). Removals, and grants to the snapshot's own account, do not " +
			"fire. Snapshots shared through an AMI are covered by ami-public; Recycle Bin and AWS Backup copies are not covered.",
		Severity: SeverityCritical,
		Pattern:  APICall([]string{ec2Source}, "ModifySnapshotAttribute"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			rp := ev.RequestParams()
			s := ec2PermissionAdds(field(rp, "createVolumePermission"), rec.Account())
			if !s.Any() {
				return Finding{}, false
			}
			id := jsonString(field(rp, "snapshotId"))
			res := Resource{Type: "EBS snapshot", Name: id, Region: rec.AWSRegion}
			if id != "" {
				res.ARN = partitionARN(rec.AWSRegion, "ec2", rec.AWSRegion, "", "snapshot/"+id)
			}
			what := "EBS snapshot " + orUnknown(id)
			f := sharingFinding(rec, s, res, what, "Create volume permission")
			f.Evidence = append(f.Evidence, Evidence{Label: "Permission change", Text: excerpt(field(rp, "createVolumePermission"))})
			return f, true
		},
		MITRE: []string{"T1537"},
		Runbook: "Ask the principal whether the share was intended. If not, withdraw it at once " +
			"(aws ec2 modify-snapshot-attribute --snapshot-id SNAPSHOT_ID --attribute createVolumePermission --operation-type remove " +
			"--group-names all, or --user-ids ACCOUNT_ID) and check what remains (aws ec2 describe-snapshot-attribute " +
			"--snapshot-id SNAPSHOT_ID --attribute createVolumePermission). Assume the disk was copied while shared: find out " +
			"what the volume held and rotate any secrets on it. Block public sharing for the region " +
			"(aws ec2 enable-snapshot-block-public-access --state block-all-sharing).",
		References: []string{
			"https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html",
			"https://docs.aws.amazon.com/ebs/latest/userguide/block-public-access-snapshots.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySnapshotAttribute.html",
		},
		FalsePositives: []string{
			"Snapshots shared on purpose with backup, disaster-recovery or migration accounts (medium).",
			"Public snapshots of deliberately published datasets.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2/ebs-snapshot-public-group-all.json", SeverityCritical},
				{"ec2/ebs-snapshot-public-external-account.json", SeverityMedium},
				{"ec2/ebs-snapshot-public-failed-encrypted.json", SeverityLow},
			},
			Negative: []string{
				"ec2/ebs-snapshot-public-remove-account.json",
				"ec2/ebs-snapshot-public-describe-attribute.json",
				"ec2/ami-public-group-all.json",
			},
		},
	})
}
