// Package cloudtrail decodes CloudTrail event records: the JSON object AWS
// writes for every API call, console sign-in and service event, whether it
// arrives in an EventBridge envelope or in a trail's log file.
//
// Known fields are typed; request parameters, response elements and other
// service-specific parts are kept as raw JSON because their shape depends on
// the API. Unknown fields never break decoding: the record's original bytes
// stay available in Record.Raw.
package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trailwatch/trailwatch/internal/jsonerr"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// Record is one CloudTrail event record. See
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
type Record struct {
	EventVersion                 string          `json:"eventVersion,omitempty"`
	UserIdentity                 UserIdentity    `json:"userIdentity"`
	EventTime                    time.Time       `json:"eventTime"`
	EventSource                  string          `json:"eventSource"`
	EventName                    string          `json:"eventName"`
	AWSRegion                    string          `json:"awsRegion"`
	SourceIPAddress              string          `json:"sourceIPAddress,omitempty"`
	UserAgent                    string          `json:"userAgent,omitempty"`
	ErrorCode                    string          `json:"errorCode,omitempty"`
	ErrorMessage                 string          `json:"errorMessage,omitempty"`
	RequestParameters            json.RawMessage `json:"requestParameters,omitempty"`
	ResponseElements             json.RawMessage `json:"responseElements,omitempty"`
	AdditionalEventData          json.RawMessage `json:"additionalEventData,omitempty"`
	RequestID                    string          `json:"requestID,omitempty"`
	EventID                      string          `json:"eventID"`
	ReadOnly                     *bool           `json:"readOnly,omitempty"`
	Resources                    []Resource      `json:"resources,omitempty"`
	EventType                    string          `json:"eventType,omitempty"`
	APIVersion                   string          `json:"apiVersion,omitempty"`
	ManagementEvent              *bool           `json:"managementEvent,omitempty"`
	RecipientAccountID           string          `json:"recipientAccountId,omitempty"`
	ServiceEventDetails          json.RawMessage `json:"serviceEventDetails,omitempty"`
	SharedEventID                string          `json:"sharedEventID,omitempty"`
	VPCEndpointID                string          `json:"vpcEndpointId,omitempty"`
	VPCEndpointAccountID         string          `json:"vpcEndpointAccountId,omitempty"`
	EventCategory                string          `json:"eventCategory,omitempty"`
	TLSDetails                   *TLSDetails     `json:"tlsDetails,omitempty"`
	SessionCredentialFromConsole string          `json:"sessionCredentialFromConsole,omitempty"`

	// Raw is the record exactly as it was decoded, unknown fields included.
	Raw json.RawMessage `json:"-"`
}

// UserIdentity says who made the request and with which credentials.
type UserIdentity struct {
	Type             string          `json:"type,omitempty"`
	PrincipalID      string          `json:"principalId,omitempty"`
	ARN              string          `json:"arn,omitempty"`
	AccountID        string          `json:"accountId,omitempty"`
	AccessKeyID      string          `json:"accessKeyId,omitempty"`
	UserName         string          `json:"userName,omitempty"`
	InvokedBy        string          `json:"invokedBy,omitempty"`
	IdentityProvider string          `json:"identityProvider,omitempty"`
	CredentialID     string          `json:"credentialId,omitempty"`
	SessionContext   *SessionContext `json:"sessionContext,omitempty"`
	OnBehalfOf       *OnBehalfOf     `json:"onBehalfOf,omitempty"`
}

// SessionContext describes temporary credentials: the role or federation
// behind them and whether the session was authenticated with MFA.
type SessionContext struct {
	SessionIssuer       *SessionIssuer     `json:"sessionIssuer,omitempty"`
	WebIDFederationData json.RawMessage    `json:"webIdFederationData,omitempty"`
	Attributes          *SessionAttributes `json:"attributes,omitempty"`
	SourceIdentity      string             `json:"sourceIdentity,omitempty"`
	EC2RoleDelivery     string             `json:"ec2RoleDelivery,omitempty"`
	AssumedRoot         string             `json:"assumedRoot,omitempty"`
}

// SessionIssuer is the role, user or account that issued temporary credentials.
type SessionIssuer struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// SessionAttributes are recorded as strings by CloudTrail ("true", "false").
type SessionAttributes struct {
	CreationDate     string `json:"creationDate,omitempty"`
	MFAAuthenticated string `json:"mfaAuthenticated,omitempty"`
}

// OnBehalfOf names the IAM Identity Center user behind a session, when
// CloudTrail records it.
type OnBehalfOf struct {
	UserID           string `json:"userId,omitempty"`
	IdentityStoreARN string `json:"identityStoreArn,omitempty"`
}

