// Command cloudtrail is the Lambda function that turns CloudTrail events
// matched by trailwatch's EventBridge rules into Slack and email alerts.
// It only wires things together: configuration from the environment (names
// and ARNs, never secret values), AWS clients built once per cold start, and
// the shared pipeline from internal/. It is the only function that links the
// S3 and S3 Control clients (internal/s3lookup).
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/crossaccount"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/s3lookup"
	"github.com/trailwatch/trailwatch/internal/usercatalog"
	"github.com/trailwatch/trailwatch/internal/wire"
)

func main() { wire.Start(setUp) }

// setUp builds the handler from the environment.
func setUp(ctx context.Context, getenv func(string) string, load wire.LoadAWS, log *slog.Logger) (*pipeline.Handler, error) {
	// The user's Sigma rules (the stack's layer) beside the built-in
	// detections: only this function and digest decide them, and only
	// their build with the evaluator does (internal/usercatalog).
	return wire.Handler(ctx, getenv, load, log, lookups, wire.WithCatalog(usercatalog.Load))
}

// lookups are the CloudTrail alerts' look-ups, in the function's account
// and, in organization mode, in each member account through its look-up
// role.
func lookups(rt config.Runtime, cfg aws.Config) *enrich.Enricher {
	return crossaccount.Enricher(rt, cfg, wire.AccountOf(rt.TopicARN), accountLookups)
}

// accountLookups are one account's: the account alias, whether a bucket is
// public now, and the event history.
func accountLookups(cfg aws.Config) enrich.Lookups {
	return enrich.Lookups{
		Aliases: &awslookup.Aliases{IAM: iam.NewFromConfig(cfg)},
		Buckets: &s3lookup.Buckets{S3: s3.NewFromConfig(cfg), Control: s3control.NewFromConfig(cfg)},
		History: &awslookup.History{CloudTrail: cloudtrail.NewFromConfig(cfg)},
	}
}
