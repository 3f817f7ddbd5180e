package iampolicy

import (
	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

var (
	documentKeys  = []string{"Version", "Id", "Statement"}
	statementKeys = []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)

// scanPolicy reads the usual policy document in one pass without
// reflection, to the Policy parse would return; ok is false for anything
// else (a policy parse rejects, odd shapes, keys that match only
// case-insensitively), which Parse then hands to parse.
func scanPolicy(data []byte) (*Policy, bool) {
	d := jsonscan.New(data)
	if d.Kind() == '"' {
		var inner string
		if !d.String(&inner) || !d.End() {
			return nil, false
		}
		// One level only, as parse unwraps.
		if d = jsonscan.New([]byte(inner)); d.Kind() == '"' {
			return nil, false
		}
	}
	p := &Policy{}
	statements := false
	d.Object(func(key []byte) bool {
		switch string(key) {
		case "Version":
			return d.String(&p.Version)
		case "Id":
			return d.String(&p.ID)
		case "Statement":
			if statements {
				return d.Fail()
			}
			statements = true
			if d.Kind() == '{' {
				return scanStatement(d, p)
			}
			return d.Array(func() bool { return scanStatement(d, p) })
		}
		return d.Unknown(key, documentKeys)
	})
	if !d.End() || len(p.Statements) == 0 {
		return nil, false
	}
	return p, true
}

func scanStatement(d *jsonscan.Decoder, p *Policy) bool {
	var st Statement
	condition := false
	raw, ok := d.Capture(func() bool {
		return d.Object(func(key []byte) bool {
			switch string(key) {
			case "Sid":
				switch d.Kind() {
				case '"':
					return d.String(&st.Sid)
				case 'n':
					st.Sid = ""
					return d.Null()
				}
				// A number is tolerated and shown as written.
				v, ok := d.Raw()
				st.Sid = string(v)
				return ok
			case "Effect":
				return d.String(&st.Effect)
			case "Principal":
				return scanPrincipal(d, &st.Principal)
			case "NotPrincipal":
				return scanPrincipal(d, &st.NotPrincipal)
			case "Action":
				return stringOrList(d, &st.Action)
			case "NotAction":
				return stringOrList(d, &st.NotAction)
			case "Resource":
				return stringOrList(d, &st.Resource)
			case "NotResource":
				return stringOrList(d, &st.NotResource)
			case "Condition":
				// A repeated Condition merges in encoding/json.
				if condition || d.Kind() != '{' {
					return d.Fail()
				}
				condition = true
				st.Condition = map[string]map[string][]string{}
				return d.Object(func(op []byte) bool {
					keys := map[string][]string{}
					st.Condition[string(op)] = keys
					return d.Object(func(k []byte) bool {
						vals, ok := scalars(d)
						keys[string(k)] = vals
						return ok
					})
				})
			}
			return d.Unknown(key, statementKeys)
		})
	})
	if !ok {
		return false
	}
	if len(st.Condition) == 0 {
		st.Condition = nil
	}
	st.Raw = raw
	p.Statements = append(p.Statements, st)
	return true
}

// scanPrincipal reads "*" or an object of identifier lists; null or
// another string is left to parse.
func scanPrincipal(d *jsonscan.Decoder, p **Principal) bool {
	switch d.Kind() {
	case '"':
		var s string
		if !d.String(&s) || s != "*" {
			return d.Fail()
		}
		*p = &Principal{Everyone: true}
		return true
	case '{':
		pr := &Principal{IDs: map[string][]string{}}
		*p = pr
		return d.Object(func(typ []byte) bool {
			var ids []string
			if !stringOrList(d, &ids) {
				return false
			}
			pr.IDs[string(typ)] = ids
			return true
		})
	}
	return d.Fail()
}

// stringOrList reads a string or a list of strings (null elements read as
// "", as encoding/json stores them); null and other values are left to
// parse.
func stringOrList(d *jsonscan.Decoder, p *[]string) bool {
	switch d.Kind() {
	case '"':
		var s string
		if !d.String(&s) {
			return false
		}
		*p = []string{s}
		return true
	case '[':
		list := []string{}
		ok := d.Array(func() bool {
			var s string
			if !d.String(&s) {
				return false
			}
			list = append(list, s)
			return true
		})
		*p = list
		return ok
	}
	return d.Fail()
}

// scalars reads condition values as scalarList does: a scalar or a list of
// scalars, strings decoded and other values as written.
func scalars(d *jsonscan.Decoder) ([]string, bool) {
	one := func(out *[]string) bool {
		if d.Kind() == '"' {
			var s string
			if !d.String(&s) {
				return false
			}
			*out = append(*out, s)
			return true
		}
		if k := d.Kind(); k == '{' || k == '[' {
			return d.Fail()
		}
		v, ok := d.Raw()
		*out = append(*out, string(v))
		return ok
	}
	out := []string{}
	if d.Kind() == '[' {
		return out, d.Array(func() bool { return one(&out) })
	}
	return out, one(&out)
}
