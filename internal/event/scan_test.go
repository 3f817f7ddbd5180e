package event

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

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

func TestScanEnvelopeAgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range envelopeCases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, ok := scanEnvelope([]byte(tc.in)); ok != tc.ok {
				t.Errorf("ok = %v, want %v", ok, tc.ok)
			}
			agreeEnvelope(t, []byte(tc.in))
		})
	}
	for _, name := range fixture.All(t) {
		t.Run(name, func(t *testing.T) {
			raw := fixture.Read(t, name)
			if _, _, ok := scanEnvelope(raw); !ok {
				t.Errorf("a recorded envelope is not read without reflection")
			}
			agreeEnvelope(t, raw)
		})
	}
}

func FuzzScanEnvelope(f *testing.F) {
	for _, tc := range envelopeCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		agreeEnvelope(t, in)
	})
}

func agreeEnvelope(t *testing.T, in []byte) {
	t.Helper()
	got, gotTime, ok := scanEnvelope(in)
	if !ok {
		return
	}
	want, wantTime, err := unmarshalEnvelope(in)
	if err != nil {
		t.Fatalf("scanEnvelope read input encoding/json rejects (%v): %q", err, in)
	}
	if !reflect.DeepEqual(got, want) || !bytes.Equal(gotTime, wantTime) || (gotTime == nil) != (wantTime == nil) {
		t.Fatalf("scanEnvelope and encoding/json disagree on %q:\n scan %+v time %q\n json %+v time %q", in, got, gotTime, want, wantTime)
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
