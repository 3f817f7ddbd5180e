package detect

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "ec2-ssh-key-pushed",
		Title: "SSH public key pushed to an instance with EC2 Instance Connect",
		Description: "SendSSHPublicKey (EC2 Instance Connect) or SendSerialConsoleSSHPublicKey (EC2 serial console) put " +
			"an SSH public key on an instance for 60 seconds: whoever holds the private key can log in as the OS user " +
			"named, or reach the instance's serial console even when its network is cut off. Attackers push their own " +
			"key to every instance they can. A push is medium. It is high when the caller is the root user or signs with " +
			"a long-term access key of an IAM user (AKIA...), or when the OS user is root. A denied call is a low attempt.",
		Severity: SeverityMedium,
		Pattern:  APICall([]string{instanceConnectSource}, "SendSSHPublicKey", "SendSerialConsoleSSHPublicKey"),
		Evaluate: evaluateSSHKeyPushed,
		MITRE:    []string{"T1021.004", "T1098.004"},
		Runbook: "Ask the caller why they connected; SSH sessions that followed are in the instance's own logs (sshd in " +
			"/var/log/secure or the journal), not in CloudTrail. If it is not explained, isolate the instance, look for " +
			"keys or users added on it (~/.ssh/authorized_keys, /etc/passwd), and treat the caller's credentials as " +
			"compromised. Deny ec2-instance-connect:SendSSHPublicKey except on tagged instances and OS users that need " +
			"it; turn the serial console off where it is not needed (aws ec2 disable-serial-console-access).",
		References: []string{
			"https://docs.aws.amazon.com/ec2-instance-connect/latest/APIReference/API_SendSSHPublicKey.html",
			"https://docs.aws.amazon.com/ec2-instance-connect/latest/APIReference/API_SendSerialConsoleSSHPublicKey.html",
			"https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-connect-log-cloudtrail.html",
		},
		FalsePositives: []string{
			"Engineers using the console's Connect button (EC2 Instance Connect) or the serial console for troubleshooting.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ec2-instance-connect/ec2-ssh-key-pushed-role-session.json", SeverityMedium},
				{"ec2-instance-connect/ec2-ssh-key-pushed-long-term-key.json", SeverityHigh},
				{"ec2-instance-connect/ec2-ssh-key-pushed-serial-console.json", SeverityMedium},
				{"ec2-instance-connect/ec2-ssh-key-pushed-denied.json", SeverityLow},
			},
			Negative: []string{
				"ec2/ec2-user-data-read-terraform.json",
				"ssm/ssm-session-started-role-session.json",
			},
		},
	})
}

func evaluateSSHKeyPushed(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || (rec.EventName != "SendSSHPublicKey" && rec.EventName != "SendSerialConsoleSSHPublicKey") {
		return Finding{}, false
	}
	rp := fields(rec.RequestParameters)
	id := jsonString(field(rp, "instanceId"))
	f := Finding{Severity: SeverityMedium, Resource: managedNodeResource(rec, id)}
	instance := "instance " + ec2OrUnknown(id, "instance")
	serial := rec.EventName == "SendSerialConsoleSSHPublicKey"
	var access string
	if serial {
		port := "0" // the API's default when the request names none
		if n, ok := paramValue(field(rp, "serialPort")).Int(); ok {
			port = fmt.Sprint(n)
		}
		access = "the serial console (port " + port + ")"
		f.Evidence = append(f.Evidence, Evidence{Label: "Serial console port", Text: port})
	} else {
		user := jsonString(field(rp, "instanceOSUser"))
		access = "SSH as OS user " + orNotRecorded(user)
		f.Evidence = append(f.Evidence, Evidence{Label: "OS user", Text: orNotRecorded(user)})
		if user == "root" {
			f.Severity = SeverityHigh
			f.Evidence = append(f.Evidence, Evidence{Label: "The key logs in as root", Text: user})
		}
	}
	why := ""
	if w, e := riskyCaller(rec); w != "" {
		f.Severity, why = SeverityHigh, " "+w
		f.Evidence = append(f.Evidence, e)
	}
	if key := jsonString(field(rp, "sSHPublicKey")); key != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "Public key", Text: sshKeySummary(key)})
	}
	if az := jsonString(field(rp, "availabilityZone")); az != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "Availability Zone", Text: az})
	}
	return outcome(f, rec,
		fmt.Sprintf("%s pushed an SSH key to %s for %s%s", identityUpperFirst(callerLabel(rec)), instance, access, why),
		fmt.Sprintf("push an SSH key to %s for %s%s", instance, access, why)), true
}

// sshKeySummary shows an OpenSSH public key by type, SHA256 fingerprint (as
// ssh-keygen -l prints it, to compare with keys found on instances) and
// comment, or the text clipped when it does not parse.
func sshKeySummary(key string) string {
	parts := strings.Fields(key)
	if len(parts) >= 2 {
		if blob, err := base64.StdEncoding.DecodeString(parts[1]); err == nil {
			sum := sha256.Sum256(blob)
			s := parts[0] + " SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
			if len(parts) > 2 {
				s += " " + clip(strings.Join(parts[2:], " "), 200)
			}
			return s
		}
	}
	return clip(key, 500)
}
