package detect

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// Event sources of the detections of commands and sessions on instances.
const (
	ssmSource                = "ssm.amazonaws.com"
	instanceConnectSource    = "ec2-instance-connect.amazonaws.com"
	rolesAnywhereEventSource = "rolesanywhere.amazonaws.com"
)

// userLongTermKey reports whether the caller signed the request with a
// long-term access key of an IAM user (AKIA...), the credentials that leak
// from laptops, CI variables and repositories. Console sessions of IAM users
// and every role session use temporary keys (ASIA...).
func userLongTermKey(rec *cloudtrail.Record) bool {
	return rec.UserIdentity.Type == identityIAMUser && strings.HasPrefix(rec.UserIdentity.AccessKeyID, "AKIA")
}

// riskyCaller says why the caller's credentials raise an action on an
// instance or a new trust path to high: the root user, or an IAM user's
// long-term access key. It returns "" for other callers.
func riskyCaller(rec *cloudtrail.Record) (why string, ev Evidence) {
	switch {
	case byRootUser(rec):
		return "with the root user's credentials", Evidence{Label: "The root user made the call", Text: orNotRecorded(rec.UserIdentity.ARN)}
	case userLongTermKey(rec):
		return "with a long-term IAM user access key",
			Evidence{Label: "Signed with a long-term IAM user access key", Text: rec.UserIdentity.AccessKeyID + " (" + orNotRecorded(rec.UserIdentity.ARN) + ")"}
	}
	return "", Evidence{}
}

// managedNodeID matches the IDs of nodes SSM can reach: EC2 instances
// (i-...) and hybrid managed nodes (mi-...).
var managedNodeID = lazyre.New(`^m?i-[0-9a-f]{8,17}$`)

// managedNodeResource is the instance or managed node an event names. An ID
// of another form is still shown, but no ARN is built from it.
func managedNodeResource(rec *cloudtrail.Record, id string) Resource {
	switch {
	case id == "":
		return Resource{Type: "EC2 instance", Name: "(not recorded)", Region: rec.AWSRegion}
	case strings.HasPrefix(id, "mi-") && managedNodeID.MatchString(id):
		return Resource{Type: "SSM managed node", Name: id, Region: rec.AWSRegion,
			ARN: partitionARN(rec.AWSRegion, "ssm", rec.AWSRegion, rec.Account(), "managed-instance/"+id)}
	case managedNodeID.MatchString(id):
		return ec2Resource(rec, "EC2 instance", "instance", id)
	}
	return Resource{Type: "EC2 instance", Name: id, Region: rec.AWSRegion}
}

// ssmTarget is one target of SendCommand given by tag or resource group
// instead of instance IDs.
type ssmTarget struct {
	Key    string
	Values []string
}

func (t ssmTarget) String() string {
	return t.Key + "=" + strings.Join(t.Values, ",")
}

// ssmTargets reads requestParameters.targets ([{key, values}]).
func ssmTargets(raw json.RawMessage) []ssmTarget {
	var out []ssmTarget
	for _, obj := range jsonObjects(raw) {
		m := fields(obj)
		t := ssmTarget{Key: jsonString(field(m, "key")), Values: jsonStrings(field(m, "values"))}
		if t.Key != "" || len(t.Values) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// shellDocuments are the SSM documents whose commands parameter is a script
// run as root (Linux) or SYSTEM (Windows).
var shellDocuments = map[string]bool{
	"AWS-RunShellScript":      true,
	"AWS-RunPowerShellScript": true,
}

// downloadAndRun matches commands that fetch a script and run it at once:
// curl or wget piped or substituted into a shell, PowerShell downloading a
// string or file and invoking it. These are what droppers and miners use.
var downloadAndRun = []*lazyre.Regexp{
	lazyre.New(`(?i)\b(curl|wget)\b[^|;&\n]*\|\s*(sudo\s+)?(\S*/)?(ba|z|k|da|c|tc)?sh\b`),
	lazyre.New(`(?i)\b(curl|wget)\b[^|;&\n]*\|\s*(sudo\s+)?(\S*/)?(python[0-9.]*|perl|ruby|php)\b`),
	lazyre.New(`(?i)\b(ba|z|k|da)?sh\s+(-c\s+)?["']?\s*(<\(|\$\()\s*(curl|wget)\b`),
	lazyre.New(`(?i)\b(invoke-webrequest|iwr|invoke-restmethod|irm|curl|wget)\b[^|;\n]*\|\s*(iex|invoke-expression)\b`),
	lazyre.New(`(?i)\b(iex|invoke-expression)\b\s*\(?\s*(\(?\s*new-object\s+(system\.)?net\.webclient\s*\)?\s*\.\s*download(string|data)|\(?\s*(invoke-webrequest|iwr|invoke-restmethod|irm)\b)`),
	lazyre.New(`(?i)\bnew-object\s+(system\.)?net\.webclient\s*\)?\s*\.\s*downloadstring\b[^;\n]*\|\s*(iex|invoke-expression)\b`),
}

// downloadRun returns the first command that downloads and runs code, "" if none.
func downloadRun(commands []string) string {
	for _, c := range commands {
		for _, re := range downloadAndRun {
			if re.MatchString(c) {
				return c
			}
		}
	}
	return ""
}

// ssmCommands reads the commands of a shell document from
// requestParameters.parameters. CloudTrail usually withholds the parameters
// (HIDDEN_DUE_TO_SECURITY_REASONS); hidden reports that.
func ssmCommands(raw json.RawMessage) (commands []string, hidden bool) {
	if s, ok := paramString(raw); ok {
		return nil, s == hiddenValue
	}
	return jsonStrings(field(fields(raw), "commands")), false
}

// paramString reads a JSON string, including the hidden marker jsonString drops.
func paramString(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// idsPhrase names up to three IDs and counts the rest.
func idsPhrase(ids []string, singular, plural string) string {
	switch len(ids) {
	case 0:
		return "no " + singular
	case 1:
		return singular + " " + ids[0]
	}
	shown := ids
	if len(shown) > 3 {
		shown = shown[:3]
	}
	s := fmt.Sprintf("%d %s: %s", len(ids), plural, strings.Join(shown, ", "))
	if len(ids) > 3 {
		s += fmt.Sprintf(" and %d more", len(ids)-3)
	}
	return s
}
