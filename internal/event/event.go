// Package event decodes what trailwatch receives: an EventBridge envelope
// whose detail is, depending on its detail-type, a CloudTrail record or
// another AWS source's payload. Raw CloudTrail records (from trail log files)
// are wrapped into the envelope EventBridge would have delivered, so every
// event runs through the same patterns.
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/cwalarm"
	"github.com/trailwatch/trailwatch/internal/guardduty"
	"github.com/trailwatch/trailwatch/internal/jsonerr"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// MaxSize is the largest event accepted, in bytes: EventBridge's limit for
// one event. Larger input is refused before it is parsed.
const MaxSize = 256 * 1024

// Detail types of CloudTrail events on EventBridge.
const (
	DetailTypeAPICall       = "AWS API Call via CloudTrail"
	DetailTypeConsoleSignIn = "AWS Console Sign In via CloudTrail"
	DetailTypeServiceEvent  = "AWS Service Event via CloudTrail"
	DetailTypeConsoleAction = "AWS Console Action via CloudTrail"
)

// Envelope is the EventBridge event structure.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Event is a decoded envelope plus its typed detail.
type Event struct {
	Envelope Envelope
	// JSON is the envelope as matched against EventBridge patterns.
	JSON []byte
	// CloudTrail is set for the CloudTrail detail types.
	CloudTrail *cloudtrail.Record
	// Alarm is set for CloudWatch alarm state changes.
	Alarm *cwalarm.StateChange
	// GuardDuty is set for GuardDuty findings.
	GuardDuty *guardduty.Finding

	params     map[string]json.RawMessage
	paramsRead bool
}

// RequestParams returns the members of the CloudTrail record's
// requestParameters object, decoded on first use and then shared by every
// detection that reads them: callers must not modify the map. It is empty
// when the event has no record or the parameters are not an object. Not
// safe for concurrent first use (detections run one after another).
func (e *Event) RequestParams() map[string]json.RawMessage {
	if !e.paramsRead {
		e.paramsRead = true
		if e.CloudTrail != nil {
			e.params, _ = jsonscan.Members(e.CloudTrail.RequestParameters)
		}
		if e.params == nil {
			e.params = map[string]json.RawMessage{}
		}
	}
	return e.params
}

// Sentinel errors let callers tell bad input (log and skip) from other failures.
var (
	ErrTooLarge  = errors.New("event too large")
	ErrMalformed = errors.New("malformed event")
)

// ID identifies the event in logs and output: the envelope ID, or the
// CloudTrail eventID for a wrapped raw record.
func (e *Event) ID() string {
	if e.Envelope.ID != "" {
		return e.Envelope.ID
	}
	if e.CloudTrail != nil {
		return e.CloudTrail.EventID
	}
	return ""
}

// Known reports whether the event's detail was decoded into a type
// trailwatch evaluates: a CloudTrail record, an alarm state change or a
// GuardDuty finding.
func (e *Event) Known() bool {
	return e.CloudTrail != nil || e.Alarm != nil || e.GuardDuty != nil
}

// IsCloudTrail reports whether a detail type carries a CloudTrail record.
func IsCloudTrail(detailType string) bool {
	switch detailType {
	case DetailTypeAPICall, DetailTypeConsoleSignIn, DetailTypeServiceEvent, DetailTypeConsoleAction:
		return true
	}
	return false
}

// Decode parses an EventBridge envelope and, for the detail types it knows,
// its detail. An envelope with an unknown detail type decodes without a typed
// detail; deciding what to do with it is the caller's business.
func Decode(data []byte) (*Event, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, EventBridge's limit is %d", ErrTooLarge, len(data), MaxSize)
	}
	env, rec, err := decodeEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("%w: envelope: %w", ErrMalformed, err)
	}
	if env.DetailType == "" || env.Source == "" {
		return nil, fmt.Errorf("%w: envelope has no detail-type or source", ErrMalformed)
	}
	ev := &Event{Envelope: env, JSON: data}
	if IsCloudTrail(env.DetailType) {
		if len(env.Detail) == 0 || bytes.Equal(env.Detail, []byte("null")) {
			return nil, fmt.Errorf("%w: %q event has no detail", ErrMalformed, env.DetailType)
		}
		if rec == nil {
			// The event keeps data (JSON, Envelope.Detail): the record
			// may share it.
			if rec, err = cloudtrail.DecodeShared(env.Detail); err != nil {
				return nil, fmt.Errorf("%w: detail: %w", ErrMalformed, err)
			}
		}
		ev.CloudTrail = rec
		return ev, nil
	}
	switch {
	case env.DetailType == cwalarm.DetailType && env.Source == cwalarm.Source:
		sc, err := cwalarm.Decode(env.Detail)
		if err != nil {
			return nil, fmt.Errorf("%w: detail: %w", ErrMalformed, err)
		}
		ev.Alarm = sc
	case env.DetailType == guardduty.DetailType && env.Source == guardduty.Source:
		f, err := guardduty.Decode(env.Detail)
		if err != nil {
			return nil, fmt.Errorf("%w: detail: %w", ErrMalformed, err)
		}
		ev.GuardDuty = f
	}
	return ev, nil
}

