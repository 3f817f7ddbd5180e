package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "rds-snapshot-public",
		Title: "RDS snapshot made public or shared with another account",
		Description: "ModifyDBSnapshotAttribute or ModifyDBClusterSnapshotAttribute added values to the \"restore\" " +
			"attribute of a manual DB or DB cluster snapshot: \"all\" lets every AWS account restore the database " +
			"(critical), another account ID lets that account copy it (medium). Removals (valuesToRemove), other attributes " +
			"and the snapshot's own account do not fire. Snapshot exports to S3 (StartExportTask) are not covered.",
		Severity: SeverityCritical,
		Pattern:  APICall([]string{rdsSource}, "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			rp := ev.RequestParams()
			if !strings.EqualFold(jsonString(field(rp, "attributeName")), "restore") {
				return Finding{}, false
			}
			var s Sharing
			for _, v := range jsonStrings(field(rp, "valuesToAdd")) {
				s.add(strings.TrimSpace(v), rec.Account())
			}
			if !s.Any() {
				return Finding{}, false
			}
			cluster := rec.EventName == "ModifyDBClusterSnapshotAttribute"
			kind, idKey, arnKind, attrsKey := "RDS DB snapshot", "dBSnapshotIdentifier", "snapshot:", "dBSnapshotAttributes"
			if cluster {
				kind, idKey, arnKind, attrsKey = "RDS DB cluster snapshot", "dBClusterSnapshotIdentifier", "cluster-snapshot:", "dBClusterSnapshotAttributes"
			}
			id := jsonString(field(rp, idKey))
			name := id
			if strings.HasPrefix(id, "arn:") {
				name = id[strings.LastIndex(id, ":")+1:]
			}
			res := Resource{
				Type:   kind,
				Name:   name,
				ARN:    resourceARN(id, rec.AWSRegion, "rds", rec.AWSRegion, rec.Account(), arnKind+id),
				Region: rec.AWSRegion,
			}
			f := sharingFinding(rec, s, res, fmt.Sprintf("%s %s", kind, orUnknown(name)), "Restore permission")
			f.Evidence = append(f.Evidence, Evidence{Label: "Accounts added to the restore attribute", Text: excerpt(field(rp, "valuesToAdd"))})
			// The response lists who may restore the snapshot after the change.
			for _, attr := range jsonObjects(field(fields(rec.ResponseElements), attrsKey)) {
				m := fields(attr)
				if strings.EqualFold(jsonString(field(m, "attributeName")), "restore") {
					f.Evidence = append(f.Evidence, Evidence{Label: "Who may restore the snapshot now", Text: excerpt(field(m, "attributeValues"))})
				}
			}
			return f, true
		},
		MITRE: []string{"T1537"},
		Runbook: "Ask the principal whether the share was intended. If not, withdraw it " +
			"(aws rds modify-db-snapshot-attribute --db-snapshot-identifier SNAPSHOT --attribute-name restore " +
			"--values-to-remove all, or ACCOUNT_ID; for cluster snapshots aws rds modify-db-cluster-snapshot-attribute " +
			"--db-cluster-snapshot-identifier SNAPSHOT --attribute-name restore --values-to-remove all) and check what remains " +
			"(aws rds describe-db-snapshot-attributes --db-snapshot-identifier SNAPSHOT). Assume the database was copied while " +
			"shared: rotate the database credentials and any secrets stored in it, and assess the data for breach notification.",
		References: []string{
			"https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ShareSnapshot.html",
			"https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBSnapshotAttribute.html",
			"https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBClusterSnapshotAttribute.html",
		},
		FalsePositives: []string{
			"Snapshots shared on purpose with backup, analytics or migration accounts (medium).",
		},
		Tests: Tests{
			Positive: []Example{
				{"rds/rds-snapshot-public-db-snapshot-all.json", SeverityCritical},
				{"rds/rds-snapshot-public-cluster-snapshot-account.json", SeverityMedium},
			},
			Negative: []string{
				"rds/rds-snapshot-public-remove-account.json",
				"rds/rds-snapshot-public-describe-attributes.json",
			},
		},
	})
}
