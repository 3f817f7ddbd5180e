// Command cloudtrail is the Lambda function that turns CloudTrail events
// matched by trailwatch's EventBridge rules into Slack and email alerts.
// It only wires things together: configuration from the environment (names
// and ARNs, never secret values), AWS clients built once per cold start, and
// the shared pipeline from internal/.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/wire"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := setUp(context.Background(), os.Getenv, wire.Lambda, log)
	if err != nil {
		// Exiting fails the init; Lambda retries the event, then the
		// on-failure destination keeps it.
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// setUp builds the handler from the environment, with the look-ups of
// CloudTrail alerts (account alias, bucket exposure, event history).
func setUp(ctx context.Context, getenv func(string) string, load wire.LoadAWS, log *slog.Logger) (*pipeline.Handler, error) {
	return wire.Handler(ctx, getenv, load, log, wire.CloudTrailLookups)
}
