package detect

import (
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
)

// Helpers that tell what kind of session made a call: a person (a console
// session, an IAM user's keys, an MFA or IAM Identity Center session) or
// automation (role sessions without MFA, such as a deployment pipeline's).
// Detections of changes a pipeline normally makes (Lambda code) rank a
// person's change above automation's; allow-lists (internal/suppress)
// silence the known pipelines and people.

// longTermKey reports whether the call was signed with an IAM user's or
// the root user's long-term access key (AKIA...), not temporary
// credentials (ASIA...).
func longTermKey(rec *cloudtrail.Record) bool {
	return strings.HasPrefix(rec.UserIdentity.AccessKeyID, "AKIA")
}

// personSession says why the caller looks like a person rather than
// automation, or "" when it does not: a console session, the root user,
// an IAM user, a role session authenticated with MFA, an IAM Identity
// Center (AWSReservedSSO_) or SAML session.
func personSession(rec *cloudtrail.Record) string {
	id := rec.UserIdentity
	used, _ := rec.MFA()
	switch {
	case rec.ConsoleSession():
		return "from a console session"
	case id.Type == identityRoot:
		return "by the root user"
	case id.Type == identityIAMUser && longTermKey(rec):
		return "with the long-term access key of " + callerLabel(rec)
	case id.Type == identityIAMUser:
		return "by " + callerLabel(rec)
	case id.Type == "SAMLUser" || id.Type == "IdentityCenterUser":
		return "by a federated user"
	case id.Type == identityAssumedRole && id.SessionContext != nil && id.SessionContext.SessionIssuer != nil &&
		strings.HasPrefix(id.SessionContext.SessionIssuer.UserName, "AWSReservedSSO_"):
		return "by an IAM Identity Center session"
	case id.Type == identityAssumedRole && used:
		return "by an MFA-authenticated role session"
	}
	return ""
}
