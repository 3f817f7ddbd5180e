// Command cloudtrail is the Lambda function that turns CloudTrail events
// matched by trailwatch's EventBridge rules into Slack and email alerts.
// It only wires things together: configuration from the environment (names
// and ARNs, never secret values), AWS clients built once per cold start, and
// the shared pipeline from internal/.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/wire"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := setUp(context.Background(), os.Getenv, loadAWS, log)
	if err != nil {
		// Exiting fails the init; Lambda retries the event, then the
		// on-failure destination keeps it.
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// loadConfig loads the AWS configuration; tests pass a loader that points
// the clients at local servers.
type loadConfig func(ctx context.Context) (aws.Config, error)

// loadAWS reads the AWS configuration Lambda gives the function.
func loadAWS(context.Context) (aws.Config, error) { return wire.AWSConfig(os.Getenv) }

// setUp builds the handler from the environment.
func setUp(ctx context.Context, getenv func(string) string, load loadConfig, log *slog.Logger) (*pipeline.Handler, error) {
	rt, err := config.RuntimeFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	cfg, err := load(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	b, err := wire.Pipeline(rt, cfg, log)
	if err != nil {
		return nil, err
	}
	return &pipeline.Handler{Pipeline: b.Pipeline, Log: log}, nil
}
