// Command digest is the scheduled Lambda function that sends one digest per
// closed storm window: the repeats of a detection by one principal that
// the CloudTrail function held back after alerting the first. In
// organization mode it also records the member accounts' heartbeats and
// runs the hourly check that alerts on silent members (internal/heartbeat).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/internal/usercatalog"
	"github.com/trailwatch/trailwatch/internal/wire"
)

func main() { wire.Start(setUp) }

// organizationsAttempts is how often a throttled Organizations call is
// tried: its read calls allow few requests per second per account, and an
// organization of hundreds of accounts lists in tens of pages.
const organizationsAttempts = 8

// setUp builds the digest runner from the environment, wrapped in the
// heartbeat handler in organization mode.
func setUp(ctx context.Context, getenv func(string) string, load wire.LoadAWS, log *slog.Logger) (lambda.Handler, error) {
	rt, err := config.RuntimeFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if rt.StateTable == "" {
		return nil, errors.New("configuration: " + config.EnvStateTable + " is not set: digests are read from the state table")
	}
	hc, organization, err := heartbeat.ConfigFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	cfg, err := load(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	// The digests of Sigma detections name their rules: the catalog holds
	// them as the cloudtrail function's does (internal/usercatalog).
	d, err := wire.Digests(rt, cfg, log, wire.WithCatalog(usercatalog.Load))
	if err != nil || !organization {
		return d, err
	}
	return heartbeatHandler(d, hc, state.Dynamo{Client: dynamodb.NewFromConfig(cfg), Table: rt.StateTable},
		organizations.NewFromConfig(cfg, func(o *organizations.Options) { o.RetryMaxAttempts = organizationsAttempts }), log), nil
}

// heartbeatHandler wraps the digests in the heartbeat handler.
func heartbeatHandler(d *pipeline.Digests, hc heartbeat.Config, store state.Dynamo, org heartbeat.OrganizationsAPI, log *slog.Logger) *heartbeat.Handler {
	var skip []string
	if hc.HomeAccount != "" {
		skip = append(skip, hc.HomeAccount)
	}
	return &heartbeat.Handler{
		Digests: d,
		Record:  &store,
		Check: &heartbeat.Check{
			Organizations: org, Targets: hc.Targets, Regions: hc.Regions, Period: hc.Period, Skip: skip,
			Store: &store, Catalog: d.Pipeline.Catalog, Sender: d.Pipeline, Log: log,
		},
		Log: log,
	}
}
