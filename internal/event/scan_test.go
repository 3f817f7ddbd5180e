package event

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

var envelopeCases = []struct {
	name, in string
	ok       bool
}{
	{"minimal", `{"detail-type":"x","source":"y","detail":{}}`, true},
	{"resources", `{"resources":["arn:a",null,"arn:\u0062"],"time":"2026-01-01T00:00:00Z"}`, true},
	{"empty and null resources", `{"resources":[],"detail":null}`, true},
	{"null resources", `{"resources":null}`, true},
	{"unknown member", `{"replay-name":"x","detail":[1,{"a":[]}]}`, true},
	{"repeated resources", `{"resources":["a"],"resources":["b"]}`, false},
	{"case-insensitive key", `{"Source":"x"}`, false},
	{"wrong type", `{"resources":"x"}`, false},
	{"number in list", `{"resources":[1]}`, false},
	{"broken detail", `{"detail":{"a":}}`, false},
}

// recordCases are envelopes whose detail scanEnvelope reads as a CloudTrail
// record (record) or leaves to cloudtrail.DecodeShared.
var recordCases = []struct {
	name, in string
	record   bool
}{
	{"record", `{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":` + minimalRecord + `}`, true},
	{"detail before detail-type", `{"detail":` + minimalRecord + `,"detail-type":"AWS API Call via CloudTrail","source":"aws.s3"}`, false},
	{"detail-type replaced", `{"detail-type":"AWS API Call via CloudTrail","detail":` + minimalRecord + `,"detail-type":"Other"}`, false},
	{"detail-type replaced by another CloudTrail type", `{"detail-type":"AWS API Call via CloudTrail","detail":` + minimalRecord + `,"detail-type":"AWS Console Sign In via CloudTrail"}`, false},
	{"detail replaced", `{"detail-type":"AWS API Call via CloudTrail","detail":` + minimalRecord + `,"detail":{"x":1}}`, false},
	{"record replaced by a record", `{"detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"a","eventName":"B","eventTime":"2025-01-01T00:00:00Z"},"detail":` + minimalRecord + `}`, true},
	{"not a record, then a record", `{"detail-type":"AWS API Call via CloudTrail","detail":{"x":1},"detail":` + minimalRecord + `}`, false},
	{"record without eventName", `{"detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"s3.amazonaws.com","eventTime":"2026-01-01T00:00:00Z"}}`, false},
	{"record with a bad eventTime", `{"detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"s3.amazonaws.com","eventName":"X","eventTime":"yesterday"}}`, false},
	{"record with an escaped key", `{"detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"s3.amazonaws.com","eventNam\u0065":"X","eventTime":"2026-01-01T00:00:00Z"}}`, false},
	{"null detail", `{"detail-type":"AWS API Call via CloudTrail","detail":null}`, false},
}

const minimalRecord = `{"eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","eventTime":"2026-01-01T00:00:00Z","userIdentity":{"type":"Root"}}`

func TestScanEnvelopeAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range envelopeCases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, ok := scanEnvelope([]byte(tc.in), false); ok != tc.ok {
				t.Errorf("ok = %v, want %v", ok, tc.ok)
			}
			agreeEnvelope(t, []byte(tc.in))
		})
	}
	for _, tc := range recordCases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, rec, _ := scanEnvelope([]byte(tc.in), true)
			if (rec != nil) != tc.record {
				t.Errorf("record read: %v, want %v", rec != nil, tc.record)
			}
			agreeEnvelope(t, []byte(tc.in))
		})
	}
	for _, name := range fixture.All(t) {
		t.Run(name, func(t *testing.T) {
			raw := fixture.Read(t, name)
			env, _, rec, ok := scanEnvelope(raw, true)
			if !ok {
				t.Errorf("a recorded envelope is not read without reflection")
			}
			if IsCloudTrail(env.DetailType) && rec == nil {
				t.Errorf("a recorded CloudTrail record is not read with its envelope")
			}
			agreeEnvelope(t, raw)
		})
	}
}

func FuzzScanEnvelope(f *testing.F) {
	for _, tc := range envelopeCases {
		f.Add([]byte(tc.in))
	}
	for _, tc := range recordCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		agreeEnvelope(t, in)
	})
}

// agreeEnvelope holds scanEnvelope, without and with the record, to
// encoding/json and cloudtrail.DecodeShared.
func agreeEnvelope(t *testing.T, in []byte) {
	t.Helper()
	for _, withRecord := range []bool{false, true} {
		got, gotTime, rec, ok := scanEnvelope(in, withRecord)
		if !ok {
			continue
		}
		want, wantTime, err := unmarshalEnvelope(in)
		if err != nil {
			t.Fatalf("scanEnvelope read input encoding/json rejects (%v): %q", err, in)
		}
		if !reflect.DeepEqual(got, want) || !bytes.Equal(gotTime, wantTime) || (gotTime == nil) != (wantTime == nil) {
			t.Fatalf("scanEnvelope and encoding/json disagree on %q:\n scan %+v time %q\n json %+v time %q", in, got, gotTime, want, wantTime)
		}
		if rec == nil {
			continue
		}
		if !withRecord || !IsCloudTrail(want.DetailType) {
			t.Fatalf("scanEnvelope(%q, %v) read a record for detail type %q", in, withRecord, want.DetailType)
		}
		wantRec, err := cloudtrail.DecodeShared(want.Detail)
		if err != nil {
			t.Fatalf("scanEnvelope read a record DecodeShared rejects (%v): %q", err, in)
		}
		if !reflect.DeepEqual(rec, wantRec) {
			t.Fatalf("scanEnvelope and DecodeShared disagree on the record of %q:\n scan %+v\n decode %+v", in, rec, wantRec)
		}
	}
}

var probeCases = []struct {
	name, in string
	ok       bool
}{
	{"rule input", `{"detection":"s3-public","event":{"id":"1"}}`, true},
	{"bare event", `{"id":"1","detail":{"x":[true]}}`, true},
	{"null detection", `{"detection":null,"event":null}`, true},
	{"escaped id", `{"detection":"a\"b","event":{}}`, true},
	{"repeated detection", `{"detection":"a","detection":null}`, true},
	{"number id", `{"detection":1}`, false},
	{"case-insensitive key", `{"Detection":"a"}`, false},
	{"not an object", `"x"`, false},
}

func TestScanProbeAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range probeCases {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := scanProbe([]byte(tc.in)); ok != tc.ok {
				t.Errorf("ok = %v, want %v", ok, tc.ok)
			}
			agreeProbe(t, []byte(tc.in))
		})
	}
}

func FuzzScanProbe(f *testing.F) {
	for _, tc := range probeCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		agreeProbe(t, in)
	})
}

func agreeProbe(t *testing.T, in []byte) {
	t.Helper()
	got, ok := scanProbe(in)
	if !ok {
		return
	}
	var want probe
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatalf("scanProbe read input encoding/json rejects (%v): %q", err, in)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scanProbe and encoding/json disagree on %q: scan %+v, json %+v", in, got, want)
	}
}
