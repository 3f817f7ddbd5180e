package cloudtrail_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

func detailOf(t *testing.T, name string) []byte {
	t.Helper()
	var env struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(fixture.Read(t, name), &env); err != nil {
		t.Fatal(err)
	}
	return env.Detail
}

// TestRoundTrip decodes every S3 fixture's record, encodes it again and
// compares the two as JSON values: every field the fixtures use is modelled.
func TestRoundTrip(t *testing.T) {
	for _, name := range fixture.All(t) {
		if !strings.HasPrefix(name, "s3/") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			in := detailOf(t, name)
			rec, err := cloudtrail.Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(in, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b, a) {
				t.Errorf("round trip changed the record:\ngot  %s\nwant %s", out, in)
			}
		})
	}
}

func TestDecodeKeepsUnknownFields(t *testing.T) {
	in := `{"eventVersion":"1.99","eventTime":"2026-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy",
		"userIdentity":{"type":"IAMUser","futureField":{"x":1}},"brandNewTopLevel":[1,2,3]}`
	rec, err := cloudtrail.Decode([]byte(in))
	if err != nil {
		t.Fatalf("unknown fields broke decoding: %v", err)
	}
	if rec.UserIdentity.Type != "IAMUser" || !strings.Contains(string(rec.Raw), "brandNewTopLevel") {
		t.Errorf("got %+v; raw %s", rec.UserIdentity, rec.Raw)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"truncated", `{"eventName":"PutBucketPolicy"`, "unexpected end"},
		{"not an object", `[1]`, "got JSON array, want an object"},
		{"wrong type", `{"eventName":5,"eventSource":"s3.amazonaws.com","eventTime":"2026-01-02T03:04:05Z"}`, `field "eventName"`},
		{"wrong identity type", `{"eventName":"X","eventSource":"s","eventTime":"2026-01-02T03:04:05Z","userIdentity":"root"}`, `field "userIdentity"`},
		{"bad time", `{"eventName":"X","eventSource":"s","eventTime":"yesterday"}`, `field "eventTime": "yesterday" is not RFC 3339`},
		{"time of wrong type", `{"eventName":"X","eventSource":"s","eventTime":12}`, `field "eventTime": got JSON 12`},
		{"missing fields", `{"userIdentity":{}}`, "missing eventSource, eventName, eventTime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := cloudtrail.Decode([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode() = %+v, %v; want error containing %q", rec, err, tc.want)
			}
		})
	}
	_, err := cloudtrail.Decode([]byte(`{"userIdentity":{}}`))
	if !errors.Is(err, cloudtrail.ErrNotRecord) {
		t.Errorf("missing fields: %v is not ErrNotRecord", err)
	}
}

func TestMFA(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          string
		used, known bool
	}{
		{"session with MFA", `{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"true"}}}}`, true, true},
		{"session without MFA", `{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"false"}}}}`, false, true},
		{"long-term key", `{"userIdentity":{"type":"IAMUser","accessKeyId":"AKIA..."}}`, false, false},
		{"console login with MFA", `{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"Yes"}}`, true, true},
		{"console login without MFA", `{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"No"}}`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec cloudtrail.Record
			if err := json.Unmarshal([]byte(tc.in), &rec); err != nil {
				t.Fatal(err)
			}
			used, known := rec.MFA()
			if used != tc.used || known != tc.known {
				t.Errorf("MFA() = %v, %v; want %v, %v", used, known, tc.used, tc.known)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"eventTime":"2026-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"true"}}}}`)
	f.Add(`{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"Yes"}}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, in string) {
		rec, err := cloudtrail.Decode([]byte(in))
		if err != nil {
			return
		}
		rec.MFA()
		rec.Account()
		if _, err := json.Marshal(rec); err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
	})
}
