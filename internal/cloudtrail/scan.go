package cloudtrail

import (
	"encoding/json"

	"github.com/trailwatch/trailwatch/internal/jsonscan"
)

// scanRecord reads a record in one pass without reflection, as Decode's
// encoding/json path would store it, eventTime left raw. ok is false when
// the input leaves what jsonscan reads exactly (wrong types, odd keys,
// syntax errors): Decode then uses encoding/json, which also produces the
// error. data must be the record's own copy: raw fields alias it.
func scanRecord(data []byte, owned bool) (r Record, eventTime json.RawMessage, ok bool) {
	var d *jsonscan.Decoder
	if owned {
		d = jsonscan.NewOwned(data)
	} else {
		d = jsonscan.New(data)
	}
	r, eventTime = readRecord(d)
	return r, eventTime, d.End()
}

// Scan reads the record at d's position, for a caller that reads the
// document around it: event.Decode reads the envelope and its detail in
// one pass. The value's bytes become the record's Raw and must not change.
// Scan reports false, leaving d failed, whenever DecodeShared on those
// bytes would not return this record (input jsonscan does not read
// exactly, a bad eventTime, missing fields); the caller then decodes the
// document again and the record with DecodeShared, which gives the error.
func Scan(d *jsonscan.Decoder) (*Record, bool) {
	var r Record
	var eventTime json.RawMessage
	raw, ok := d.Capture(func() bool {
		r, eventTime = readRecord(d)
		return d.OK()
	})
	if !ok {
		return nil, false
	}
	t, err := ParseTime(eventTime)
	if err != nil {
		return nil, d.Fail()
	}
	r.EventTime = t
	if r.validate() != nil {
		return nil, d.Fail()
	}
	r.Raw = raw
	return &r, true
}

// readRecord reads the record object at d's position; d.OK says whether
// it could.
func readRecord(d *jsonscan.Decoder) (r Record, eventTime json.RawMessage) {
	resources := false
	d.Object(func(key []byte) bool {
		switch string(key) {
		case "eventVersion":
			return d.String(&r.EventVersion)
		case "userIdentity":
			return scanIdentity(d, &r.UserIdentity)
		case "eventTime":
			var ok bool
			eventTime, ok = d.Raw()
			return ok
		case "eventSource":
			return d.String(&r.EventSource)
		case "eventName":
			return d.String(&r.EventName)
		case "awsRegion":
			return d.String(&r.AWSRegion)
		case "sourceIPAddress":
			return d.String(&r.SourceIPAddress)
		case "userAgent":
			return d.String(&r.UserAgent)
		case "errorCode":
			return d.String(&r.ErrorCode)
		case "errorMessage":
			return d.String(&r.ErrorMessage)
		case "requestParameters":
			return raw(d, &r.RequestParameters)
		case "responseElements":
			return raw(d, &r.ResponseElements)
		case "additionalEventData":
			return raw(d, &r.AdditionalEventData)
		case "requestID":
			return d.String(&r.RequestID)
		case "eventID":
			return d.String(&r.EventID)
		case "readOnly":
			return d.Bool(&r.ReadOnly)
		case "resources":
			// A repeated list merges element by element in
			// encoding/json; leave that to it.
			if resources {
				return d.Fail()
			}
			resources = true
			return scanResources(d, &r.Resources)
		case "eventType":
			return d.String(&r.EventType)
		case "apiVersion":
			return d.String(&r.APIVersion)
		case "managementEvent":
			return d.Bool(&r.ManagementEvent)
		case "recipientAccountId":
			return d.String(&r.RecipientAccountID)
		case "serviceEventDetails":
			return raw(d, &r.ServiceEventDetails)
		case "sharedEventID":
			return d.String(&r.SharedEventID)
		case "vpcEndpointId":
			return d.String(&r.VPCEndpointID)
		case "vpcEndpointAccountId":
			return d.String(&r.VPCEndpointAccountID)
		case "eventCategory":
			return d.String(&r.EventCategory)
		case "tlsDetails":
			if d.Null() {
				r.TLSDetails = nil
				return true
			}
			if r.TLSDetails == nil {
				r.TLSDetails = &TLSDetails{}
			}
			t := r.TLSDetails
			return d.Object(func(key []byte) bool {
				switch string(key) {
				case "tlsVersion":
					return d.String(&t.TLSVersion)
				case "cipherSuite":
					return d.String(&t.CipherSuite)
				case "clientProvidedHostHeader":
					return d.String(&t.ClientProvidedHostHeader)
				}
				return d.Unknown(key, tlsKeys)
			})
		case "sessionCredentialFromConsole":
			return d.String(&r.SessionCredentialFromConsole)
		}
		return d.Unknown(key, recordKeys)
	})
	return r, eventTime
}

