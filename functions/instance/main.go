// Command instance is the Lambda function for alerts about EC2 instances:
// trailwatch's CPU alarms (and the alarms named in its configuration)
// changing state, and GuardDuty's crypto-mining findings. It wires the same
// pipeline as the CloudTrail function plus the EC2, CloudWatch and
// CloudTrail look-ups that name the hot instances and who launched them;
// those clients live only in this function's binary.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/ec2lookup"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/wire"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := setUp(context.Background(), os.Getenv, awsconfig.LoadDefaultConfig, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// loadConfig is awsconfig.LoadDefaultConfig; tests pass a loader that points
// the clients at local servers.
type loadConfig func(ctx context.Context, optFns ...func(*awsconfig.LoadOptions) error) (aws.Config, error)

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
	b.Pipeline.Enricher.Instances = ec2lookup.New(cfg)
	return &pipeline.Handler{Pipeline: b.Pipeline, Log: log}, nil
}
