package event_test

import (
	"errors"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

func TestRuleInputRoundTrip(t *testing.T) {
	raw := fixture.Read(t, "s3/put-bucket-policy-public-read.json")
	in, err := event.ApplyRuleInputTemplate(event.RuleInputTemplate("s3-bucket-policy-public"), raw)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := event.DecodeInvocation(in)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Detection != "s3-bucket-policy-public" || inv.Event.CloudTrail.EventName != "PutBucketPolicy" {
		t.Errorf("got detection %q event %q", inv.Detection, inv.Event.CloudTrail.EventName)
	}

	bare, err := event.DecodeInvocation(raw)
	if err != nil || bare.Detection != "" || bare.Event.ID() == "" {
		t.Errorf("bare event: %+v, %v", bare, err)
	}
}

func TestDecodeInvocationRejects(t *testing.T) {
	for _, in := range []string{`not json`, `{"detection":"x"}`, `{"detection":"x","event":{"source":"aws.s3"}}`, `[]`} {
		if _, err := event.DecodeInvocation([]byte(in)); !errors.Is(err, event.ErrMalformed) {
			t.Errorf("DecodeInvocation(%s) error = %v, want ErrMalformed", in, err)
		}
	}
	if _, err := event.ApplyRuleInputTemplate(`{"event":<aws.events.event>}`, []byte(`{}`)); err == nil {
		t.Error("a template without the full-event variable was accepted")
	}
}

// FuzzDecodeInvocation: whatever the function is invoked with, decoding
// either yields an event or fails with an error the handler classifies as
// bad input (ErrMalformed or ErrTooLarge), to log and skip.
func FuzzDecodeInvocation(f *testing.F) {
	raw := `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"eventTime":"2026-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketAcl"}}`
	f.Add(`{"detection":"s3-bucket-acl-public","event":` + raw + `}`)
	f.Add(raw)
	f.Add(`{"detection":null,"event":null}`)
	f.Add(`{"detection":"x","event":"<!channel>"}`)
	f.Fuzz(func(t *testing.T, in string) {
		inv, err := event.DecodeInvocation([]byte(in))
		if err != nil {
			if !errors.Is(err, event.ErrMalformed) && !errors.Is(err, event.ErrTooLarge) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		if inv.Event == nil {
			t.Fatal("no error and no event")
		}
		_ = inv.Event.ID()
	})
}