var (
	recordKeys = []string{"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements",
		"additionalEventData", "requestID", "eventID", "readOnly", "resources", "eventType", "apiVersion",
		"managementEvent", "recipientAccountId", "serviceEventDetails", "sharedEventID", "vpcEndpointId",
		"vpcEndpointAccountId", "eventCategory", "tlsDetails", "sessionCredentialFromConsole"}
	identityKeys = []string{"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy",
		"identityProvider", "credentialId", "sessionContext", "onBehalfOf"}
	sessionKeys    = []string{"sessionIssuer", "webIdFederationData", "attributes", "sourceIdentity", "ec2RoleDelivery", "assumedRoot"}
	issuerKeys     = []string{"type", "principalId", "arn", "accountId", "userName"}
	attributeKeys  = []string{"creationDate", "mfaAuthenticated"}
	onBehalfOfKeys = []string{"userId", "identityStoreArn"}
	resourceKeys   = []string{"accountId", "type", "ARN"}
	tlsKeys        = []string{"tlsVersion", "cipherSuite", "clientProvidedHostHeader"}
)

// raw stores a value as json.RawMessage does (null included, as "null").
func raw(d *jsonscan.Decoder, p *json.RawMessage) bool {
	v, ok := d.Raw()
	*p = v
	return ok
}

// object reads an optional object behind a pointer as encoding/json does:
// null sets it to nil, an object is read into the existing value or a new one.
func object[T any](d *jsonscan.Decoder, p **T, field func(v *T, key []byte) bool) bool {
	if d.Null() {
		*p = nil
		return true
	}
	if d.Kind() != '{' {
		return d.Fail()
	}
	if *p == nil {
		*p = new(T)
	}
	v := *p
	return d.Object(func(key []byte) bool { return field(v, key) })
}

func scanIdentity(d *jsonscan.Decoder, u *UserIdentity) bool {
	if d.Null() {
		return true
	}
	return d.Object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return d.String(&u.Type)
		case "principalId":
			return d.String(&u.PrincipalID)
		case "arn":
			return d.String(&u.ARN)
		case "accountId":
			return d.String(&u.AccountID)
		case "accessKeyId":
			return d.String(&u.AccessKeyID)
		case "userName":
			return d.String(&u.UserName)
		case "invokedBy":
			return d.String(&u.InvokedBy)
		case "identityProvider":
			return d.String(&u.IdentityProvider)
		case "credentialId":
			return d.String(&u.CredentialID)
		case "sessionContext":
			return object(d, &u.SessionContext, func(s *SessionContext, key []byte) bool {
				return scanSession(d, s, key)
			})
		case "onBehalfOf":
			return object(d, &u.OnBehalfOf, func(o *OnBehalfOf, key []byte) bool {
				switch string(key) {
				case "userId":
					return d.String(&o.UserID)
				case "identityStoreArn":
					return d.String(&o.IdentityStoreARN)
				}
				return d.Unknown(key, onBehalfOfKeys)
			})
		}
		return d.Unknown(key, identityKeys)
	})
}

func scanSession(d *jsonscan.Decoder, s *SessionContext, key []byte) bool {
	switch string(key) {
	case "sessionIssuer":
		return object(d, &s.SessionIssuer, func(i *SessionIssuer, key []byte) bool {
			switch string(key) {
			case "type":
				return d.String(&i.Type)
			case "principalId":
				return d.String(&i.PrincipalID)
			case "arn":
				return d.String(&i.ARN)
			case "accountId":
				return d.String(&i.AccountID)
			case "userName":
				return d.String(&i.UserName)
			}
			return d.Unknown(key, issuerKeys)
		})
	case "webIdFederationData":
		return raw(d, &s.WebIDFederationData)
	case "attributes":
		return object(d, &s.Attributes, func(a *SessionAttributes, key []byte) bool {
			switch string(key) {
			case "creationDate":
				return d.String(&a.CreationDate)
			case "mfaAuthenticated":
				return d.String(&a.MFAAuthenticated)
			}
			return d.Unknown(key, attributeKeys)
		})
	case "sourceIdentity":
		return d.String(&s.SourceIdentity)
	case "ec2RoleDelivery":
		return d.String(&s.EC2RoleDelivery)
	case "assumedRoot":
		return d.String(&s.AssumedRoot)
	}
	return d.Unknown(key, sessionKeys)
}

func scanResources(d *jsonscan.Decoder, p *[]Resource) bool {
	if d.Null() {
		*p = nil
		return true
	}
	list := []Resource{}
	ok := d.Array(func() bool {
		var r Resource
		if !d.Null() && !d.Object(func(key []byte) bool {
			switch string(key) {
			case "accountId":
				return d.String(&r.AccountID)
			case "type":
				return d.String(&r.Type)
			case "ARN":
				return d.String(&r.ARN)
			}
			return d.Unknown(key, resourceKeys)
		}) {
			return false
		}
		list = append(list, r)
		return true
	})
	*p = list
	return ok
}
