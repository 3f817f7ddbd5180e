package s3access

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/trailwatch/trailwatch/internal/iampolicy"
)

// Grantee groups that make an ACL public.
const (
	AllUsersURI           = "http://acs.amazonaws.com/groups/global/AllUsers"
	AuthenticatedUsersURI = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
)

// ACLGrant is one public grant found in an ACL change.
type ACLGrant struct {
	// Group is "AllUsers" (anyone on the internet) or "AuthenticatedUsers"
	// (anyone with any AWS account).
	Group      string
	Permission string // READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL
	// Via says how it was granted: "grant in the request body", "canned ACL
	// public-read" or "x-amz-grant-read header".
	Via string
}

// Access classifies the grant like a policy statement.
func (g ACLGrant) Access() Access {
	switch g.Permission {
	case "FULL_CONTROL":
		return AccessAll
	case "WRITE_ACP":
		return AccessPermissions
	case "WRITE":
		return AccessWrite
	case "READ":
		return AccessRead
	default:
		return AccessMetadata
	}
}

// ACLVerdict is the result of analyzing PutBucketAcl or CreateBucket
// request parameters.
type ACLVerdict struct {
	CannedACL string
	Public    []ACLGrant
}

// IsPublic reports whether the change grants anything to AllUsers or
// AuthenticatedUsers.
func (v ACLVerdict) IsPublic() bool { return len(v.Public) > 0 }

// MaxAccess is the most a public grant gives away.
func (v ACLVerdict) MaxAccess() Access {
	var max Access
	for _, g := range v.Public {
		if a := g.Access(); a > max {
			max = a
		}
	}
	return max
}

var cannedGrants = map[string][]ACLGrant{
	"public-read":        {{Group: "AllUsers", Permission: "READ"}},
	"public-read-write":  {{Group: "AllUsers", Permission: "READ"}, {Group: "AllUsers", Permission: "WRITE"}},
	"authenticated-read": {{Group: "AuthenticatedUsers", Permission: "READ"}},
}

var grantHeaders = []struct{ header, permission string }{
	{"x-amz-grant-full-control", "FULL_CONTROL"},
	{"x-amz-grant-write-acp", "WRITE_ACP"},
	{"x-amz-grant-write", "WRITE"},
	{"x-amz-grant-read-acp", "READ_ACP"},
	{"x-amz-grant-read", "READ"},
}

// AnalyzeACL reads the ACL that a PutBucketAcl (or CreateBucket) request
// sets: a canned ACL header, grant headers, or an AccessControlPolicy body
// whose Grant is one object or a list.
func AnalyzeACL(requestParameters json.RawMessage) (ACLVerdict, error) {
	var v ACLVerdict
	var rp map[string]json.RawMessage
	if err := json.Unmarshal(requestParameters, &rp); err != nil {
		return v, fmt.Errorf("request parameters: %w", err)
	}
	if raw, ok := rp["x-amz-acl"]; ok {
		vals, err := iampolicy.StringOrList(raw)
		if err != nil {
			return v, fmt.Errorf("x-amz-acl: %w", err)
		}
		if len(vals) > 0 {
			v.CannedACL = strings.ToLower(strings.TrimSpace(vals[0]))
			for _, g := range cannedGrants[v.CannedACL] {
				g.Via = "canned ACL " + v.CannedACL
				v.Public = append(v.Public, g)
			}
		}
	}
	for _, h := range grantHeaders {
		raw, ok := rp[h.header]
		if !ok {
			continue
		}
		vals, err := iampolicy.StringOrList(raw)
		if err != nil {
			return v, fmt.Errorf("%s: %w", h.header, err)
		}
		for _, val := range vals {
			for _, group := range groupsInHeader(val) {
				v.Public = append(v.Public, ACLGrant{Group: group, Permission: h.permission, Via: h.header + " header"})
			}
		}
	}
	if raw, ok := rp["AccessControlPolicy"]; ok {
		grants, err := bodyGrants(raw)
		if err != nil {
			return v, fmt.Errorf("AccessControlPolicy: %w", err)
		}
		v.Public = append(v.Public, grants...)
	}
	sort.SliceStable(v.Public, func(i, j int) bool { return v.Public[i].Access() > v.Public[j].Access() })
	return v, nil
}

