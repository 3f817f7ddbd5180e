// Command digest is the scheduled Lambda function that sends one digest per
// closed storm window: the repeats of a detection by one principal that
// the CloudTrail function held back after alerting the first.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/sigma"
	"github.com/trailwatch/trailwatch/internal/wire"
)

func main() { wire.Start(setUp) }

// setUp builds the digest runner from the environment.
func setUp(ctx context.Context, getenv func(string) string, load wire.LoadAWS, log *slog.Logger) (*pipeline.Digests, error) {
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
	// The digests of Sigma detections name their rules: the catalog holds
	// them as the cloudtrail function's does.
	return wire.Digests(rt, cfg, log, wire.WithCatalog(func(rt config.Runtime, log *slog.Logger) (*detect.Catalog, error) {
		return sigma.Catalog(rt.SigmaRules, log)
	}))
}
