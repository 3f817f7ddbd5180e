package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/trailwatch/trailwatch/internal/event"
)

// Handler is the CloudTrail Lambda function's handler.
type Handler struct {
	Pipeline *Pipeline
	Log      *slog.Logger
}

// Handle processes one invocation. Input that cannot be an alert (malformed
// JSON, an unknown detail type, an oversized event) is logged with whatever
// identifies it and skipped: retrying would not help. An error is returned
// only when delivery failed, so Lambda retries and then the dead-letter
// queue keeps the event.
func (h *Handler) Handle(ctx context.Context, payload []byte) error {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	inv, err := event.DecodeInvocation(payload)
	if err != nil {
		log.Warn("skipped undecodable input", "reason", err.Error(), "bytes", len(payload), "id", probeID(payload))
		return nil
	}
	if !inv.Event.Known() {
		log.Warn("skipped event of an unsupported type", "event_id", inv.Event.ID(), "detail_type", inv.Event.Envelope.DetailType, "source", inv.Event.Envelope.Source)
		return nil
	}
	_, err = h.Pipeline.Process(ctx, inv.Event, inv.Detection)
	return err
}

// Invoke implements lambda.Handler. The runtime hands a lambda.Handler the
// raw payload; with a typed argument it would decode the JSON itself and
// fail on malformed input before Handle could log and skip it, and Lambda
// would retry input that can never succeed.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return nil, h.Handle(ctx, payload)
}

var _ lambda.Handler = (*Handler)(nil)

// probeID pulls an identifier out of input that did not decode, for logs.
func probeID(payload []byte) string {
	var p struct {
		ID     string              `json:"id"`
		Event  struct{ ID string } `json:"event"`
		Detail struct {
			EventID string `json:"eventID"`
		} `json:"detail"`
	}
	_ = json.Unmarshal(payload, &p)
	for _, id := range []string{p.ID, p.Event.ID, p.Detail.EventID} {
		if id != "" && len(id) <= 128 {
			return id
		}
	}
	return ""
}
