package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/iampolicy"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

// Event sources of the identity detections.
const (
	iamSource    = "iam.amazonaws.com"
	stsSource    = "sts.amazonaws.com"
	signinSource = "signin.amazonaws.com"
)

// userIdentity.type values CloudTrail writes.
const (
	identityRoot        = "Root"
	identityIAMUser     = "IAMUser"
	identityAssumedRole = "AssumedRole"
)

// identityFields reads the top-level members of a JSON object. Anything else (null,
// a list, a string, malformed JSON) reads as no members, so callers never
// need to tell a missing field from an odd event.
func identityFields(raw json.RawMessage) map[string]json.RawMessage {
	m, _ := jsonscan.Members(raw)
	return m
}

// identityString is the string value of a member; other types read as "".
func identityString(m map[string]json.RawMessage, key string) string {
	s, _ := jsonscan.Text(m[key])
	return s
}

// identityBool reads a member that should be a boolean; CloudTrail sometimes
// writes booleans as strings. ok is false when the member is absent or
// neither.
func identityBool(m map[string]json.RawMessage, key string) (v, ok bool) {
	raw := bytes.TrimSpace(m[key])
	if json.Unmarshal(raw, &v) == nil && len(raw) > 0 && string(raw) != "null" {
		return v, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch strings.ToLower(s) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// byRootUser reports whether the root user made the request.
func byRootUser(rec *cloudtrail.Record) bool { return rec.UserIdentity.Type == identityRoot }

// assumedRoot reports whether a root session was obtained with sts:AssumeRoot
// (centralized root access from the organization's management account).
func assumedRoot(rec *cloudtrail.Record) bool {
	sc := rec.UserIdentity.SessionContext
	return sc != nil && strings.EqualFold(sc.AssumedRoot, "true")
}

// iamUserName is the name of the IAM user that made the request, "" when
// the caller is not an IAM user.
func iamUserName(rec *cloudtrail.Record) string {
	id := rec.UserIdentity
	if id.Type != identityIAMUser {
		return ""
	}
	if id.UserName != "" {
		return id.UserName
	}
	if i := strings.LastIndex(id.ARN, "/"); i >= 0 && strings.Contains(id.ARN, ":user/") {
		return id.ARN[i+1:]
	}
	return ""
}

// callerLabel names who made the request, for headlines.
func callerLabel(rec *cloudtrail.Record) string {
	id := rec.UserIdentity
	switch id.Type {
	case identityRoot:
		if assumedRoot(rec) {
			return "the root user (session from sts:AssumeRoot)"
		}
		return "the root user"
	case identityIAMUser:
		if n := iamUserName(rec); n != "" {
			return "IAM user " + n
		}
		return "an IAM user"
	case identityAssumedRole:
		const marker = ":assumed-role/"
		if i := strings.Index(id.ARN, marker); i >= 0 {
			return "role session " + id.ARN[i+len(marker):]
		}
		if id.ARN != "" {
			return "role session " + id.ARN
		}
		return "a role session"
	case "":
		return "an unidentified caller"
	}
	switch {
	case id.ARN != "":
		return id.Type + " " + id.ARN
	case id.UserName != "":
		return id.Type + " " + id.UserName
	case id.InvokedBy != "":
		return id.Type + " " + id.InvokedBy
	}
	return id.Type
}

// rootResource is the account's root user.
func rootResource(rec *cloudtrail.Record) Resource {
	account := rec.Account()
	r := Resource{Type: "Root user", Name: "root user of account " + account, Region: rec.AWSRegion}
	if account != "" {
		r.ARN = partitionARN(rec.AWSRegion, "iam", "", account, "root")
	}
	return r
}

// iamUserResource is an IAM user named in a request. Its ARN is left out
// unless the event carries it: users can have paths the name does not show.
func iamUserResource(rec *cloudtrail.Record, name, arn string) Resource {
	if name == "" {
		name = "(not recorded)"
	}
	return Resource{Type: "IAM user", Name: name, ARN: arn, Region: rec.AWSRegion}
}

// signInResult is what a sign-in event reports about itself: its
// responseElements hold the event name with "Success" or "Failure".
func signInResult(rec *cloudtrail.Record) string {
	return identityString(identityFields(rec.ResponseElements), rec.EventName)
}

// errNoPolicyDocument reports a request without a policy document.
var errNoPolicyDocument = errors.New("the event carries no policy document")

// policyDocumentBytes returns the document CloudTrail recorded in
// requestParameters.policyDocument: usually a JSON string holding the
// document as the caller sent it (with the console's newlines and tabs),
// sometimes URL-encoded as IAM returns documents in its responses, rarely an
// object. ok is false when there is no document.
func policyDocumentBytes(raw json.RawMessage) (doc []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return raw, true
	}
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") && strings.Contains(s, "%") {
		// PathUnescape, not QueryUnescape: a literal "+" in a document
		// must stay a "+".
		if u, err := url.PathUnescape(s); err == nil {
			s = strings.TrimSpace(u)
		}
	}
	return []byte(s), s != ""
}