// decodeEnvelope reads the envelope in one pass; "time" is read as raw JSON
// and parsed here, so its error names the field. The detail stays a slice
// of data. scanEnvelope reads the usual envelope without reflection, and a
// CloudTrail record in its detail in the same pass (rec, else nil: the
// caller decodes the detail); anything else, errors included, is
// encoding/json's (unmarshalEnvelope).
func decodeEnvelope(data []byte) (env Envelope, rec *cloudtrail.Record, err error) {
	env, rawTime, rec, ok := scanEnvelope(data, true)
	if !ok {
		// Perhaps only the record is beyond the scanner: DecodeShared
		// then reads it with encoding/json.
		env, rawTime, _, ok = scanEnvelope(data, false)
	}
	if !ok {
		if env, rawTime, err = unmarshalEnvelope(data); err != nil {
			return Envelope{}, nil, err
		}
	}
	t, err := cloudtrail.ParseTime(rawTime)
	if err != nil {
		return Envelope{}, nil, fmt.Errorf("field \"time\": %w", err)
	}
	env.Time = t
	return env, rec, nil
}

func unmarshalEnvelope(data []byte) (Envelope, json.RawMessage, error) {
	type plain Envelope
	var aux struct {
		plain
		Time   json.RawMessage `json:"time"`
		Detail rawRef          `json:"detail"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return Envelope{}, nil, jsonerr.Describe(err)
	}
	env := Envelope(aux.plain)
	env.Detail = json.RawMessage(aux.Detail)
	return env, aux.Time, nil
}

var envelopeKeys = []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}

// scanEnvelope is unmarshalEnvelope without reflection, for the envelopes
// jsonscan reads exactly; ok is false for the others. With withRecord, a
// detail that follows a CloudTrail detail-type (EventBridge writes
// detail-type first) is read as the record in the same pass
// (cloudtrail.Scan), and rec is what cloudtrail.DecodeShared would make of
// env.Detail; rec is nil otherwise, or when a later detail-type member
// replaces the one the record was read under.
func scanEnvelope(data []byte, withRecord bool) (env Envelope, rawTime json.RawMessage, rec *cloudtrail.Record, ok bool) {
	// The record's strings are most of the event's: they are cut from one
	// copy of it. The envelope alone takes a few short strings.
	d := jsonscan.NewSparse(data)
	if withRecord {
		d = jsonscan.New(data)
	}
	resources := false
	recordType := ""
	d.Object(func(key []byte) bool {
		switch string(key) {
		case "version":
			return d.String(&env.Version)
		case "id":
			return d.String(&env.ID)
		case "detail-type":
			return d.String(&env.DetailType)
		case "source":
			return d.String(&env.Source)
		case "account":
			return d.String(&env.Account)
		case "time":
			rawTime, ok = d.Raw()
			return ok
		case "region":
			return d.String(&env.Region)
		case "resources":
			// encoding/json merges a repeated list element by element.
			if resources {
				return d.Fail()
			}
			resources = true
			if d.Null() {
				env.Resources = nil
				return true
			}
			env.Resources = []string{}
			return d.Array(func() bool {
				var s string
				if !d.String(&s) {
					return false
				}
				env.Resources = append(env.Resources, s)
				return true
			})
		case "detail":
			if withRecord && IsCloudTrail(env.DetailType) {
				if rec, ok = cloudtrail.Scan(d); ok {
					env.Detail, recordType = rec.Raw, env.DetailType
				}
				return ok
			}
			rec = nil
			env.Detail, ok = d.Raw()
			return ok
		}
		return d.Unknown(key, envelopeKeys)
	})
	if rec != nil && env.DetailType != recordType {
		rec = nil
	}
	return env, rawTime, rec, d.End()
}

// FromRecord wraps a raw CloudTrail record into the envelope EventBridge
// builds for it, so the same patterns apply. The envelope ID stays empty:
// only EventBridge assigns one.
func FromRecord(rec *cloudtrail.Record) (*Event, error) {
	env := recordEnvelope(rec)
	if len(env.Detail) == 0 {
		raw, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("encode cloudtrail record: %w", err)
		}
		env.Detail = raw
	}
	data, err := appendEnvelope(make([]byte, 0, len(env.Detail)+256), &env)
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return withEnvelope(env, data, rec)
}

// DetailFirst is how the buffer FromRecordIn writes an envelope in begins.
const DetailFirst = `{"detail":`

// FromRecordIn is FromRecord for a record read into a buffer of its own
// that begins with DetailFirst, the record right after it (buf is
// DetailFirst + rec.Raw): the envelope's other members are appended to
// buf, in its spare capacity, rather than the record copied into a new
// envelope. Members come detail first, which a pattern does not mind;
// the envelope was a quarter of a scan's allocations (measured on 300k
// records).
func FromRecordIn(rec *cloudtrail.Record, buf []byte) (*Event, error) {
	if !bytes.HasPrefix(buf, []byte(DetailFirst)) || len(buf) != len(DetailFirst)+len(rec.Raw) {
		return nil, fmt.Errorf("encode envelope: the buffer does not hold the record after %q", DetailFirst)
	}
	env := recordEnvelope(rec)
	data, err := appendMembers(append(buf, ','), &env)
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return withEnvelope(env, append(data, '}'), rec)
}

// recordEnvelope is the envelope EventBridge builds for a record.
func recordEnvelope(rec *cloudtrail.Record) Envelope {
	return Envelope{
		Version:    "0",
		DetailType: DetailTypeFor(rec.EventType),
		Source:     SourceFor(rec.EventSource),
		Account:    rec.Account(),
		Time:       rec.EventTime,
		Region:     rec.AWSRegion,
		Resources:  []string{},
		Detail:     rec.Raw,
	}
}

func withEnvelope(env Envelope, data []byte, rec *cloudtrail.Record) (*Event, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes once wrapped, EventBridge's limit is %d", ErrTooLarge, len(data), MaxSize)
	}
	return &Event{Envelope: env, JSON: data, CloudTrail: rec}, nil
}

// appendEnvelope appends what json.Marshal makes of an envelope with no ID
// and no resources, except that the detail is written as it is rather
// than compacted: it comes from a record a decoder has read, so it is
// valid JSON, and re-encoding it would read every byte of the record a
// second time (most of a scan's time, measured). Strings are
// encoding/json's (HTML escaping included).
func appendEnvelope(b []byte, env *Envelope) ([]byte, error) {
	b, err := appendMembers(append(b, '{'), env)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"detail":`...)
	b = append(b, bytes.TrimSpace(env.Detail)...)
	return append(b, '}'), nil
}

// appendMembers appends the envelope's members but the detail, without
// the braces.
func appendMembers(b []byte, env *Envelope) ([]byte, error) {
	b = append(b, `"version":`...)
	b = appendString(b, env.Version)
	b = append(b, `,"id":`...)
	b = appendString(b, env.ID)
	b = append(b, `,"detail-type":`...)
	b = appendString(b, env.DetailType)
	b = append(b, `,"source":`...)
	b = appendString(b, env.Source)
	b = append(b, `,"account":`...)
	b = appendString(b, env.Account)
	b = append(b, `,"time":`...)
	t, err := env.Time.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, t...)
	b = append(b, `,"region":`...)
	b = appendString(b, env.Region)
	b = append(b, `,"resources":`...)
	r, err := json.Marshal(env.Resources)
	if err != nil {
		return nil, err
	}
	return append(b, r...), nil
}

// appendString appends s as json.Marshal writes a string: plain printable
// ASCII as it is, anything else through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// DetailTypeFor maps a CloudTrail eventType to the EventBridge detail-type.
func DetailTypeFor(eventType string) string {
	switch eventType {
	case "AwsConsoleSignIn":
		return DetailTypeConsoleSignIn
	case "AwsServiceEvent":
		return DetailTypeServiceEvent
	case "AwsConsoleAction":
		return DetailTypeConsoleAction
	default:
		return DetailTypeAPICall
	}
}

// SourceFor maps a CloudTrail eventSource ("s3.amazonaws.com") to the
// EventBridge source ("aws.s3"): EventBridge uses "aws." and the service
// prefix, also where the prefix differs from the service's common name
// ("monitoring.amazonaws.com" becomes "aws.monitoring").
func SourceFor(eventSource string) string {
	return "aws." + strings.TrimSuffix(eventSource, ".amazonaws.com")
}

// rawRef is json.RawMessage without the copy: it keeps a slice of the
// input, which Event keeps anyway (Event.JSON).
type rawRef []byte

// UnmarshalJSON implements json.Unmarshaler.
func (r *rawRef) UnmarshalJSON(b []byte) error {
	*r = b
	return nil
}
