package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
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
	var probe struct {
		Detection *string         `json:"detection"`
		Event     json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return Invocation{}, fmt.Errorf("%w: %w", ErrMalformed, err)
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
