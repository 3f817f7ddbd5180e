package event_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

func TestDecodeRoundTrip(t *testing.T) {
	for _, name := range fixture.All(t) {
		t.Run(name, func(t *testing.T) {
			in := fixture.Read(t, name)
			ev, err := event.Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(ev.Envelope)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			_ = json.Unmarshal(in, &a)
			_ = json.Unmarshal(out, &b)
			if !reflect.DeepEqual(b, a) {
				t.Errorf("round trip changed the envelope:\ngot  %s\nwant %s", out, in)
			}
			if event.IsCloudTrail(ev.Envelope.DetailType) && ev.CloudTrail == nil {
				t.Error("CloudTrail detail not decoded")
			}
			if ev.ID() != ev.Envelope.ID {
				t.Errorf("ID() = %q, want the envelope ID %q", ev.ID(), ev.Envelope.ID)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	huge := `{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"x":"` + strings.Repeat("a", event.MaxSize) + `"}}`
	for _, tc := range []struct {
		name, in string
		want     error
		msg      string
	}{
		{"malformed", `{"detail-type":`, event.ErrMalformed, "unexpected end"},
		{"no detail type", `{"source":"aws.s3","detail":{}}`, event.ErrMalformed, "no detail-type"},
		{"cloudtrail without detail", `{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3"}`, event.ErrMalformed, "has no detail"},
		{"detail not a record", `{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"foo":1}}`, event.ErrMalformed, "missing eventSource"},
		{"wrong type", `{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","time":5}`, event.ErrMalformed, `field "time": got JSON 5`},
		{"wrong field type", `{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3","resources":"x"}`, event.ErrMalformed, `field "resources"`},
		{"too large", huge, event.ErrTooLarge, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := event.Decode([]byte(tc.in))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Decode() = %+v, %v; want %v mentioning %q", ev, err, tc.want, tc.msg)
			}
		})
	}
}

func TestDecodeUnknownDetailType(t *testing.T) {
	ev, err := event.Decode([]byte(`{"version":"0","id":"x","detail-type":"Some Future Event","source":"aws.future","detail":{"a":1}}`))
	if err != nil {
		t.Fatalf("an unknown detail type must decode: %v", err)
	}
	if ev.CloudTrail != nil {
		t.Error("unknown detail type got a CloudTrail record")
	}
}

func TestFromRecord(t *testing.T) {
	raw := `{"eventTime":"2026-01-02T03:04:05Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"e-1"}`
	rec, err := cloudtrail.Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.FromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := event.Envelope{Version: "0", DetailType: event.DetailTypeConsoleSignIn, Source: "aws.signin", Account: "111122223333",
		Time: rec.EventTime, Region: "us-east-1", Resources: []string{}, Detail: json.RawMessage(raw)}
	if !reflect.DeepEqual(ev.Envelope, want) {
		t.Errorf("envelope = %+v\nwant %+v", ev.Envelope, want)
	}
	if ev.ID() != "e-1" {
		t.Errorf("ID() = %q, want the eventID", ev.ID())
	}
	back, err := event.Decode(ev.JSON)
	if err != nil || back.CloudTrail.EventName != "ConsoleLogin" {
		t.Errorf("the wrapped event does not decode back: %v", err)
	}
}

// TestFromRecordIn: the envelope written in the record's own buffer holds
// the same members as FromRecord's, detail first, in that buffer, and a
// buffer that does not hold the record after the prefix is refused.
func TestFromRecordIn(t *testing.T) {
	raw := `{"eventTime":"2026-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"eu-west-1","recipientAccountId":"111122223333","eventID":"e-2","requestParameters":{"bucketName":"<b>&"}}`
	buf := append(make([]byte, 0, 1024), event.DetailFirst+raw...)
	rec, err := cloudtrail.DecodeOwned(buf[len(event.DetailFirst):])
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.FromRecordIn(rec, buf)
	if err != nil {
		t.Fatal(err)
	}
	want, err := event.FromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got, wantMembers map[string]any
	if err := json.Unmarshal(ev.JSON, &got); err != nil {
		t.Fatalf("envelope %s: %v", ev.JSON, err)
	}
	if err := json.Unmarshal(want.JSON, &wantMembers); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantMembers) || !reflect.DeepEqual(ev.Envelope, want.Envelope) {
		t.Errorf("envelope in place = %s\nFromRecord = %s", ev.JSON, want.JSON)
	}
	if &ev.JSON[0] != &buf[0] {
		t.Error("the envelope was not written in the record's buffer")
	}
	for _, bad := range [][]byte{[]byte(raw), []byte(event.DetailFirst + raw + " ")} {
		if _, err := event.FromRecordIn(rec, bad); err == nil {
			t.Errorf("FromRecordIn(%.20q...) = nil error, want a refusal", bad)
		}
	}
}

func TestSourceFor(t *testing.T) {
	for in, want := range map[string]string{"s3.amazonaws.com": "aws.s3", "monitoring.amazonaws.com": "aws.monitoring", "iam.amazonaws.com": "aws.iam"} {
		if got := event.SourceFor(in); got != want {
			t.Errorf("SourceFor(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"eventTime":"2026-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketAcl"}}`)
	f.Add(`{"detail-type":"Some Future Event","source":"aws.future","detail":null}`)
	f.Fuzz(func(t *testing.T, in string) {
		ev, err := event.Decode([]byte(in))
		if err != nil {
			return
		}
		_ = ev.ID()
		if event.IsCloudTrail(ev.Envelope.DetailType) && ev.CloudTrail == nil {
			t.Fatal("CloudTrail detail type decoded without a record")
		}
	})
}
