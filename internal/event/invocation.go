package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// eventPlaceholder is EventBridge's predefined input-transformer variable for
// the complete original event, detail included.
const eventPlaceholder = "<aws.events.event.json>"

// RuleInputTemplate is the input transformer template of the rule that
// serves detectionID: the Lambda function receives the detection ID beside
// the untouched event, so it knows which rule invoked it.
func RuleInputTemplate(detectionID string) string {
	id, _ := json.Marshal(detectionID)
	return `{"detection":` + string(id) + `,"event":` + eventPlaceholder + `}`
}

// ApplyRuleInputTemplate does what EventBridge does with a template made by
// RuleInputTemplate, so tests can feed the function exactly what it gets.
func ApplyRuleInputTemplate(template string, event []byte) ([]byte, error) {
	if !strings.Contains(template, eventPlaceholder) {
		return nil, fmt.Errorf("template %q has no %s", template, eventPlaceholder)
	}
	return []byte(strings.Replace(template, eventPlaceholder, string(bytes.TrimSpace(event)), 1)), nil
}

// Invocation is one input of the CloudTrail function.
type Invocation struct {
	// Detection is the ID of the detection whose rule delivered the event;
	// empty when the function was invoked with a bare EventBridge event.
	Detection string
	Event     *Event
}

// DecodeInvocation accepts what a trailwatch rule sends ({"detection": ...,
// "event": {...}}) or a bare EventBridge event.
func DecodeInvocation(payload []byte) (Invocation, error) {
	if len(payload) > MaxSize+1024 {
		return Invocation{}, fmt.Errorf("%w: %d bytes, EventBridge's limit is %d", ErrTooLarge, len(payload), MaxSize)
	}
	if id, raw, ok := ruleInput(payload); ok {
		if ev, err := Decode(raw); err == nil {
			return Invocation{Detection: id, Event: ev}, nil
		}
		// Decoded in full, so the error is the one it always was.
	}
	return decodeInvocation(payload)
}

// decodeInvocation decodes payload in full: the rule input's keys in any
// order and spelling encoding/json accepts, or a bare event.
func decodeInvocation(payload []byte) (Invocation, error) {
	probe, ok := scanProbe(payload)
	if !ok {
		if err := json.Unmarshal(payload, &probe); err != nil {
			return Invocation{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	if probe.Detection == nil {
		ev, err := Decode(payload)
		return Invocation{Event: ev}, err
	}
	if len(probe.Event) == 0 {
		return Invocation{}, fmt.Errorf("%w: rule input for %q carries no event", ErrMalformed, *probe.Detection)
	}
	ev, err := Decode(probe.Event)
	if err != nil {
		return Invocation{}, err
	}
	return Invocation{Detection: *probe.Detection, Event: ev}, nil
}

// probe is what decodeInvocation looks at first: a bare event has no
// "detection" member.
type probe struct {
	Detection *string         `json:"detection"`
	Event     json.RawMessage `json:"event"`
}

var probeKeys = []string{"detection", "event"}

// scanProbe reads a probe without reflection as encoding/json would; ok is
// false for input it leaves to encoding/json.
func scanProbe(payload []byte) (p probe, ok bool) {
	d := jsonscan.NewSparse(payload)
	d.Object(func(key []byte) bool {
		switch string(key) {
		case "detection":
			if d.Null() {
				p.Detection = nil
				return true
			}
			var id string
			if !d.String(&id) {
				return false
			}
			p.Detection = &id
			return true
		case "event":
			p.Event, ok = d.Raw()
			return ok
		}
		return d.Unknown(key, probeKeys)
	})
	return p, d.End()
}

// ruleInput splits input shaped exactly as a trailwatch rule's template
// makes it, {"detection":"ID","event":EVENT}, without a pass over EVENT:
// the event is parsed once, by Decode. ok is false for any other shape
// (escapes in the ID, other keys or key order), which DecodeInvocation then
// decodes in full; when Decode accepts EVENT, the full decoding would have
// found the same ID and event.
func ruleInput(payload []byte) (id string, event []byte, ok bool) {
	const head, mid = `{"detection":"`, `","event":`
	p := trimJSONSpace(payload)
	if !bytes.HasPrefix(p, []byte(head)) || p[len(p)-1] != '}' {
		return "", nil, false
	}
	rest := p[len(head) : len(p)-1]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || !utf8.Valid(rest[:end]) || bytes.ContainsFunc(rest[:end], func(r rune) bool { return r < 0x20 || r == '\\' }) {
		return "", nil, false
	}
	if !bytes.HasPrefix(rest[end:], []byte(mid)) {
		return "", nil, false
	}
	event = trimJSONSpace(rest[end+len(mid):])
	if len(event) == 0 || event[0] != '{' {
		return "", nil, false
	}
	return string(rest[:end]), event, true
}

// trimJSONSpace trims the whitespace JSON allows around values.
func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