func bodyGrants(raw json.RawMessage) ([]ACLGrant, error) {
	var acp struct {
		AccessControlList *struct {
			Grant json.RawMessage `json:"Grant"`
		} `json:"AccessControlList"`
	}
	if err := json.Unmarshal(raw, &acp); err != nil {
		return nil, err
	}
	if acp.AccessControlList == nil {
		return nil, nil
	}
	items, err := iampolicy.ObjectOrList(acp.AccessControlList.Grant)
	if err != nil {
		return nil, fmt.Errorf("field Grant: %w", err)
	}
	var out []ACLGrant
	for i, item := range items {
		var g struct {
			Grantee map[string]json.RawMessage `json:"Grantee"`
			// CloudTrail records the permission as written; tolerate any case.
			Permission string `json:"Permission"`
		}
		if err := json.Unmarshal(item, &g); err != nil {
			return nil, fmt.Errorf("field Grant %d: %w", i+1, err)
		}
		var uri string
		for k, val := range g.Grantee {
			if strings.EqualFold(k, "URI") {
				_ = json.Unmarshal(val, &uri)
			}
		}
		if group := groupForURI(uri); group != "" {
			out = append(out, ACLGrant{Group: group, Permission: strings.ToUpper(g.Permission), Via: "grant in the request body"})
		}
	}
	return out, nil
}

// groupsInHeader parses a grant header value such as
// `uri="http://acs.amazonaws.com/groups/global/AllUsers", id="..."`.
func groupsInHeader(val string) []string {
	var groups []string
	for _, part := range strings.Split(val, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "uri") {
			continue
		}
		if g := groupForURI(strings.Trim(strings.TrimSpace(v), `"'`)); g != "" {
			groups = append(groups, g)
		}
	}
	return groups
}

func groupForURI(uri string) string {
	u := strings.TrimSpace(uri)
	u = strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
	switch strings.TrimSuffix(u, "/") {
	case strings.TrimPrefix(AllUsersURI, "http://"):
		return "AllUsers"
	case strings.TrimPrefix(AuthenticatedUsersURI, "http://"):
		return "AuthenticatedUsers"
	}
	return ""
}

// PublicAccessBlock is an S3 Block Public Access configuration.
type PublicAccessBlock struct {
	BlockPublicAcls       bool
	IgnorePublicAcls      bool
	BlockPublicPolicy     bool
	RestrictPublicBuckets bool
}

// Setting is one named flag of a PublicAccessBlock.
type Setting struct {
	Name string
	On   bool
}

// Settings lists the four flags in S3's order.
func (p PublicAccessBlock) Settings() []Setting {
	return []Setting{
		{"BlockPublicAcls", p.BlockPublicAcls},
		{"IgnorePublicAcls", p.IgnorePublicAcls},
		{"BlockPublicPolicy", p.BlockPublicPolicy},
		{"RestrictPublicBuckets", p.RestrictPublicBuckets},
	}
}

// Off lists the flags that are turned off.
func (p PublicAccessBlock) Off() []string {
	var off []string
	for _, s := range p.Settings() {
		if !s.On {
			off = append(off, s.Name)
		}
	}
	return off
}

// ParsePublicAccessBlock reads the PublicAccessBlockConfiguration of a
// PutBucketPublicAccessBlock or PutAccountPublicAccessBlock request. A flag
// the request leaves out is off: that is S3's default. ok is false when the
// request carries no configuration at all.
func ParsePublicAccessBlock(requestParameters json.RawMessage) (cfg PublicAccessBlock, ok bool, err error) {
	var rp struct {
		Config json.RawMessage `json:"PublicAccessBlockConfiguration"`
	}
	if err := json.Unmarshal(requestParameters, &rp); err != nil {
		return cfg, false, fmt.Errorf("request parameters: %w", err)
	}
	if len(bytes.TrimSpace(rp.Config)) == 0 || string(rp.Config) == "null" {
		return cfg, false, nil
	}
	var flags map[string]json.RawMessage
	if err := json.Unmarshal(rp.Config, &flags); err != nil {
		return cfg, false, fmt.Errorf("PublicAccessBlockConfiguration: %w", err)
	}
	dst := map[string]*bool{
		"blockpublicacls":       &cfg.BlockPublicAcls,
		"ignorepublicacls":      &cfg.IgnorePublicAcls,
		"blockpublicpolicy":     &cfg.BlockPublicPolicy,
		"restrictpublicbuckets": &cfg.RestrictPublicBuckets,
	}
	for k, raw := range flags {
		p, known := dst[strings.ToLower(k)]
		if !known {
			continue
		}
		b, err := flexBool(raw)
		if err != nil {
			return cfg, false, fmt.Errorf("PublicAccessBlockConfiguration.%s: %w", k, err)
		}
		*p = b
	}
	return cfg, true, nil
}

// flexBool reads true/false written as a JSON boolean or string.
func flexBool(raw json.RawMessage) (bool, error) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, nil
		case "false", "":
			return false, nil
		}
	}
	return false, fmt.Errorf("%s is not a boolean", truncate(string(raw), 40))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
