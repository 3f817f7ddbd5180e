package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "root-mfa-deactivated",
		Title: "Root user's MFA device deactivated or deleted",
		Description: "DeactivateMFADevice or DeleteVirtualMFADevice called by the root user, or acting on a root MFA " +
			"device (serial number ...:mfa/root-account-mfa-device or a u2f/root security key). Without MFA the root " +
			"user, which no IAM policy can limit, is protected by a password alone, and whoever removed the device may " +
			"be about to register their own. Root MFA devices registered since 2022 can carry any name, so every " +
			"such call by the root user itself is reported, even on a device that may be an IAM user's. MFA changes " +
			"for IAM users made by other principals are not this detection's business.",
		Severity: SeverityCritical,
		Pattern:  APICall([]string{iamSource}, "DeactivateMFADevice", "DeleteVirtualMFADevice"),
		Evaluate: func(ev *event.Event, _ *Env) (Finding, bool) {
			rec := ev.CloudTrail
			if rec == nil {
				return Finding{}, false
			}
			rp := identityFields(rec.RequestParameters)
			serial := identityString(rp, "serialNumber")
			user := identityString(rp, "userName")
			rootDevice := isRootMFASerial(serial)
			// The root user names no userName: a userName means it is
			// managing an IAM user's device.
			if !rootDevice && !(byRootUser(rec) && user == "") {
				return Finding{}, false
			}
			f := Finding{Severity: SeverityCritical, Resource: rootResource(rec)}
			if serial == "" {
				serial = NotRecorded
			}
			verb, did := "deactivate", "deactivated"
			if rec.EventName == "DeleteVirtualMFADevice" {
				verb, did = "delete", "deleted"
			}
			f.Changes = []Change{{Setting: "Root MFA device", Before: serial + " (active)", After: did}}
			if rec.EventName == "DeleteVirtualMFADevice" {
				// A virtual device can only be deleted once deactivated.
				f.Changes[0].Before = serial + " (not assigned)"
			}
			return outcome(f, rec,
				fmt.Sprintf("MFA device %s of the root user %s by %s", serial, did, callerLabel(rec)),
				fmt.Sprintf("%s the root user's MFA device %s", verb, serial)), true
		},
		CISRelated: []string{"1.5"},
		MITRE:      []string{"T1556.006"},
		Runbook: "Ask the owners of the root credentials at once. If they did not do it, assume the root password is " +
			"known: sign in as root (or recover the password through the root email), register a new MFA device " +
			"(Security credentials > Assign MFA device), change the password, delete any root access keys, and review " +
			"everything the root user did (CloudTrail, userIdentity.type = Root). If root sign-in is impossible, open a " +
			"case with AWS Support from another account. Confirm afterwards with aws iam get-account-summary " +
			"(AccountMFAEnabled = 1).",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-virt-mfa-for-root.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_disable.html",
			"https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html#iam-9",
		},
		FalsePositives: []string{"Replacing a lost or old root MFA device (a new EnableMFADevice by the root user follows within minutes)."},
		GlobalService:  true,
		Tests: Tests{
			Positive: []Example{
				{"iam/root-mfa-deactivated.json", SeverityCritical},
				{"iam/root-mfa-deactivated-delete-virtual-device.json", SeverityCritical},
			},
			Negative: []string{
				"iam/root-mfa-deactivated-iam-user-device.json",
				"iam/root-mfa-deactivated-enable-mfa-device.json",
			},
		},
	})
}

// isRootMFASerial reports whether an MFA serial number names a root user's
// device: the virtual device AWS names root-account-mfa-device, or a FIDO
// security key registered under u2f/root.
func isRootMFASerial(serial string) bool {
	return strings.HasSuffix(serial, ":mfa/root-account-mfa-device") || strings.Contains(serial, ":u2f/root/")
}
