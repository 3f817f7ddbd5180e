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
	"net/netip"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/trailwatch/trailwatch/internal/iampolicy"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

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
	Statement iampolicy.Statement
	Access    Access
	// Why explains the verdict in one sentence.
	Why string
}

// RestrictedStatement is an Allow statement with a public principal that a
// condition pins to a known organization, account, network or source.
type RestrictedStatement struct {
	Index     int
	Statement iampolicy.Statement
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

// ParsePolicy reads a bucket policy; see iampolicy.Parse.
func ParsePolicy(data []byte) (*iampolicy.Policy, error) { return iampolicy.Parse(data) }

// AnalyzePolicy applies S3's definition of a public policy. Deny statements
// never make a bucket public.
func AnalyzePolicy(p *iampolicy.Policy) PolicyVerdict {
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
// which S3 still counts as a fixed value. The role ID's length (4 to 128
// after AROA) is checked apart: a counted repetition of 128 compiles to
// 128 copies of its class, paid at every cold start.
var roleSessions = lazyre.New(`^AROA([A-Z0-9]+):\*$`)

func isRoleSessions(v string) bool {
	m := roleSessions.FindStringSubmatch(v)
	return m != nil && len(m[1]) >= 4 && len(m[1]) <= 128
}

// fixedPrefix accepts wildcards that still pin the value to one
// organization ("o-abc/*"), one account (an ARN whose account is fixed) or
// one role's sessions.
func fixedPrefix(key, v string) bool {
	switch key {
	case "aws:userid":
		return isRoleSessions(v)
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

func statementAccess(st iampolicy.Statement) Access {
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

// AccountStatement is an Allow statement that names principals of other
// accounts: the bucket is not public, but someone outside the account can
// reach it.
type AccountStatement struct {
	Index     int // 1-based position in the policy
	Statement iampolicy.Statement
	Accounts  []string // the other accounts, in the order named
	Access    Access
}

// OtherAccounts lists the Allow statements whose AWS principals belong to
// accounts other than own: a 12-digit account ID, or an IAM or STS ARN of
// another account. Statements open to everyone are AnalyzePolicy's; service
// principals and federated identities are not accounts.
func OtherAccounts(p *iampolicy.Policy, own string) []AccountStatement {
	var out []AccountStatement
	for i, st := range p.Statements {
		if st.Effect != "Allow" || st.NotPrincipal != nil || st.Principal == nil || st.Principal.Anyone() {
			continue
		}
		var accounts []string
		for _, id := range st.Principal.IDs["AWS"] {
			acct := principalAccount(id)
			if acct != "" && acct != own && !slices.Contains(accounts, acct) {
				accounts = append(accounts, acct)
			}
		}
		if len(accounts) > 0 {
			out = append(out, AccountStatement{Index: i + 1, Statement: st, Accounts: accounts, Access: statementAccess(st)})
		}
	}
	return out
}

// principalAccount is the account of an AWS principal: the ID itself, or
// the account field of an arn:PARTITION:iam:: or arn:PARTITION:sts:: ARN;
// "" for anything else.
func principalAccount(id string) string {
	if IsAccountID(id) {
		return id
	}
	parts := strings.SplitN(id, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") && (parts[2] == "iam" || parts[2] == "sts") && parts[3] == "" && IsAccountID(parts[4]) {
		return parts[4]
	}
	return ""
}

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
