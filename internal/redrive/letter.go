package redrive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Source says who put a message in the dead-letter queue.
type Source string

// Sources of dead letters.
const (
	// SourceEventBridge: a rule could not invoke the function within its
	// retry policy. The message carries RULE_ARN, TARGET_ARN, ERROR_CODE,
	// ERROR_MESSAGE, RETRY_ATTEMPTS and, when a retry limit ended the
	// delivery, EXHAUSTED_RETRY_CONDITION as message attributes; the body is
	// what the target was to receive.
	SourceEventBridge Source = "eventbridge"
	// SourceLambda: the function failed every asynchronous attempt and
	// Lambda's on-failure destination sent an invocation record whose
	// requestPayload is the original input.
	SourceLambda Source = "lambda"
	// SourceUnknown: neither of the above; the body is taken as the
	// function's input as it is.
	SourceUnknown Source = "unknown"
)

// ErrUndecodable marks a message whose payload the function could not
// decode: redriving it would only be skipped by the function, so it stays
// in the queue for a person to look at.
var ErrUndecodable = errors.New("undecodable payload")

// Letter is one dead-letter message taken apart.
type Letter struct {
	MessageID string
	Source    Source
	// Payload is what the function is invoked with.
	Payload []byte
	// Invocation is Payload decoded as the function decodes it.
	Invocation event.Invocation
	// Cause says why the message is in the queue, as the message tells it
	// ("NO_PERMISSIONS: ..." from EventBridge, "RetriesExhausted after 3
	// attempts: ..." from Lambda).
	Cause string
}

// EventID is the ID of the event the letter carries, or "".
func (l Letter) EventID() string {
	if l.Invocation.Event == nil {
		return ""
	}
	return l.Invocation.Event.ID()
}

// destinationRecord is the invocation record Lambda sends to an on-failure
// destination (Lambda Developer Guide, "Capturing records of Lambda
// asynchronous invocations").
type destinationRecord struct {
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	RequestContext *struct {
		RequestID              string `json:"requestId"`
		FunctionARN            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

// Attributes EventBridge sets on the messages it dead-letters.
const (
	attrRuleARN      = "RULE_ARN"
	attrErrorCode    = "ERROR_CODE"
	attrErrorMessage = "ERROR_MESSAGE"
)

// Parse takes a dead-letter message apart: it finds the payload the
// function was, or was to be, invoked with and checks that the function can
// decode it. detections are the catalog's IDs: when EventBridge left the
// original event rather than the rule's input, the detection is restored
// from the rule's name (RULE_ARN, "<stack>-<detection ID>") so the function
// still knows which rule delivered it. The error wraps ErrUndecodable when
// the payload cannot be redriven; the Letter then holds what could be read.
func Parse(m types.Message, detections []string) (Letter, error) {
	l := Letter{MessageID: aws.ToString(m.MessageId), Source: SourceUnknown}
	body := []byte(aws.ToString(m.Body))
	l.Payload = body

	var rec destinationRecord
	if json.Unmarshal(body, &rec) == nil && rec.RequestContext != nil {
		l.Source = SourceLambda
		l.Cause = lambdaCause(rec)
		if len(rec.RequestPayload) == 0 || bytes.Equal(rec.RequestPayload, []byte("null")) {
			return l, fmt.Errorf("%w: lambda destination record carries no requestPayload", ErrUndecodable)
		}
		l.Payload = rec.RequestPayload
	} else if rule := attribute(m, attrRuleARN); rule != "" {
		l.Source = SourceEventBridge
		l.Cause = strings.TrimSuffix(attribute(m, attrErrorCode)+": "+attribute(m, attrErrorMessage), ": ")
	}

	inv, err := event.DecodeInvocation(l.Payload)
	if err != nil {
		l.Invocation = probe(l.Payload)
		return l, fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	l.Invocation = inv
	if inv.Detection == "" && l.Source == SourceEventBridge {
		if id := detectionOfRule(attribute(m, attrRuleARN), detections); id != "" {
			payload, err := event.ApplyRuleInputTemplate(event.RuleInputTemplate(id), l.Payload)
			if err != nil {
				return l, fmt.Errorf("wrap event as the input of rule %q: %w", id, err)
			}
			if inv, err = event.DecodeInvocation(payload); err != nil {
				return l, fmt.Errorf("%w: as the input of rule %q: %w", ErrUndecodable, id, err)
			}
			l.Payload, l.Invocation = payload, inv
		}
	}
	return l, nil
}

func attribute(m types.Message, name string) string {
	v, ok := m.MessageAttributes[name]
	if !ok {
		return ""
	}
	return aws.ToString(v.StringValue)
}

func lambdaCause(rec destinationRecord) string {
	cause := rec.RequestContext.Condition
	if n := rec.RequestContext.ApproximateInvokeCount; n > 0 {
		cause += fmt.Sprintf(" after %d attempts", n)
	}
	var resp struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(rec.ResponsePayload, &resp) == nil && resp.ErrorMessage != "" {
		cause += ": " + resp.ErrorMessage
	}
	return cause
}

// detectionOfRule returns the detection whose rule ruleARN names: trailwatch
// names rules "<stack name>-<detection ID>". The longest matching ID wins,
// so "x-config-changed" is not mistaken for "config-changed".
func detectionOfRule(ruleARN string, detections []string) string {
	_, path, ok := strings.Cut(ruleARN, ":rule/")
	if !ok {
		return ""
	}
	name := path[strings.LastIndex(path, "/")+1:] // rule/BUS/NAME on custom buses
	best := ""
	for _, id := range detections {
		if (name == id || strings.HasSuffix(name, "-"+id)) && len(id) > len(best) {
			best = id
		}
	}
	return best
}

// probe reads what identifies a payload the function cannot decode, for the
// report.
func probe(payload []byte) event.Invocation {
	var p struct {
		Detection string `json:"detection"`
		ID        string `json:"id"`
		Event     struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return event.Invocation{}
	}
	id := p.Event.ID
	if id == "" {
		id = p.ID
	}
	inv := event.Invocation{Detection: p.Detection}
	if id != "" {
		inv.Event = &event.Event{Envelope: event.Envelope{ID: id}}
	}
	return inv
}