// parsePolicyDocument parses requestParameters.policyDocument.
func parsePolicyDocument(raw json.RawMessage) (*iampolicy.Policy, error) {
	doc, ok := policyDocumentBytes(raw)
	if !ok {
		return nil, errNoPolicyDocument
	}
	return iampolicy.Parse(doc)
}

// policyDocumentText is a policy document for evidence: compact JSON when it is
// JSON, the text as recorded otherwise, cut to a readable length.
func policyDocumentText(raw json.RawMessage) string {
	doc, _ := policyDocumentBytes(raw)
	return identityClip(compactJSON(doc), 2000)
}

// identityClip cuts s to at most n bytes without splitting a character.
func identityClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// privilegedManagedPolicies are AWS managed policies whose attachment makes
// the principal an administrator, or lets it make itself one.
var privilegedManagedPolicies = map[string]string{
	"AdministratorAccess": "full access to every service",
	"PowerUserAccess":     "full access to every service except IAM and Organizations",
	"IAMFullAccess":       "full control of IAM, enough to grant itself anything",
}

// awsManagedPolicyName returns the name of an AWS managed policy from its
// ARN (arn:aws:iam::aws:policy/NAME, any partition), "" for other ARNs.
func awsManagedPolicyName(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[4] != "aws" {
		return ""
	}
	return strings.TrimPrefix(parts[5], "policy/")
}

// adminGrantOf says why an identity policy statement gives administrator-level
// access: Allow of every action ("*"), of all of IAM ("iam:*"), or of
// everything but a list (NotAction), on every resource. It returns "" for
// other statements. Conditions are not weighed: a condition such as "MFA
// present" does not make such a grant routine.
func adminGrantOf(st iampolicy.Statement) string {
	if !strings.EqualFold(st.Effect, "Allow") {
		return ""
	}
	if !slices.Contains(st.Resource, "*") && len(st.NotResource) == 0 {
		return ""
	}
	for _, a := range st.Action {
		switch strings.ToLower(strings.TrimSpace(a)) {
		case "*", "*:*":
			return "allows every action on every resource"
		case "iam:*":
			return "allows every IAM action on every resource"
		}
	}
	if len(st.NotAction) > 0 && !slices.Contains(st.NotAction, "*") {
		return "allows every action except a few (NotAction) on every resource"
	}
	return ""
}

// trustReach ranks who a role trust policy lets in.
type trustReach int

const (
	// reachAccount: principals of the role's own account, or AWS services.
	reachAccount trustReach = iota + 1
	// reachOther: principals of other accounts, a whole organization, or
	// an identity provider without the claim check that limits it.
	reachOther
	// reachEveryone: any AWS principal anywhere.
	reachEveryone
)

// trustGrant is one Allow statement of a trust policy and how far it reaches.
type trustGrant struct {
	Index     int // 1-based
	Statement iampolicy.Statement
	Reach     trustReach
	// Why explains the reach; it quotes principals and condition keys from
	// the policy, so it belongs in evidence text, not in a label.
	Why string
}

// analyzeTrust rates every Allow statement of a role trust policy for the
// role's account. Deny statements never let anyone in and are skipped.
func analyzeTrust(p *iampolicy.Policy, account string) []trustGrant {
	var out []trustGrant
	for i, st := range p.Statements {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		reach, why := statementReach(st, account)
		out = append(out, trustGrant{Index: i + 1, Statement: st, Reach: reach, Why: why})
	}
	return out
}

func statementReach(st iampolicy.Statement, account string) (trustReach, string) {
	if st.NotPrincipal != nil || st.Principal.Anyone() {
		who := "any AWS principal"
		if st.NotPrincipal != nil {
			who = "every principal not excluded by NotPrincipal"
		}
		reach, by := trustNarrowing(st.Condition, account)
		switch reach {
		case 0:
			why := who + ", with no condition that pins the caller's account, organization or ARN"
			if trustHasConditionKey(st.Condition, "sts:externalid") {
				why += " (an external ID is not such a condition: it is not a secret)"
			}
			return reachEveryone, why
		case reachAccount:
			return reachAccount, who + ", narrowed by " + by + " to this account"
		default:
			return reachOther, who + ", narrowed by " + by + " to principals beyond this account"
		}
	}
	if st.Principal == nil {
		return reachAccount, "no principal"
	}
	reach, why := reachAccount, "principals of this account or AWS services"
	for _, id := range st.Principal.IDs["AWS"] {
		acct := iamPrincipalAccount(id)
		switch {
		case acct == "":
			return reachOther, fmt.Sprintf("AWS principal %s, whose account cannot be told", id)
		case acct != account:
			reach, why = reachOther, "AWS principal of account "+acct
		}
	}
	if reach == reachOther {
		return reach, why
	}
	for _, id := range st.Principal.IDs["Federated"] {
		if r, w := federatedReach(id, st.Condition, account); r > reach {
			reach, why = r, w
		}
	}
	return reach, why
}

