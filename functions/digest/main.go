// Command digest is the scheduled Lambda function that sends one digest per
// closed storm window: the repeats of a detection by one principal that
// the CloudTrail function held back after alerting the first.
package main

import (
	"context"
	"errors"
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
	d, err := setUp(context.Background(), os.Getenv, loadAWS, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	lambda.Start(d)
}

// loadConfig loads the AWS configuration; tests pass a loader that points
// the clients at local servers.
type loadConfig func(ctx context.Context) (aws.Config, error)

// loadAWS reads the AWS configuration Lambda gives the function.
func loadAWS(context.Context) (aws.Config, error) { return wire.AWSConfig(os.Getenv) }

// setUp builds the digest runner from the environment.
func setUp(ctx context.Context, getenv func(string) string, load loadConfig, log *slog.Logger) (*pipeline.Digests, error) {
	rt, err := config.RuntimeFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if rt.StateTable == "" {
		return nil, errors.New("configuration: " + config.EnvStateTable + " is not set: digests are read from the state table")
	}
	cfg, err := load(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	return wire.Digests(rt, cfg, log)
}
