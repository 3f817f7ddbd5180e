// Package wire builds the production pipeline for trailwatch's Lambda
// functions from their environment: one place that turns configuration
// into AWS clients, channels and state, so the functions' main.go files stay
// wiring only and cannot drift apart.
package wire

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/deliver"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/state"
)

// Built is a pipeline and the state store behind it (nil without a table).
type Built struct {
	Pipeline *pipeline.Pipeline
	Store    *state.Dynamo
}

// Pipeline builds the CloudTrail function's pipeline for runtime
// configuration rt, with clients made once from cfg (a cold start's work;
// warm invocations reuse them).
func Pipeline(rt config.Runtime, cfg aws.Config, log *slog.Logger) (Built, error) {
	b, err := base(rt, cfg, log)
	if err != nil {
		return Built{}, err
	}
	b.Pipeline.Enricher = &enrich.Enricher{
		Aliases:     &awslookup.Aliases{IAM: iam.NewFromConfig(cfg)},
		Buckets:     &awslookup.Buckets{S3: s3.NewFromConfig(cfg), Control: s3control.NewFromConfig(cfg)},
		History:     &awslookup.History{CloudTrail: cloudtrail.NewFromConfig(cfg)},
		HomeAccount: accountOf(rt.TopicARN),
	}
	return b, nil
}

// Digests builds the digest function's runner: the channels and the state
// table, without the look-up clients only alerts need (so the digest
// function does not link them).
func Digests(rt config.Runtime, cfg aws.Config, log *slog.Logger) (*pipeline.Digests, error) {
	b, err := base(rt, cfg, log)
	if err != nil {
		return nil, err
	}
	if b.Store == nil {
		return nil, errors.New("configuration: " + config.EnvStateTable + " is not set: digests are read from the state table")
	}
	return &pipeline.Digests{Pipeline: b.Pipeline, Store: b.Store, Log: log}, nil
}

// base builds what both functions share: catalog, channels, state store.
func base(rt config.Runtime, cfg aws.Config, log *slog.Logger) (Built, error) {
	catalog, err := detect.Builtin()
	if err != nil {
		return Built{}, fmt.Errorf("catalog: %w", err)
	}
	var channels []pipeline.Channel
	if rt.SlackSecretName != "" {
		webhook := deliver.NewSecretWebhook(secretsmanager.NewFromConfig(cfg), rt.SlackSecretName)
		channels = append(channels, pipeline.Slack{Poster: &deliver.Slack{Webhook: webhook}})
	}
	if rt.TopicARN != "" {
		channels = append(channels, pipeline.Email{Publisher: &deliver.SNS{Client: sns.NewFromConfig(cfg), TopicARN: rt.TopicARN}})
	}
	p := &pipeline.Pipeline{
		Catalog:      catalog.WithEnv(rt.Settings.Env),
		Suppressions: rt.Settings.Suppressions,
		Channels:     channels,
		StormWindow:  time.Duration(rt.StormWindowMinutes) * time.Minute,
		Log:          log,
	}
	b := Built{Pipeline: p}
	if rt.StateTable != "" {
		b.Store = &state.Dynamo{Client: dynamodb.NewFromConfig(cfg), Table: rt.StateTable}
		p.Ledger, p.Storms = b.Store, b.Store
	}
	return b, nil
}

// accountOf reads the account from an ARN: the topic lives in the
// function's own account, so no call is needed to learn it.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[4]
	}
	return ""
}
