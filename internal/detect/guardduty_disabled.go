package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "guardduty-disabled",
		Title: "GuardDuty turned off or cut off from its administrator",
		Description: "GuardDuty threat detection was switched off or its findings stopped reaching the security team. " +
			"Critical: the detector was deleted (DeleteDetector, which also discards its findings) or suspended (UpdateDetector " +
			"with enable false). High: a member account left its administrator account (DisassociateFromAdministratorAccount, " +
			"DisassociateFromMasterAccount), or the administrator stopped monitoring, disassociated or deleted member accounts " +
			"(StopMonitoringMembers, DisassociateMembers, DeleteMembers). Medium: UpdateDetector that turns off protection plans " +
			"(features or data sources such as S3 protection, EKS audit logs, runtime monitoring, malware protection). Other " +
			"UpdateDetector changes (finding frequency, enabling plans) are not reported, nor are suppression filters, trusted " +
			"IP lists or publishing destinations.",
		Severity: SeverityCritical,
		Pattern: APICall([]string{srcGuardDuty}, "DeleteDetector", "UpdateDetector", "DisassociateFromMasterAccount",
			"DisassociateFromAdministratorAccount", "StopMonitoringMembers", "DisassociateMembers", "DeleteMembers"),
		Evaluate: evaluateGuardDuty,
		MITRE:    []string{"T1562.001"},
		Runbook: "Turn detection back on in the account and region: aws guardduty list-detectors, then aws guardduty " +
			"update-detector --detector-id DETECTOR_ID --enable (or aws guardduty create-detector --enable if it was deleted; " +
			"findings of the deleted detector are gone, so export them from Security Hub or the findings bucket if you need " +
			"them). Re-attach members from the administrator account (aws guardduty create-members and aws guardduty " +
			"start-monitoring-members --detector-id DETECTOR_ID --account-ids ACCOUNT_ID), or enable auto-enable for the " +
			"organization. Review what the principal did next: tampering with GuardDuty usually precedes the noisy part of an intrusion.",
		References: []string{
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_suspend-disable.html",
			"https://docs.aws.amazon.com/guardduty/latest/APIReference/API_UpdateDetector.html",
			"https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_accounts.html",
		},
		FalsePositives: []string{
			"Account closure or migration between organizations, where members are removed and re-invited.",
			"Turning off paid protection plans in sandbox accounts to save cost.",
		},
		Tests: Tests{
			Positive: []Example{
				{"guardduty/guardduty-disabled-delete-detector.json", SeverityCritical},
				{"guardduty/guardduty-disabled-update-detector-suspended.json", SeverityCritical},
				{"guardduty/guardduty-disabled-update-detector-feature-off.json", SeverityMedium},
				{"guardduty/guardduty-disabled-disassociate-from-administrator.json", SeverityHigh},
				{"guardduty/guardduty-disabled-delete-members.json", SeverityHigh},
				{"guardduty/guardduty-disabled-delete-detector-bad-request.json", SeverityLow},
			},
			Negative: []string{
				"guardduty/guardduty-disabled-update-detector-frequency.json",
				"guardduty/guardduty-disabled-get-detector.json",
			},
		},
	})
}

// disabledProtections lists the protection plans an UpdateDetector request
// turns off: features with status DISABLED (and their additional
// configuration), and the older dataSources {"...": {"enable": false}}.
func disabledProtections(features, dataSources paramValue) []string {
	var off []string
	for _, raw := range features.Objects() {
		var ft struct {
			Name                    paramValue `json:"name"`
			Status                  paramValue `json:"status"`
			AdditionalConfiguration paramValue `json:"additionalConfiguration"`
		}
		decodeInto(raw, &ft)
		name, _ := ft.Name.Str()
		if st, _ := ft.Status.Str(); strings.EqualFold(st, "DISABLED") {
			off = append(off, name)
		}
		for _, add := range ft.AdditionalConfiguration.Objects() {
			var ac struct {
				Name   paramValue `json:"name"`
				Status paramValue `json:"status"`
			}
			decodeInto(add, &ac)
			if st, _ := ac.Status.Str(); strings.EqualFold(st, "DISABLED") {
				n, _ := ac.Name.Str()
				off = append(off, name+"/"+n)
			}
		}
	}
	ds := disabledDataSources("", dataSources)
	slices.Sort(ds) // map order is random; findings must not be
	return append(off, ds...)
}