// Resource is one entry of the record's resources list.
type Resource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
	ARN       string `json:"ARN,omitempty"`
}

// TLSDetails describes the TLS connection of the request.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion,omitempty"`
	CipherSuite              string `json:"cipherSuite,omitempty"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader,omitempty"`
}

// ParseTime reads an optional JSON timestamp: absent or null is the zero
// time, anything else must be an RFC 3339 string.
func ParseTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	s, ok := jsonscan.Text(raw)
	if !ok {
		return time.Time{}, fmt.Errorf("got JSON %s, want an RFC 3339 string", truncate(string(raw), 40))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not RFC 3339", truncate(s, 40))
	}
	return t, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ErrNotRecord reports JSON that decodes but is not a CloudTrail record.
var ErrNotRecord = errors.New("not a cloudtrail record")

// Decode parses one CloudTrail record. It fails when the JSON is malformed,
// when a known field has the wrong type, or when the fields every record
// carries (eventSource, eventName, eventTime) are missing.
func Decode(data []byte) (*Record, error) {
	return decode(append(json.RawMessage(nil), data...), true)
}

// DecodeShared is Decode for data the caller hands over: the record keeps
// slices of it (Raw and the raw fields) instead of a copy, so data must not
// change afterwards. event.Decode uses it: its Event keeps the same bytes.
func DecodeShared(own []byte) (*Record, error) { return decode(own, false) }

// DecodeOwned is DecodeShared for data handed over for good, that nothing
// will ever write again (a scan's split record): the record's strings are
// cut from data itself rather than from a copy (jsonscan.NewOwned).
func DecodeOwned(own []byte) (*Record, error) { return decode(own, true) }

func decode(own []byte, owned bool) (*Record, error) {
	// One pass: eventTime is read as raw JSON beside the other fields and
	// parsed here, so its error names the field. scanRecord reads the
	// usual record without reflection; anything else, errors included, is
	// encoding/json's.
	r, eventTime, ok := scanRecord(own, owned)
	if !ok {
		var err error
		if r, eventTime, err = unmarshalRecord(own); err != nil {
			return nil, err
		}
	}
	t, err := ParseTime(eventTime)
	if err != nil {
		return nil, fmt.Errorf("decode cloudtrail record: field \"eventTime\": %w", err)
	}
	r.EventTime = t
	if err := r.validate(); err != nil {
		return nil, err
	}
	r.Raw = own
	return &r, nil
}

// unmarshalRecord is Decode's encoding/json path.
func unmarshalRecord(data []byte) (Record, json.RawMessage, error) {
	type plain Record
	var aux struct {
		plain
		EventTime json.RawMessage `json:"eventTime"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return Record{}, nil, fmt.Errorf("decode cloudtrail record: %w", jsonerr.Describe(err))
	}
	return Record(aux.plain), aux.EventTime, nil
}

func (r *Record) validate() error {
	var missing []string
	if r.EventSource == "" {
		missing = append(missing, "eventSource")
	}
	if r.EventName == "" {
		missing = append(missing, "eventName")
	}
	if r.EventTime.IsZero() {
		missing = append(missing, "eventTime")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrNotRecord, strings.Join(missing, ", "))
	}
	return nil
}

// Failed reports whether AWS rejected the request (errorCode is set).
func (r *Record) Failed() bool { return r.ErrorCode != "" }

// Account is the account the event belongs to: the recipient account when
// recorded, otherwise the account of the caller.
func (r *Record) Account() string {
	if r.RecipientAccountID != "" {
		return r.RecipientAccountID
	}
	return r.UserIdentity.AccountID
}

// MFA reports whether the session was authenticated with MFA. known is false
// when the record does not say (long-term access keys carry no session).
func (r *Record) MFA() (used, known bool) {
	if sc := r.UserIdentity.SessionContext; sc != nil && sc.Attributes != nil {
		switch strings.ToLower(sc.Attributes.MFAAuthenticated) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	if r.EventName == "ConsoleLogin" {
		var extra struct {
			MFAUsed string `json:"MFAUsed"`
		}
		ok := jsonscan.Fields(r.AdditionalEventData, &extra)
		if !ok {
			extra.MFAUsed = ""
			ok = json.Unmarshal(r.AdditionalEventData, &extra) == nil
		}
		if ok {
			switch extra.MFAUsed {
			case "Yes":
				return true, true
			case "No":
				return false, true
			}
		}
	}
	return false, false
}

// ConsoleSession reports whether the credentials came from a console sign-in.
func (r *Record) ConsoleSession() bool {
	return strings.EqualFold(r.SessionCredentialFromConsole, "true")
}
