package detect

// Helpers for the data-sharing, Lambda and Organizations detections:
// s3-bucket-config-changed, ebs-snapshot-public, ami-public,
// rds-snapshot-public, lambda-function-public, organizations-changed and
// organization-left.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/iampolicy"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
	"github.com/trailwatch/trailwatch/internal/s3access"
)

const (
	ec2Source           = "ec2.amazonaws.com"
	rdsSource           = "rds.amazonaws.com"
	lambdaSource        = "lambda.amazonaws.com"
	organizationsSource = "organizations.amazonaws.com"
)

// maxEvidence caps the length of an evidence excerpt: configurations such as
// lifecycle rules can be long, and a message only needs the start of them.
const maxEvidence = 2000

// hiddenValue is what CloudTrail records in place of values it withholds,
// such as the e-mail address of a new account.
const hiddenValue = "HIDDEN_DUE_TO_SECURITY_REASONS"

// jsonString returns raw as a string when it is a JSON string, and "" for
// anything else (absent, null, numbers, objects), so decisions never fail on
// a field of the wrong type.
func jsonString(raw json.RawMessage) string {
	if s, ok := jsonscan.Text(raw); ok && s != hiddenValue {
		return s
	}
	return ""
}

// jsonBool reads a JSON boolean, or the strings "true" and "false", which
// some services record instead.
func jsonBool(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	return strings.EqualFold(jsonString(raw), "true")
}