// disabledDataSources walks the nested dataSources object and returns the
// paths whose "enable" is false ("s3Logs", "kubernetes.auditLogs").
func disabledDataSources(path string, v paramValue) []string {
	var m map[string]paramValue
	decodeInto(v, &m)
	var off []string
	for k, inner := range m {
		if strings.EqualFold(k, "enable") {
			if on, set := inner.Bool(); set && !on && path != "" {
				off = append(off, path)
			}
			continue
		}
		p := k
		if path != "" {
			p = path + "." + k
		}
		if len(p) < 200 { // bound the walk on hostile nesting
			off = append(off, disabledDataSources(p, inner)...)
		}
	}
	return off
}

// guardDutyResource names the detector, or the account when the call does
// not name one.
func guardDutyResource(rec *cloudtrail.Record, detectorID paramValue) Resource {
	id, _ := detectorID.Str()
	if id == "" {
		return Resource{Type: "AWS account", Name: rec.Account(), Region: rec.AWSRegion}
	}
	return Resource{Type: "GuardDuty detector", Name: id, Region: rec.AWSRegion,
		ARN: regionalResourceARN(rec, "guardduty", "detector/"+id)}
}

func evaluateGuardDuty(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	var rp struct {
		DetectorID  paramValue `json:"detectorId"`
		Enable      paramValue `json:"enable"`
		Features    paramValue `json:"features"`
		DataSources paramValue `json:"dataSources"`
		AccountIDs  paramValue `json:"accountIds"`
	}
	decodeInto(rec.RequestParameters, &rp)
	f := Finding{Resource: guardDutyResource(rec, rp.DetectorID)}
	where := placePhrase(rec)
	members := rp.AccountIDs.Strings()
	switch rec.EventName {
	case "DeleteDetector":
		f.Severity = SeverityCritical
		f.Changes = []Change{{Setting: "GuardDuty detector", Before: "exists", After: "deleted (findings discarded)"}}
		return outcome(f, rec, "GuardDuty detector deleted "+where+": threat detection is off and its findings are gone",
			"delete the GuardDuty detector "+where), true
	case "UpdateDetector":
		if on, set := rp.Enable.Bool(); set && !on {
			f.Severity = SeverityCritical
			f.Changes = []Change{{Setting: "Detector enabled", Before: NotRecorded, After: "false"}}
			return outcome(f, rec, "GuardDuty suspended "+where+": threat detection is off",
				"suspend GuardDuty "+where), true
		}
		off := disabledProtections(rp.Features, rp.DataSources)
		if len(off) == 0 {
			return Finding{}, false
		}
		f.Severity = SeverityMedium
		for _, p := range off {
			f.Changes = append(f.Changes, Change{Setting: "Protection plan " + p, Before: NotRecorded, After: "disabled"})
		}
		f.Evidence = []Evidence{{Label: "Protection plans in the request", Text: compactJSON(rec.RequestParameters)}}
		return outcome(f, rec, "GuardDuty protection turned off "+where+": "+listPhrase(off),
			"turn off GuardDuty protection "+where+" ("+listPhrase(off)+")"), true
	case "DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount":
		f.Severity = SeverityHigh
		f.Changes = []Change{{Setting: "GuardDuty administrator account", Before: NotRecorded, After: "(none)"}}
		return outcome(f, rec, "GuardDuty "+where+" left its administrator account: its findings no longer reach the security team",
			"detach GuardDuty "+where+" from its administrator account"), true
	case "StopMonitoringMembers", "DisassociateMembers", "DeleteMembers":
		f.Severity = SeverityHigh
		verb := map[string]string{
			"StopMonitoringMembers": "stopped monitoring",
			"DisassociateMembers":   "disassociated",
			"DeleteMembers":         "deleted",
		}[rec.EventName]
		for _, m := range members {
			f.Changes = append(f.Changes, Change{Setting: "Member account " + m, Before: NotRecorded, After: verb})
		}
		if len(members) > 0 {
			f.Evidence = []Evidence{{Label: "Member accounts in the request", Text: strings.Join(members, ", ")}}
		}
		who := "member accounts"
		if len(members) > 0 {
			who = countPhrase(len(members), "member account", "member accounts") + ": " + listPhrase(members)
		}
		return outcome(f, rec, fmt.Sprintf("GuardDuty administrator %s %s %s", where, verb, who),
			fmt.Sprintf("remove GuardDuty %s from the administrator %s", who, where)), true
	}
	return Finding{}, false
}
