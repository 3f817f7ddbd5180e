// Package iampolicy parses AWS IAM policy documents: identity policies,
// resource policies such as S3 bucket policies, and role trust policies.
// Single values and lists are accepted wherever IAM accepts both; condition
// values are kept as written.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Policy is an IAM policy document.
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

// Parse reads a policy from JSON. CloudTrail records most policies as an
// object; a JSON string holding the policy (as IAM events carry
// policyDocument) is accepted too.
func Parse(data []byte) (*Policy, error) {
	if p, ok := scanPolicy(data); ok {
		return p, nil
	}
	return parse(data)
}

// parse is Parse with encoding/json: the reference scanPolicy follows, and
// the path for everything scanPolicy leaves (errors included).
func parse(data []byte) (*Policy, error) {
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
	raws, err := ObjectOrList(doc.Statement)
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
		if *f.dst, err = StringOrList(f.raw); err != nil {
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
	if isString(raw) && json.Unmarshal(raw, &s) == nil {
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
		ids, err := StringOrList(v)
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

// ObjectOrList splits a JSON value that IAM allows to be one object or a
// list of objects.
func ObjectOrList(raw json.RawMessage) ([]json.RawMessage, error) {
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

// StringOrList reads a JSON value that IAM allows to be one string or a
// list of strings.
func StringOrList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if isString(raw) && json.Unmarshal(raw, &one) == nil {
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
		if isString(v) && json.Unmarshal(v, &s) == nil {
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

// isString reports whether a JSON value is a string, so other values skip
// a decoding attempt that could only fail (and allocate its error).
func isString(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '"'
}
