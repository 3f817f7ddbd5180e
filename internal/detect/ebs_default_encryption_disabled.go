package detect

import "github.com/trailwatch/trailwatch/internal/event"

func init() {
	register(&Detection{
		ID:    "ebs-default-encryption-disabled",
		Title: "EBS encryption by default turned off",
		Description: "DisableEbsEncryptionByDefault turned off EBS encryption by default for the account in one region: " +
			"volumes and snapshot copies created from now on are unencrypted unless each request asks for encryption, so " +
			"their snapshots can be shared with other accounts or made public without a key standing in the way. Existing " +
			"volumes keep their encryption. High. Changing the default KMS key (ModifyEbsDefaultKmsKeyId) is not covered.",
		Severity:   SeverityHigh,
		Pattern:    APICall([]string{srcEC2}, "DisableEbsEncryptionByDefault"),
		Evaluate:   evaluateEBSDefaultEncryption,
		CISRelated: []string{"2.2.1"},
		MITRE:      []string{"T1562"},
		Runbook: "Turn it back on in the region of the event: aws ec2 enable-ebs-encryption-by-default --region REGION, and " +
			"check the default key (aws ec2 get-ebs-default-kms-key-id --region REGION). List volumes created since the change " +
			"(aws ec2 describe-volumes --region REGION --filters Name=encrypted,Values=false) and re-create sensitive ones " +
			"encrypted from a snapshot copy with --encrypted. Consider an SCP that denies ec2:DisableEbsEncryptionByDefault.",
		References: []string{
			"https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisableEbsEncryptionByDefault.html",
		},
		FalsePositives: []string{"Workloads that need unencrypted volumes (rare: some marketplace images or legacy tooling)."},
		Tests: Tests{
			Positive: []Example{
				{"ec2/ebs-default-encryption-disabled-console.json", SeverityHigh},
				{"ec2/ebs-default-encryption-disabled-dry-run.json", SeverityLow},
			},
			Negative: []string{
				"ec2/ebs-default-encryption-disabled-enable.json",
			},
		},
	})
}

func evaluateEBSDefaultEncryption(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	f := Finding{
		Severity: SeverityHigh,
		Resource: Resource{Type: "AWS account", Name: rec.Account(), Region: rec.AWSRegion},
		Changes:  []Change{{Setting: "EBS encryption by default", Before: NotRecorded, After: "false"}},
	}
	where := placePhrase(rec)
	return outcome(f, rec, "EBS encryption by default turned off "+where+": new volumes are unencrypted",
		"turn off EBS encryption by default "+where), true
}