// jsonStrings reads one string or a list of strings; other values, and
// non-string members of a list, are ignored.
func jsonStrings(raw json.RawMessage) []string {
	if list, err := iampolicy.StringOrList(raw); err == nil {
		return list
	}
	var mixed []json.RawMessage
	if json.Unmarshal(raw, &mixed) != nil {
		return nil
	}
	var out []string
	for _, v := range mixed {
		if s := jsonString(v); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// jsonObjects reads one object or a list of objects; anything else, and
// members of a list that are not objects, are ignored.
func jsonObjects(raw json.RawMessage) []json.RawMessage {
	list, err := iampolicy.ObjectOrList(raw)
	if err != nil {
		return nil
	}
	out := list[:0]
	for _, v := range list {
		if v = bytes.TrimSpace(v); len(v) > 0 && v[0] == '{' {
			out = append(out, v)
		}
	}
	return out
}

// fields decodes a JSON object into its members; anything else decodes to
// an empty map.
func fields(raw json.RawMessage) map[string]json.RawMessage {
	if m, ok := jsonscan.Members(raw); ok {
		return m
	}
	return map[string]json.RawMessage{}
}

// field returns the member of an object whose name matches key, ignoring
// case: CloudTrail spells the same parameter differently across services
// and API versions ("dBSnapshotIdentifier", "dbSnapshotIdentifier").
func field(m map[string]json.RawMessage, key string) json.RawMessage {
	if v, ok := m[key]; ok {
		return v
	}
	// Several spellings in one object: take the first in sorted order, so
	// the decision does not depend on map iteration.
	match := ""
	for k := range m {
		if strings.EqualFold(k, key) && (match == "" || k < match) {
			match = k
		}
	}
	if match == "" {
		return nil
	}
	return m[match]
}

// excerpt is compact JSON for an evidence text, clipped to maxEvidence.
func excerpt(raw json.RawMessage) string {
	return clip(compactJSON(raw), maxEvidence)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the excerpt stays valid UTF-8.
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}

// isAccountID reports whether s is a 12-digit AWS account ID.
func isAccountID(s string) bool { return s3access.IsAccountID(s) }

// resourceARN is name when it already is an ARN, else the ARN built from
// the parts.
func resourceARN(name, region, service, arnRegion, account, resource string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	if name == "" {
		return ""
	}
	return partitionARN(region, service, arnRegion, account, resource)
}

// Sharing is who a permission change (an EBS snapshot's create-volume
// permission, an AMI's launch permission, an RDS snapshot's restore
// attribute) newly lets in.
type Sharing struct {
	// Public is set when the change adds the group "all": every AWS account.
	Public bool
	// Accounts are the other AWS accounts added, sorted.
	Accounts []string
	// Groups are organizations and organizational units added (AMIs only),
	// which may or may not be the account's own.
	Groups []string
}

// Any reports whether the change lets anyone new in.
func (s Sharing) Any() bool { return s.Public || len(s.Accounts) > 0 || len(s.Groups) > 0 }

// Severity ranks the sharing: public is critical, another account medium
// (a copy of the data can leave), an organization or OU low (usually the
// account's own).
func (s Sharing) Severity() Severity {
	switch {
	case s.Public:
		return SeverityCritical
	case len(s.Accounts) > 0:
		return SeverityMedium
	}
	return SeverityLow
}

// Audience names who was let in, for headlines: "everyone (all AWS
// accounts)", "account 444455556666", ...
func (s Sharing) Audience() string {
	var parts []string
	if s.Public {
		parts = append(parts, "everyone (all AWS accounts)")
	}
	switch len(s.Accounts) {
	case 0:
	case 1:
		parts = append(parts, "account "+s.Accounts[0])
	default:
		parts = append(parts, "accounts "+strings.Join(s.Accounts, ", "))
	}
	if len(s.Groups) > 0 {
		parts = append(parts, strings.Join(s.Groups, ", "))
	}
	return strings.Join(parts, " and ")
}

// add records one grantee, ignoring the event's own account, which always
// has access.
func (s *Sharing) add(grantee, own string) {
	switch {
	case grantee == "":
	case strings.EqualFold(grantee, "all"):
		s.Public = true
	case grantee == own:
	default:
		if !slices.Contains(s.Accounts, grantee) {
			s.Accounts = append(s.Accounts, grantee)
			slices.Sort(s.Accounts)
		}
	}
}

// ec2PermissionAdds reads who an EC2 ModifySnapshotAttribute or
// ModifyImageAttribute request adds to a permission. CloudTrail records
// {"add": {"items": [{"group": "all"}, {"userId": "..."}]}, "remove": {...}};
// a bare list under "add" and a single item instead of a list are accepted
// too. Removals never share anything and are ignored.
func ec2PermissionAdds(permission json.RawMessage, own string) Sharing {
	var s Sharing
	add := field(fields(permission), "add")
	items := jsonObjects(field(fields(add), "items"))
	if len(items) == 0 {
		items = jsonObjects(add)
	}
	for _, it := range items {
		m := fields(it)
		if g := jsonString(field(m, "group")); strings.EqualFold(g, "all") {
			s.Public = true
		}
		s.add(jsonString(field(m, "userId")), own)
		for _, key := range []string{"organizationArn", "organizationalUnitArn"} {
			if arn := jsonString(field(m, key)); arn != "" && !slices.Contains(s.Groups, arn) {
				s.Groups = append(s.Groups, arn)
			}
		}
	}
	return s
}

// sharingFinding describes a permission change that shares a snapshot or
// image: what labels the resource ("EBS snapshot snap-0abc"), setting names
// the permission ("Create volume permission").
func sharingFinding(rec *cloudtrail.Record, s Sharing, res Resource, what, setting string) Finding {
	f := Finding{Severity: s.Severity(), Resource: res}
	if s.Public {
		f.Changes = append(f.Changes, Change{Setting: setting + ": group all (every AWS account)", Before: NotRecorded, After: "granted"})
	}
	for _, a := range s.Accounts {
		f.Changes = append(f.Changes, Change{Setting: setting + ": account " + a, Before: NotRecorded, After: "granted"})
	}
	for _, g := range s.Groups {
		f.Changes = append(f.Changes, Change{Setting: setting + ": " + g, Before: NotRecorded, After: "granted"})
	}
	done := fmt.Sprintf("%s shared with %s", what, s.Audience())
	if s.Public {
		done = fmt.Sprintf("%s made public: every AWS account can use it", what)
		if len(s.Accounts) > 0 || len(s.Groups) > 0 {
			done = fmt.Sprintf("%s made public and shared with %s", what, Sharing{Accounts: s.Accounts, Groups: s.Groups}.Audience())
		}
	}
	return outcome(f, rec, done, fmt.Sprintf("share %s with %s", what, s.Audience()))
}

// replicationDestination is one rule of a bucket replication configuration.
type replicationDestination struct {
	Rule    string // rule ID
	Bucket  string // destination bucket ARN
	Account string // destination account, when the rule names it
	Enabled bool
	Raw     json.RawMessage
}

// replicationDestinations reads the rules of a PutBucketReplication request:
// requestParameters.ReplicationConfiguration.Rule, one object or a list
// (also accepted as "Rules"), each with Destination.Bucket and, when the
// destination bucket belongs to another account and ownership is handed
// over, Destination.Account.
func replicationDestinations(requestParameters json.RawMessage) []replicationDestination {
	cfg := fields(field(fields(requestParameters), "ReplicationConfiguration"))
	rules := jsonObjects(field(cfg, "Rule"))
	if len(rules) == 0 {
		rules = jsonObjects(field(cfg, "Rules"))
	}
	var out []replicationDestination
	for _, raw := range rules {
		r := fields(raw)
		dest := fields(field(r, "Destination"))
		out = append(out, replicationDestination{
			Rule:    jsonString(field(r, "ID")),
			Bucket:  jsonString(field(dest, "Bucket")),
			Account: jsonString(field(dest, "Account")),
			Enabled: !strings.EqualFold(jsonString(field(r, "Status")), "Disabled"),
			Raw:     raw,
		})
	}
	return out
}

// bucketName turns a destination bucket ARN into the bucket's name.
func bucketName(arn string) string {
	if i := strings.LastIndex(arn, ":::"); i >= 0 {
		return arn[i+3:]
	}
	return arn
}

// lambdaGrant is what an AddPermission request adds to a function's
// resource-based policy.
type lambdaGrant struct {
	Function      string
	StatementID   string
	Action        string
	Principal     string
	SourceARN     string
	SourceAccount string
	PrincipalOrg  string
	URLAuthType   string // functionUrlAuthType: the grant only covers the function URL
	ViaURL        bool   // invokedViaFunctionUrl
}

func parseLambdaGrant(requestParameters json.RawMessage) lambdaGrant {
	m := fields(requestParameters)
	return lambdaGrant{
		Function:      jsonString(field(m, "functionName")),
		StatementID:   jsonString(field(m, "statementId")),
		Action:        jsonString(field(m, "action")),
		Principal:     jsonString(field(m, "principal")),
		SourceARN:     jsonString(field(m, "sourceArn")),
		SourceAccount: jsonString(field(m, "sourceAccount")),
		PrincipalOrg:  jsonString(field(m, "principalOrgID")),
		URLAuthType:   jsonString(field(m, "functionUrlAuthType")),
		ViaURL:        jsonBool(field(m, "invokedViaFunctionUrl")),
	}
}

// scoped reports whether a condition pins the grant to one source resource,
// account or organization.
func (g lambdaGrant) scoped() bool {
	return g.SourceARN != "" || g.SourceAccount != "" || g.PrincipalOrg != ""
}

// exposure judges the grant: who it lets invoke the function and how
// severe that is. ok is false for grants that stay within known bounds
// (another account, a service pinned to a source, any grant scoped by
// source or organization).
func (g lambdaGrant) exposure() (who string, sev Severity, ok bool) {
	if g.scoped() {
		return "", 0, false
	}
	switch {
	case g.Principal == "*":
		if strings.EqualFold(g.URLAuthType, "NONE") || g.ViaURL {
			return "anyone on the internet, through its function URL", SeverityHigh, true
		}
		return "anyone (principal *)", SeverityCritical, true
	case strings.HasSuffix(g.Principal, ".amazonaws.com") || strings.HasSuffix(g.Principal, ".amazonaws.com.cn"):
		return fmt.Sprintf("the %s service on behalf of any account (no source ARN or account)", g.Principal), SeverityLow, true
	}
	return "", 0, false
}

func lambdaFunctionResource(rec *cloudtrail.Record, function string) Resource {
	name := function
	if strings.HasPrefix(name, "arn:") {
		// arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
		if parts := strings.Split(name, ":"); len(parts) >= 7 {
			name = parts[6]
		}
	}
	return Resource{
		Type:   "Lambda function",
		Name:   name,
		ARN:    resourceARN(function, rec.AWSRegion, "lambda", rec.AWSRegion, rec.Account(), "function:"+name),
		Region: rec.AWSRegion,
	}
}

func functionLabel(name string) string {
	if name == "" {
		return "an unnamed Lambda function"
	}
	return "Lambda function " + name
}

// orgChange is the judgement of one AWS Organizations API call.
type orgChange struct {
	Severity Severity
	Resource Resource
	Done     string // headline when the call succeeded
	Tried    string // what the caller tried, for failed calls
	Changes  []Change
	Evidence []Evidence
}

// fullAccessPolicies are the AWS managed policies that allow everything:
// detaching one restricts accounts rather than freeing them.
var fullAccessPolicies = []string{"p-FullAWSAccess", "p-RCPFullAWSAccess"}

// describeOrgChange judges an Organizations call recorded in rec. ok is
// false for calls organizations-changed does not cover.
func describeOrgChange(rec *cloudtrail.Record) (orgChange, bool) {
	rp := fields(rec.RequestParameters)
	resp := fields(rec.ResponseElements)
	account := rec.Account()
	get := func(key string) string { return jsonString(field(rp, key)) }
	c := orgChange{Resource: Resource{Type: "AWS organization", Name: "organization of account " + account, Region: rec.AWSRegion}}
	params := func(label string) {
		if len(rp) > 0 {
			c.Evidence = append(c.Evidence, Evidence{Label: label, Text: excerpt(rec.RequestParameters)})
		}
	}
	policy := func(id string) {
		summary := fields(field(fields(field(resp, "policy")), "policySummary"))
		name := id
		if name == "" {
			name = jsonString(field(summary, "id"))
		}
		c.Resource = Resource{Type: "Organizations policy", Name: name, ARN: jsonString(field(summary, "arn")), Region: rec.AWSRegion}
	}
	target := func(id string) string {
		switch {
		case id == "":
			return "an unnamed target"
		case strings.HasPrefix(id, "r-"):
			return "root " + id
		case strings.HasPrefix(id, "ou-"):
			return "OU " + id
		case isAccountID(id):
			return "account " + id
		}
		return id
	}

	switch rec.EventName {
	case "LeaveOrganization":
		c.Severity = SeverityCritical
		c.Resource = Resource{Type: "AWS account", Name: account, Region: rec.AWSRegion}
		c.Done = fmt.Sprintf("Account %s left its AWS organization: service control policies and the organization trail no longer apply to it", account)
		c.Tried = fmt.Sprintf("take account %s out of its AWS organization", account)
		c.Changes = []Change{{Setting: "Organization membership", Before: "member", After: "standalone account"}}
	case "RemoveAccountFromOrganization":
		id := get("accountId")
		c.Severity = SeverityHigh
		c.Resource = Resource{Type: "AWS account", Name: id, Region: rec.AWSRegion}
		c.Done = fmt.Sprintf("%s removed from the organization: its service control policies and the organization trail no longer apply", target(id))
		c.Tried = fmt.Sprintf("remove %s from the organization", target(id))
		c.Changes = []Change{{Setting: "Organization membership", Before: "member", After: "standalone account"}}
	case "DeleteOrganization":
		c.Severity = SeverityHigh
		c.Done = fmt.Sprintf("AWS organization of management account %s deleted", account)
		c.Tried = "delete the AWS organization"
		c.Changes = []Change{{Setting: "Organization", Before: "exists", After: "deleted"}}
	case "DisablePolicyType":
		root, typ := get("rootId"), get("policyType")
		c.Severity = SeverityHigh
		c.Resource = Resource{Type: "Organization root", Name: root, ARN: jsonString(field(fields(field(resp, "root")), "arn")), Region: rec.AWSRegion}
		c.Done = fmt.Sprintf("Policy type %s disabled on %s: every policy of that type is detached from the whole organization", orUnknown(typ), target(root))
		c.Tried = fmt.Sprintf("disable policy type %s on %s", orUnknown(typ), target(root))
		c.Changes = []Change{{Setting: "Policy type " + orUnknown(typ), Before: "enabled", After: "disabled"}}
	case "EnablePolicyType":
		root, typ := get("rootId"), get("policyType")
		c.Severity = SeverityLow
		c.Resource = Resource{Type: "Organization root", Name: root, ARN: jsonString(field(fields(field(resp, "root")), "arn")), Region: rec.AWSRegion}
		c.Done = fmt.Sprintf("Policy type %s enabled on %s", orUnknown(typ), target(root))
		c.Tried = fmt.Sprintf("enable policy type %s on %s", orUnknown(typ), target(root))
		c.Changes = []Change{{Setting: "Policy type " + orUnknown(typ), Before: "disabled", After: "enabled"}}
	case "DetachPolicy":
		id, tgt := get("policyId"), get("targetId")
		policy(id)
		c.Severity = SeverityHigh
		c.Done = fmt.Sprintf("Policy %s detached from %s: the guardrails it enforced no longer apply there", orUnknown(id), target(tgt))
		if slices.Contains(fullAccessPolicies, id) {
			// Detaching the allow-all policy restricts the target (and can
			// break it) rather than freeing it.
			c.Severity = SeverityMedium
			c.Done = fmt.Sprintf("Allow-all policy %s detached from %s: accounts there may lose access", id, target(tgt))
		}
		c.Tried = fmt.Sprintf("detach policy %s from %s", orUnknown(id), target(tgt))
		c.Changes = []Change{{Setting: "Policy " + orUnknown(id) + " on " + target(tgt), Before: "attached", After: "detached"}}
		params("Detached policy and target (the event does not record the policy type)")
	case "AttachPolicy":
		id, tgt := get("policyId"), get("targetId")
		policy(id)
		c.Severity = SeverityMedium
		c.Done = fmt.Sprintf("Policy %s attached to %s", orUnknown(id), target(tgt))
		c.Tried = fmt.Sprintf("attach policy %s to %s", orUnknown(id), target(tgt))
		c.Changes = []Change{{Setting: "Policy " + orUnknown(id) + " on " + target(tgt), Before: "not attached", After: "attached"}}
	case "CreatePolicy", "UpdatePolicy":
		id := get("policyId")
		policy(id)
		summary := fields(field(fields(field(resp, "policy")), "policySummary"))
		typ := get("type")
		if typ == "" {
			typ = jsonString(field(summary, "type"))
		}
		name := get("name")
		if name == "" {
			name = jsonString(field(summary, "name"))
		}
		kind := policyKind(typ)
		label := kind + " " + orUnknown(firstNonEmpty(name, c.Resource.Name))
		if content := field(rp, "content"); len(content) > 0 {
			c.Evidence = append(c.Evidence, policyContentEvidence(content))
		}
		if rec.EventName == "CreatePolicy" {
			// A new policy has no effect until it is attached.
			c.Severity = SeverityLow
			c.Done = capitalize(label) + " created"
			c.Tried = "create " + label
			c.Changes = []Change{{Setting: "Policy " + orUnknown(name), Before: "", After: "created"}}
			break
		}
		c.Severity = SeverityMedium
		c.Done = capitalize(label) + " changed: the new content applies at once wherever it is attached"
		c.Tried = "change " + label
		after := "changed"
		if len(field(rp, "content")) > 0 {
			after = "new content (see evidence)"
		}
		c.Changes = []Change{{Setting: "Policy " + orUnknown(firstNonEmpty(id, name)), Before: NotRecorded, After: after}}
	case "DeletePolicy":
		id := get("policyId")
		policy(id)
		// Organizations refuses to delete an attached policy, so a delete
		// changes nothing that applies.
		c.Severity = SeverityLow
		c.Done = fmt.Sprintf("Organizations policy %s deleted", orUnknown(id))
		c.Tried = fmt.Sprintf("delete Organizations policy %s", orUnknown(id))
		c.Changes = []Change{{Setting: "Policy " + orUnknown(id), Before: "exists", After: "deleted"}}
	case "MoveAccount":
		id, from, to := get("accountId"), get("sourceParentId"), get("destinationParentId")
		c.Severity = SeverityMedium
		c.Resource = Resource{Type: "AWS account", Name: id, Region: rec.AWSRegion}
		c.Done = fmt.Sprintf("%s moved from %s to %s: it now inherits the destination's policies", target(id), target(from), target(to))
		c.Tried = fmt.Sprintf("move %s to %s", target(id), target(to))
		c.Changes = []Change{{Setting: "Parent of " + target(id), Before: orNotRecorded(from), After: orUnknown(to)}}
	case "CreateAccount":
		name := get("accountName")
		status := fields(field(resp, "createAccountStatus"))
		c.Severity = SeverityMedium
		c.Resource = Resource{Type: "AWS account", Name: firstNonEmpty(name, jsonString(field(status, "accountId")), "new account"), Region: rec.AWSRegion}
		c.Done = "New AWS account requested in the organization"
		if name != "" {
			c.Done = fmt.Sprintf("New AWS account %s requested in the organization", name)
		}
		c.Tried = "create an AWS account in the organization"
		c.Changes = []Change{{Setting: "Accounts in the organization", Before: "", After: "one more (creation requested)"}}
		if role := get("roleName"); role != "" {
			c.Evidence = append(c.Evidence, Evidence{Label: "Administrator role the new account trusts the management account with", Text: role})
		}
	case "InviteAccountToOrganization":
		tgt := fields(field(rp, "target"))
		id := jsonString(field(tgt, "id"))
		c.Severity = SeverityMedium
		c.Resource = Resource{Type: "AWS account", Name: id, Region: rec.AWSRegion}
		c.Done = fmt.Sprintf("%s invited to join the organization", target(id))
		c.Tried = fmt.Sprintf("invite %s to the organization", target(id))
		c.Changes = []Change{{Setting: "Pending invitations", Before: "", After: target(id)}}
	case "AcceptHandshake", "DeclineHandshake":
		id := get("handshakeId")
		hs := fields(field(resp, "handshake"))
		action := jsonString(field(hs, "action"))
		c.Resource = Resource{Type: "Organizations handshake", Name: id, ARN: jsonString(field(hs, "arn")), Region: rec.AWSRegion}
		what := "handshake " + orUnknown(id)
		if action != "" {
			what = action + " " + what
		}
		if rec.EventName == "AcceptHandshake" {
			// Accepting an invitation puts the account under another
			// management account's control.
			c.Severity = SeverityMedium
			c.Done = fmt.Sprintf("Account %s accepted %s", account, what)
			c.Tried = fmt.Sprintf("accept %s", what)
			c.Changes = []Change{{Setting: "Handshake " + orUnknown(id), Before: "open", After: "accepted"}}
		} else {
			c.Severity = SeverityLow
			c.Done = fmt.Sprintf("Account %s declined %s", account, what)
			c.Tried = fmt.Sprintf("decline %s", what)
			c.Changes = []Change{{Setting: "Handshake " + orUnknown(id), Before: "open", After: "declined"}}
		}
		if len(hs) > 0 {
			c.Evidence = append(c.Evidence, Evidence{Label: "Handshake", Text: excerpt(field(resp, "handshake"))})
		}
	case "CreateOrganizationalUnit":
		parent, name := get("parentId"), get("name")
		ou := fields(field(resp, "organizationalUnit"))
		c.Severity = SeverityLow
		c.Resource = Resource{Type: "Organizational unit", Name: firstNonEmpty(name, jsonString(field(ou, "id"))), ARN: jsonString(field(ou, "arn")), Region: rec.AWSRegion}
		c.Done = fmt.Sprintf("Organizational unit %s created under %s", orUnknown(name), target(parent))
		c.Tried = fmt.Sprintf("create organizational unit %s", orUnknown(name))
		c.Changes = []Change{{Setting: "Organizational units under " + target(parent), Before: "", After: "added " + orUnknown(name)}}
	case "DeleteOrganizationalUnit":
		id := get("organizationalUnitId")
		c.Severity = SeverityLow
		c.Resource = Resource{Type: "Organizational unit", Name: id, Region: rec.AWSRegion}
		c.Done = fmt.Sprintf("Organizational unit %s deleted", orUnknown(id))
		c.Tried = fmt.Sprintf("delete organizational unit %s", orUnknown(id))
		c.Changes = []Change{{Setting: "Organizational unit " + orUnknown(id), Before: "exists", After: "deleted"}}
	case "UpdateOrganizationalUnit":
		id, name := get("organizationalUnitId"), get("name")
		c.Severity = SeverityLow
		c.Resource = Resource{Type: "Organizational unit", Name: id, Region: rec.AWSRegion}
		c.Done = fmt.Sprintf("Organizational unit %s renamed to %s", orUnknown(id), orUnknown(name))
		c.Tried = fmt.Sprintf("rename organizational unit %s", orUnknown(id))
		c.Changes = []Change{{Setting: "Name of " + orUnknown(id), Before: NotRecorded, After: orUnknown(name)}}
	default:
		return orgChange{}, false
	}
	return c, true
}

// policyContentEvidence shows the content of an Organizations policy. For
// policies in IAM syntax (service and resource control policies) the label
// counts the statements and the Deny statements among them.
func policyContentEvidence(content json.RawMessage) Evidence {
	text := jsonString(content)
	if text == "" {
		text = string(content)
	}
	ev := Evidence{Label: "New policy content", Text: clip(compactJSON([]byte(text)), maxEvidence)}
	p, err := iampolicy.Parse(content)
	if err != nil {
		return ev
	}
	deny := 0
	for _, st := range p.Statements {
		if strings.EqualFold(st.Effect, "Deny") {
			deny++
		}
	}
	ev.Label = fmt.Sprintf("New policy content: %d statement(s), %d of them Deny", len(p.Statements), deny)
	return ev
}

// policyKind names an Organizations policy type for headlines.
func policyKind(typ string) string {
	switch typ {
	case "SERVICE_CONTROL_POLICY":
		return "service control policy"
	case "RESOURCE_CONTROL_POLICY":
		return "resource control policy"
	case "TAG_POLICY":
		return "tag policy"
	case "BACKUP_POLICY":
		return "backup policy"
	case "AISERVICES_OPT_OUT_POLICY":
		return "AI services opt-out policy"
	case "":
		return "Organizations policy"
	}
	return "Organizations policy (" + typ + ")"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func orUnknown(s string) string {
	if s == "" {
		return "(not recorded)"
	}
	return s
}

func orNotRecorded(s string) string {
	if s == "" {
		return NotRecorded
	}
	return s
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
