package detect

// Helpers shared by the detections of tampering with defenses: the audit
// trail (CloudTrail, its log bucket), AWS Config, GuardDuty, Security Hub,
// VPC flow logs, KMS keys and EBS default encryption.
//
// Request parameters of these services come in several shapes: JSON APIs
// record camelCase or PascalCase keys (encoding/json matches keys without
// regard to case), EC2's query API records lists as {"content": ..., "tag":
// n} items, and booleans and numbers sometimes arrive as strings. paramValue
// accepts all of them and reports "not set" for anything else, so a
// decision never panics on odd input.

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/iampolicy"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// Event sources of the services this group watches.
const (
	srcCloudTrail  = "cloudtrail.amazonaws.com"
	srcKMS         = "kms.amazonaws.com"
	srcConfig      = "config.amazonaws.com"
	srcGuardDuty   = "guardduty.amazonaws.com"
	srcSecurityHub = "securityhub.amazonaws.com"
	srcEC2         = "ec2.amazonaws.com"
)

// paramValue is one value of request parameters or response elements, kept
// raw and read on demand in whichever shape it came.
type paramValue json.RawMessage

// UnmarshalJSON keeps the value as written.
func (p *paramValue) UnmarshalJSON(b []byte) error {
	*p = append((*p)[:0], b...)
	return nil
}

// Null reports whether the value is absent or JSON null.
func (p paramValue) Null() bool {
	b := bytes.TrimSpace(p)
	return len(b) == 0 || bytes.Equal(b, []byte("null"))
}

// Str reads a string, or a number or boolean as written. ok is false for
// absent, null, objects and lists.
func (p paramValue) Str() (s string, ok bool) {
	b := bytes.TrimSpace(p)
	if p.Null() {
		return "", false
	}
	if s, ok := jsonscan.Text(b); ok {
		return s, true
	}
	if b[0] == '{' || b[0] == '[' {
		return "", false
	}
	return string(b), true
}

// Bool reads true/false written as a JSON boolean or string. set is false
// when the value is absent, null or not a boolean.
func (p paramValue) Bool() (value, set bool) {
	s, ok := p.Str()
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Int reads a whole number written as a JSON number or string.
func (p paramValue) Int() (n int, ok bool) {
	s, ok := p.Str()
	if !ok {
		return 0, false
	}
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) || f > 1e15 || f < -1e15 {
		return 0, false
	}
	return int(f), true
}

// Strings reads a string or a list of strings, and the EC2 query API's
// {"content": ...} items (one or a list). Empty strings and values it
// cannot read are skipped.
func (p paramValue) Strings() []string {
	if s, ok := p.Str(); ok {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	b := bytes.TrimSpace(p)
	if p.Null() {
		return nil
	}
	var out []string
	switch b[0] {
	case '[':
		var items []paramValue
		if json.Unmarshal(b, &items) != nil {
			return nil
		}
		for _, it := range items {
			out = append(out, it.Strings()...)
		}
	case '{':
		var item struct {
			Content paramValue `json:"content"`
		}
		if json.Unmarshal(b, &item) == nil {
			out = item.Content.Strings()
		}
	}
	return out
}

// Objects splits one object or a list of objects; anything else is empty,
// and items of a list that are not objects are dropped.
func (p paramValue) Objects() []json.RawMessage {
	items, err := iampolicy.ObjectOrList(json.RawMessage(p))
	if err != nil {
		return nil
	}
	var out []json.RawMessage
	for _, it := range items {
		if it = bytes.TrimSpace(it); len(it) > 0 && it[0] == '{' {
			out = append(out, it)
		}
	}
	return out
}

// JSON returns the value as compact JSON, for evidence.
func (p paramValue) JSON() string { return compactJSON(p) }

// decodeInto decodes raw request parameters or response elements into v,
// leaving v at its zero value (or partly filled) when they are absent or
// of another shape.
func decodeInto(raw []byte, v any) {
	if paramValue(raw).Null() {
		return
	}
	// One pass for the usual structures; whatever jsonscan leaves,
	// encoding/json decodes from scratch (keeping what it read before an
	// error, as it always did).
	_ = jsonscan.Unmarshal(raw, v)
}

// arnResourceName returns the part of an ARN after the resource type
// ("arn:aws:cloudtrail:eu-west-1:111122223333:trail/main" gives "main" for
// "trail/"); anything else is returned as is.
func arnResourceName(s, resourceType string) string {
	if !strings.HasPrefix(s, "arn:") {
		return s
	}
	if i := strings.Index(s, ":"+resourceType); i >= 0 {
		return s[i+1+len(resourceType):]
	}
	return s
}

// regionalResourceARN builds the ARN of a regional resource in the event's
// region and account.
func regionalResourceARN(rec *cloudtrail.Record, service, resource string) string {
	return partitionARN(rec.AWSRegion, service, rec.AWSRegion, rec.Account(), resource)
}

// resourcePhrase names a resource for a headline: "trail main", or "an
// unnamed trail" when the event does not say which.
func resourcePhrase(kind, name string) string {
	if name == "" {
		return "an unnamed " + kind
	}
	return kind + " " + name
}

// countPhrase says "1 flow log" or "3 flow logs".
func countPhrase(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.Itoa(n) + " " + plural
}

// placePhrase names the region and account of an event for a headline.
func placePhrase(rec *cloudtrail.Record) string {
	return "in " + rec.AWSRegion + " of account " + rec.Account()
}

// arnRegion returns the region field of an ARN, or "" for anything else.
func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}

// listPhrase joins values for a headline: "a", "a and b", "a, b and 2 more".
func listPhrase(values []string) string {
	switch n := len(values); {
	case n == 0:
		return ""
	case n == 1:
		return values[0]
	case n == 2:
		return values[0] + " and " + values[1]
	default:
		return values[0] + ", " + values[1] + " and " + strconv.Itoa(n-2) + " more"
	}
}
