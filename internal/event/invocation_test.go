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
