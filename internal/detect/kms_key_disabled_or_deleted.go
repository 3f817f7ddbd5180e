package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
)

// kmsMinPendingDays is the shortest waiting period ScheduleKeyDeletion
// accepts; kmsDefaultPendingDays applies when the request gives none.
const (
	kmsMinPendingDays     = 7
	kmsDefaultPendingDays = 30
)

func init() {
	register(&Detection{
		ID:    "kms-key-disabled-or-deleted",
		Title: "KMS key disabled or scheduled for deletion",
		Description: "DisableKey or ScheduleKeyDeletion on a KMS key (CIS 4.7). Data encrypted under a disabled key cannot be " +
			"decrypted until the key is enabled again; once a key scheduled for deletion is deleted, that data is lost for good. " +
			"Both are high. ScheduleKeyDeletion with the shortest waiting period (7 days) is critical: it is what someone who " +
			"wants the data gone chooses (tools default to 30 days), and it leaves the least time to notice and cancel. AWS " +
			"managed keys cannot be disabled or deleted, so every finding concerns a customer managed key. The deletion itself, " +
			"when the waiting period ends, is a service event and is not reported; neither are key policy changes or disabled rotation.",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{srcKMS}, "DisableKey", "ScheduleKeyDeletion"),
		Evaluate: evaluateKMSKey,
		CIS:      []string{"4.7"},
		MITRE:    []string{"T1485"},
		Runbook: "If nobody planned it, undo it while you can: aws kms cancel-key-deletion --key-id KEY_ARN, then " +
			"aws kms enable-key --key-id KEY_ARN (a cancelled deletion leaves the key disabled). Find what the key protects " +
			"(aws kms list-aliases --key-id KEY_ARN; CloudTrail Decrypt and GenerateDataKey events for the key) and whether it " +
			"encrypts CloudTrail logs or backups. Review the principal's other actions and restrict kms:ScheduleKeyDeletion and " +
			"kms:DisableKey in the key policy or with an SCP.",
		References: []string{
			"https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html",
			"https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html",
			"https://docs.aws.amazon.com/kms/latest/developerguide/enabling-keys.html",
		},
		FalsePositives: []string{
			"Planned retirement of keys whose data has been re-encrypted or deleted.",
			"Test stacks whose infrastructure code deletes keys on teardown (usually with the 7-day minimum).",
		},
		Tests: Tests{
			Positive: []Example{
				{"kms/kms-key-disabled-or-deleted-disable-key.json", SeverityHigh},
				{"kms/kms-key-disabled-or-deleted-schedule-deletion-7-days.json", SeverityCritical},
				{"kms/kms-key-disabled-or-deleted-schedule-deletion-30-days.json", SeverityHigh},
				{"kms/kms-key-disabled-or-deleted-schedule-deletion-invalid-state.json", SeverityLow},
			},
			Negative: []string{
				"kms/kms-key-disabled-or-deleted-cancel-key-deletion.json",
				"kms/kms-key-disabled-or-deleted-enable-key.json",
			},
		},
	})
}

// kmsKeyResource names the key: the response's key ARN, else the ARN in
// resources, else the keyId parameter (an ID, ARN or alias).
func kmsKeyResource(rec *cloudtrail.Record, keyID paramValue) Resource {
	r := Resource{Type: "KMS key", Region: rec.AWSRegion}
	var resp struct {
		KeyID paramValue `json:"keyId"`
	}
	decodeInto(rec.ResponseElements, &resp)
	id, _ := keyID.Str()
	arn, _ := resp.KeyID.Str()
	if !strings.HasPrefix(arn, "arn:") {
		arn = ""
	}
	for _, res := range rec.Resources {
		if arn == "" && res.Type == "AWS::KMS::Key" && strings.HasPrefix(res.ARN, "arn:") {
			arn = res.ARN
		}
	}
	if arn == "" && strings.HasPrefix(id, "arn:") && strings.Contains(id, ":key/") {
		arn = id
	}
	switch {
	case arn != "":
		r.Name = arnResourceName(arn, "key/")
	case id != "":
		r.Name = arnResourceName(id, "alias/")
		if !strings.HasPrefix(id, "alias/") && !strings.Contains(id, ":alias/") {
			arn = regionalResourceARN(rec, "kms", "key/"+id)
		}
	}
	r.ARN = arn
	return r
}

func evaluateKMSKey(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	var rp struct {
		KeyID               paramValue `json:"keyId"`
		PendingWindowInDays paramValue `json:"pendingWindowInDays"`
	}
	decodeInto(rec.RequestParameters, &rp)
	f := Finding{Resource: kmsKeyResource(rec, rp.KeyID), Severity: SeverityHigh}
	key := resourcePhrase("KMS key", f.Resource.Name)
	switch rec.EventName {
	case "DisableKey":
		f.Changes = []Change{{Setting: "Key state", Before: NotRecorded, After: "Disabled"}}
		return outcome(f, rec, key+" disabled: data encrypted under it cannot be decrypted", "disable "+key), true
	case "ScheduleKeyDeletion":
		var resp struct {
			PendingWindowInDays paramValue `json:"pendingWindowInDays"`
			DeletionDate        paramValue `json:"deletionDate"`
		}
		decodeInto(rec.ResponseElements, &resp)
		days, ok := rp.PendingWindowInDays.Int()
		if !ok {
			if days, ok = resp.PendingWindowInDays.Int(); !ok {
				days = kmsDefaultPendingDays
			}
		}
		if days <= kmsMinPendingDays {
			f.Severity = SeverityCritical
		}
		when := fmt.Sprintf("in %d days", days)
		if d, ok := resp.DeletionDate.Str(); ok && d != "" {
			when += " (" + d + ")"
			f.Evidence = []Evidence{{Label: "Deletion date set by KMS", Text: d}}
		}
		f.Changes = []Change{
			{Setting: "Key state", Before: NotRecorded, After: "PendingDeletion"},
			{Setting: "Waiting period", Before: "", After: fmt.Sprintf("%d days", days)},
		}
		return outcome(f, rec, key+" scheduled for deletion "+when+": data encrypted under it will be lost",
			fmt.Sprintf("schedule %s for deletion in %d days", key, days)), true
	}
	return Finding{}, false
}
