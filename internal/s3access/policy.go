// Package s3access decides whether an S3 change lets the public in: it reads
// bucket policies, ACL grants and Block Public Access settings the way S3
// evaluates them, not by searching strings.
//
// The policy rules follow S3's definition of "public"
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status):
// an Allow statement whose principal is everyone is public unless a condition
// pins it to fixed values of keys that identify an organization, account,
// principal, VPC, VPC endpoint, source IP range or source ARN.
package s3access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Policy is a bucket policy document.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one policy statement. Single values and lists are both
// accepted wherever IAM accepts both.
type Statement struct {
	Sid          string
	Effect       string
	Principal    *Principal
	NotPrincipal *Principal
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Condition maps operator to condition key to values, as written.
	Condition map[string]map[string][]string
	// Raw is the statement's JSON as it appeared in the policy.
	Raw json.RawMessage
}

// Principal is a policy principal: "*" or a map of type to identifiers.
type Principal struct {
	Everyone bool
	IDs      map[string][]string
}

// ErrNotPolicy reports input that is not a policy document.
var ErrNotPolicy = errors.New("not a policy document")

// ParsePolicy reads a policy from JSON. CloudTrail records bucket policies as
// an object; a JSON string holding the policy is accepted too.
func ParsePolicy(data []byte) (*Policy, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var inner string
		if err := json.Unmarshal(data, &inner); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotPolicy, err)
		}
		data = []byte(inner)
	}
	var doc struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotPolicy, err)
	}
	raws, err := oneOrMany(doc.Statement)
	if err != nil {
		return nil, fmt.Errorf("%w: Statement: %w", ErrNotPolicy, err)
	}
	if len(raws) == 0 {
		return nil, fmt.Errorf("%w: no Statement", ErrNotPolicy)
	}
	p := &Policy{Version: doc.Version, ID: doc.ID}
	for i, raw := range raws {
		st, err := parseStatement(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: statement %d: %w", ErrNotPolicy, i+1, err)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func parseStatement(raw json.RawMessage) (Statement, error) {
	var s struct {
		Sid          json.RawMessage            `json:"Sid"`
		Effect       string                     `json:"Effect"`
		Principal    json.RawMessage            `json:"Principal"`
		NotPrincipal json.RawMessage            `json:"NotPrincipal"`
		Action       json.RawMessage            `json:"Action"`
		NotAction    json.RawMessage            `json:"NotAction"`
		Resource     json.RawMessage            `json:"Resource"`
		NotResource  json.RawMessage            `json:"NotResource"`
		Condition    map[string]json.RawMessage `json:"Condition"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return Statement{}, err
	}
	st := Statement{Effect: s.Effect, Raw: raw}
	var err error
	if len(s.Sid) > 0 {
		// Sids are strings, but a number is tolerated and shown as written.
		var sid string
		if json.Unmarshal(s.Sid, &sid) != nil {
			sid = string(s.Sid)
		}
		st.Sid = sid
	}
	if st.Principal, err = parsePrincipal(s.Principal); err != nil {
		return st, fmt.Errorf("Principal: %w", err)
	}
	if st.NotPrincipal, err = parsePrincipal(s.NotPrincipal); err != nil {
		return st, fmt.Errorf("NotPrincipal: %w", err)
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *[]string
	}{
		{"Action", s.Action, &st.Action},
		{"NotAction", s.NotAction, &st.NotAction},
		{"Resource", s.Resource, &st.Resource},
		{"NotResource", s.NotResource, &st.NotResource},
	} {
		if *f.dst, err = stringList(f.raw); err != nil {
			return st, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if len(s.Condition) > 0 {
		st.Condition = make(map[string]map[string][]string, len(s.Condition))
		for op, rawKeys := range s.Condition {
			var keys map[string]json.RawMessage
			if err := json.Unmarshal(rawKeys, &keys); err != nil {
				return st, fmt.Errorf("field Condition %s: %w", op, err)
			}
			st.Condition[op] = make(map[string][]string, len(keys))
			for k, v := range keys {
				vals, err := scalarList(v)
				if err != nil {
					return st, fmt.Errorf("field Condition %s %s: %w", op, k, err)
				}
				st.Condition[op][k] = vals
			}
		}
	}
	return st, nil
}

func parsePrincipal(raw json.RawMessage) (*Principal, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s != "*" {
			return nil, fmt.Errorf("string principal %q is not \"*\"", s)
		}
		return &Principal{Everyone: true}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errors.New("neither \"*\" nor an object")
	}
	p := &Principal{IDs: make(map[string][]string, len(m))}
	for typ, v := range m {
		ids, err := stringList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", typ, err)
		}
		p.IDs[typ] = ids
	}
	return p, nil
}

// Anyone reports whether the principal includes everyone: "*", or "*" among
// the AWS or CanonicalUser identifiers.
func (p *Principal) Anyone() bool {
	if p == nil {
		return false
	}
	if p.Everyone {
		return true
	}
	for typ, ids := range p.IDs {
		if typ != "AWS" && typ != "CanonicalUser" {
			continue
		}
		for _, id := range ids {
			if id == "*" {
				return true
			}
		}
	}
	return false
}

// Access says how much a public grant gives away, from least to most.
type Access int

// Access levels, ordered.
const (
	AccessMetadata    Access = iota + 1 // bucket metadata only (location, ACL, ...)
	AccessRead                          // read or list objects
	AccessWrite                         // write or delete objects
	AccessPermissions                   // change the bucket's policy or ACLs
	AccessAll                           // every action
)

func (a Access) String() string {
	switch a {
	case AccessMetadata:
		return "read bucket metadata"
	case AccessRead:
		return "read objects"
	case AccessWrite:
		return "write and delete objects"
	case AccessPermissions:
		return "change permissions"
	case AccessAll:
		return "every S3 action"
	}
	return "unknown access"
}

// PublicStatement is an Allow statement that lets everyone in.
type PublicStatement struct {
	Index     int // 1-based position in the policy
	Statement Statement
	Access    Access
	// Why explains the verdict in one sentence.
	Why string
}

// RestrictedStatement is an Allow statement with a public principal that a
// condition pins to a known organization, account, network or source.
type RestrictedStatement struct {
	Index     int
	Statement Statement
	// By names the condition that restricts it, e.g. "aws:PrincipalOrgID".
	By string
}

// PolicyVerdict is the result of analyzing a bucket policy.
type PolicyVerdict struct {
	Public     []PublicStatement
	Restricted []RestrictedStatement
}

// IsPublic reports whether any statement lets everyone in.
func (v PolicyVerdict) IsPublic() bool { return len(v.Public) > 0 }

// MaxAccess is the most a public statement gives away.
func (v PolicyVerdict) MaxAccess() Access {
	var max Access
	for _, p := range v.Public {
		if p.Access > max {
			max = p.Access
		}
	}
	return max
}

// Analyze applies S3's definition of a public policy. Deny statements never
// make a bucket public.
func (p *Policy) Analyze() PolicyVerdict {
	var v PolicyVerdict
	for i, st := range p.Statements {
		if st.Effect != "Allow" {
			continue
		}
		anyone := st.Principal.Anyone()
		why := "Principal is everyone (\"*\")"
		if st.NotPrincipal != nil {
			// Allow with NotPrincipal grants everyone outside the list.
			anyone = true
			why = "NotPrincipal with Allow grants everyone not listed"
		}
		if !anyone {
			continue
		}
		if key, ok := restriction(st.Condition); ok {
			v.Restricted = append(v.Restricted, RestrictedStatement{Index: i + 1, Statement: st, By: key})
			continue
		}
		access := statementAccess(st)
		if len(st.Condition) == 0 {
			why += " and there is no condition"
		} else {
			why += " and no condition limits it to an organization, account, VPC, VPC endpoint, IP range or source ARN"
		}
		v.Public = append(v.Public, PublicStatement{Index: i + 1, Statement: st, Access: access, Why: why})
	}
	return v
}

// narrowingKeys are the condition keys that, with fixed values, make a
// statement non-public (lower case; IAM keys are case-insensitive): S3's
// list (PublicAccessBlockConfiguration in the S3 API reference) plus the
// organization and principal keys that pin callers the same way.
var narrowingKeys = map[string]string{
	"aws:principalorgid":        "aws:PrincipalOrgID",
	"aws:principalorgpaths":     "aws:PrincipalOrgPaths",
	"aws:principalaccount":      "aws:PrincipalAccount",
	"aws:principalarn":          "aws:PrincipalArn",
	"aws:userid":                "aws:userid",
	"aws:sourceorgid":           "aws:SourceOrgID",
	"aws:sourceorgpaths":        "aws:SourceOrgPaths",
	"aws:sourceaccount":         "aws:SourceAccount",
	"aws:sourceowner":           "aws:SourceOwner",
	"aws:sourcearn":             "aws:SourceArn",
	"aws:sourcevpc":             "aws:SourceVpc",
	"aws:sourcevpce":            "aws:SourceVpce",
	"aws:sourceip":              "aws:SourceIp",
	"s3:dataaccesspointarn":     "s3:DataAccessPointArn",
	"s3:dataaccesspointaccount": "s3:DataAccessPointAccount",
	"s3:x-amz-server-side-encryption-aws-kms-key-id": "s3:x-amz-server-side-encryption-aws-kms-key-id",
}

// restriction returns the first condition key (in sorted order, so the
// answer is stable) that pins the statement to fixed values.
func restriction(cond map[string]map[string][]string) (string, bool) {
	ops := make([]string, 0, len(cond))
	for op := range cond {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		base, ok := narrowingOperator(op)
		if !ok {
			continue
		}
		keys := make([]string, 0, len(cond[op]))
		for k := range cond[op] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name, known := narrowingKeys[strings.ToLower(k)]
			if !known || !fixedValues(base, strings.ToLower(k), cond[op][k]) {
				continue
			}
			return name, true
		}
	}
	return "", false
}

// narrowingOperator returns the base operator when op can narrow access.
// Negated operators leave everyone else in; IfExists and ForAllValues pass
// when the key is absent, which it is for anonymous requests.
func narrowingOperator(op string) (string, bool) {
	lower := strings.ToLower(op)
	if strings.HasSuffix(lower, "ifexists") || strings.HasPrefix(lower, "forallvalues:") {
		return "", false
	}
	lower = strings.TrimPrefix(lower, "foranyvalue:")
	switch lower {
	case "stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress":
		return lower, true
	}
	return "", false
}

func fixedValues(op, key string, values []string) bool {
	if len(values) == 0 {
		return false
	}
	for _, v := range values {
		if strings.Contains(v, "${") {
			return false // policy variables vary with the caller
		}
		if key == "aws:sourceip" {
			if op != "ipaddress" || !narrowCIDR(v) {
				return false
			}
			continue
		}
		if op == "ipaddress" {
			return false
		}
		if !strings.ContainsAny(v, "*?") {
			continue
		}
		if !fixedPrefix(key, v) {
			return false
		}
	}
	return true
}

// roleSessions is aws:userid's "AROLEID:*": every session of one role,
// which S3 still counts as a fixed value.
var roleSessions = regexp.MustCompile(`^AROA[A-Z0-9]{4,128}:\*$`)

// fixedPrefix accepts wildcards that still pin the value to one
// organization ("o-abc/*"), one account (an ARN whose account is fixed) or
// one role's sessions.
func fixedPrefix(key, v string) bool {
	switch key {
	case "aws:userid":
		return roleSessions.MatchString(v)
	case "aws:principalorgpaths", "aws:sourceorgpaths":
		slash := strings.IndexByte(v, '/')
		wild := strings.IndexAny(v, "*?")
		return strings.HasPrefix(v, "o-") && slash > 2 && slash < wild
	case "aws:principalarn", "aws:sourcearn", "s3:dataaccesspointarn":
		parts := strings.SplitN(v, ":", 6)
		if len(parts) < 6 {
			return false
		}
		acct := parts[4]
		return len(acct) == 12 && !strings.ContainsAny(acct, "*?") && !strings.ContainsAny(parts[0]+parts[1]+parts[2], "*?")
	}
	return false
}

// narrowCIDR reports whether an aws:SourceIp value is narrow enough to count
// as non-public: S3 treats IPv4 ranges wider than /8 and IPv6 ranges wider
// than /32 as public.
func narrowCIDR(v string) bool {
	if addr, err := netip.ParseAddr(v); err == nil {
		return addr.IsValid()
	}
	prefix, err := netip.ParsePrefix(v)
	if err != nil {
		return false
	}
	if prefix.Addr().Is4() {
		return prefix.Bits() >= 8
	}
	return prefix.Bits() >= 32
}

// Representative actions per access level; a statement's action patterns
// are matched against them, so wildcards ("s3:Get*", "s3:*Object") classify
// by what they actually cover.
var accessActions = []struct {
	access  Access
	actions []string
}{
	{AccessPermissions, []string{"s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketAcl", "s3:PutObjectAcl", "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls"}},
	{AccessWrite, []string{"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:RestoreObject", "s3:AbortMultipartUpload", "s3:ReplicateObject", "s3:PutLifecycleConfiguration", "s3:DeleteBucket"}},
	{AccessRead, []string{"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions", "s3:ListMultipartUploadParts"}},
}

func statementAccess(st Statement) Access {
	if len(st.NotAction) > 0 {
		return AccessAll
	}
	best := AccessMetadata
	for _, a := range st.Action {
		la := strings.ToLower(a)
		if la == "*" || la == "s3:*" {
			return AccessAll
		}
		for _, level := range accessActions {
			if level.access <= best {
				continue
			}
			for _, rep := range level.actions {
				if ok, _ := path.Match(la, strings.ToLower(rep)); ok {
					best = level.access
					break
				}
			}
		}
	}
	return best
}

func oneOrMany(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '[' {
		var list []json.RawMessage
		err := json.Unmarshal(raw, &list)
		return list, err
	}
	if raw[0] == '{' {
		return []json.RawMessage{raw}, nil
	}
	return nil, errors.New("neither an object nor a list")
}

func stringList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("neither a string nor a list of strings")
	}
	return many, nil
}

// scalarList reads condition values: a scalar or a list of scalars (strings,
// booleans, numbers), each kept as written.
func scalarList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	var many []json.RawMessage
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &many); err != nil {
			return nil, err
		}
	} else {
		many = []json.RawMessage{raw}
	}
	out := make([]string, 0, len(many))
	for _, v := range many {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out = append(out, s)
			continue
		}
		v = bytes.TrimSpace(v)
		if len(v) == 0 || v[0] == '{' || v[0] == '[' {
			return nil, errors.New("value is not a string, number or boolean")
		}
		out = append(out, string(v))
	}
	return out, nil
}