// federatedReach rates a web identity or SAML provider principal. Public
// providers let anyone with an account there in unless a claim condition
// narrows them: GitHub's OIDC provider needs a condition on the sub claim
// (the repository), Cognito's on aud (the identity pool).
func federatedReach(id string, cond map[string]map[string][]string, account string) (trustReach, string) {
	lower := strings.ToLower(id)
	switch {
	case strings.HasSuffix(lower, "token.actions.githubusercontent.com"):
		if !trustHasConditionKey(cond, "token.actions.githubusercontent.com:sub") {
			return reachOther, "GitHub's OIDC provider with no condition on the sub claim: any GitHub repository's workflows"
		}
	case lower == "cognito-identity.amazonaws.com":
		if !trustHasConditionKey(cond, "cognito-identity.amazonaws.com:aud") {
			return reachOther, "Amazon Cognito identities with no condition on the aud claim: any identity pool in any account"
		}
	}
	if acct := iamPrincipalAccount(id); acct != "" && acct != account {
		return reachOther, "identity provider of account " + acct
	}
	return reachAccount, "identity provider of this account"
}

// trustNarrowingKeys are the condition keys that pin who may use a statement
// whose principal is everyone, with what their values name.
var trustNarrowingKeys = map[string]string{
	"aws:principalaccount":  "account",
	"aws:sourceaccount":     "account",
	"aws:sourceowner":       "account",
	"aws:principalarn":      "arn",
	"aws:sourcearn":         "arn",
	"aws:principalorgid":    "org",
	"aws:principalorgpaths": "org",
	"aws:sourceorgid":       "org",
	"aws:sourceorgpaths":    "org",
}

// trustNarrowing finds the conditions that pin a "*" principal. Every condition
// must hold, so the most restrictive one decides. It returns 0 when none
// narrows. Negated operators (StringNotEquals), ...IfExists operators (which
// pass when the key is absent) and bare "*" values do not narrow.
func trustNarrowing(cond map[string]map[string][]string, account string) (trustReach, string) {
	var best trustReach
	var by string
	for op, keys := range cond {
		lop := strings.ToLower(op)
		if strings.Contains(lop, "not") || strings.HasSuffix(lop, "ifexists") || lop == "null" || lop == "bool" {
			continue
		}
		for key, values := range keys {
			kind, ok := trustNarrowingKeys[strings.ToLower(key)]
			if !ok || len(values) == 0 || slices.Contains(values, "*") {
				continue
			}
			reach := reachAccount
			if kind == "org" {
				reach = reachOther
			}
			for _, v := range values {
				acct := v
				if kind == "arn" {
					acct = iamPrincipalAccount(v)
				}
				if kind != "org" && acct != account {
					reach = reachOther
				}
			}
			if best == 0 || reach < best {
				best, by = reach, key
			}
		}
	}
	return best, by
}

func trustHasConditionKey(cond map[string]map[string][]string, key string) bool {
	for op, keys := range cond {
		if strings.Contains(strings.ToLower(op), "not") {
			continue
		}
		for k, values := range keys {
			if strings.EqualFold(k, key) && len(values) > 0 && !slices.Contains(values, "*") {
				return true
			}
		}
	}
	return false
}

var awsAccountIDPattern = lazyre.New(`^[0-9]{12}$`)

// iamPrincipalAccount is the account of an AWS principal given as an account
// ID or an IAM or STS ARN; "" when it cannot be told (a unique ID such as
// AROA..., a wildcard in the account field).
func iamPrincipalAccount(id string) string {
	id = strings.TrimSpace(id)
	if awsAccountIDPattern.MatchString(id) {
		return id
	}
	parts := strings.SplitN(id, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && awsAccountIDPattern.MatchString(parts[4]) {
		return parts[4]
	}
	return ""
}

// signInEvents matches AWS sign-in events (eventType AwsConsoleSignIn) with
// the given names.
func signInEvents(names ...any) Pattern {
	return AnyCloudTrail(event.DetailTypeConsoleSignIn).
		Where("eventSource", signinSource).
		Where("eventName", names...)
}

// signInDetails summarizes a sign-in event's additionalEventData for
// evidence, in a fixed order.
func signInDetails(rec *cloudtrail.Record) string {
	extra := identityFields(rec.AdditionalEventData)
	var parts []string
	for _, k := range []string{"MFAUsed", "MFAIdentifier", "LoginTo", "MobileVersion", "SamlProviderArn"} {
		if v := identityString(extra, k); v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return "additionalEventData records none of MFAUsed, MFAIdentifier, LoginTo, MobileVersion, SamlProviderArn"
	}
	return strings.Join(parts, ", ")
}

// identityUpperFirst upper-cases the first letter of a label that starts a headline.
func identityUpperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// identityAddress stands in for a value the event does not record.
func identityAddress(s string) string {
	if s == "" {
		return "an unrecorded address"
	}
	return s
}
