// Command scan is the Lambda function of the distributed scan: each child
// of the Step Functions Distributed Map scans a batch of archive objects,
// and the last step merges the batches into the summary
// (internal/scanjob). It makes the S3 client only.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailwatch/trailwatch/internal/scanjob"
	"github.com/trailwatch/trailwatch/internal/wire"
)

func main() { wire.Start(setUp) }

// handler is the function's Lambda handler.
type handler func(ctx context.Context, event json.RawMessage) (any, error)

// setUp builds the handler from the environment.
func setUp(ctx context.Context, getenv func(string) string, load wire.LoadAWS, log *slog.Logger) (handler, error) {
	cfg, err := load(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// A custom endpoint (a local S3-compatible server) takes
		// path-style requests.
		o.UsePathStyle = o.BaseEndpoint != nil
	})
	job, err := scanjob.FromEnv(getenv, client, log)
	if err != nil {
		return nil, err
	}
	return job.Handle, nil
}
