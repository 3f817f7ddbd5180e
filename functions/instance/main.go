// Command instance is the Lambda function for alerts about EC2 instances:
// trailwatch's CPU alarms (and the alarms named in its configuration)
// changing state, and GuardDuty's crypto-mining findings. It wires the same
// pipeline as the CloudTrail function with the look-ups that name the hot
// instances and who launched them. The EC2 and CloudWatch clients live
// only in this function's binary; the S3 and S3 Control clients
// (internal/s3lookup) are not linked into it.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/crossaccount"
	"github.com/trailwatch/trailwatch/internal/ec2lookup"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/wire"
)

func main() { wire.Start(setUp) }

// setUp builds the handler from the environment.
func setUp(ctx context.Context, getenv func(string) string, load wire.LoadAWS, log *slog.Logger) (*pipeline.Handler, error) {
	return wire.Handler(ctx, getenv, load, log, lookups)
}

// lookups are the instance alerts' look-ups, in the function's account
// and, in organization mode, in each member account through its look-up
// role.
func lookups(rt config.Runtime, cfg aws.Config) *enrich.Enricher {
	return crossaccount.Enricher(rt, cfg, wire.AccountOf(rt.TopicARN), accountLookups)
}

// accountLookups are one account's: the account alias, and the instances
// (hot CPU, description, launch event).
func accountLookups(cfg aws.Config) enrich.Lookups {
	return enrich.Lookups{
		Aliases:   &awslookup.Aliases{IAM: iam.NewFromConfig(cfg)},
		Instances: ec2lookup.New(cfg),
	}
}
