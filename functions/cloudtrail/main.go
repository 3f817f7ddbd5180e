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
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
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
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := setUp(context.Background(), os.Getenv, awsconfig.LoadDefaultConfig, log)
	if err != nil {
		// Exiting fails the init; Lambda retries the event, then the
		// on-failure destination keeps it.
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
	catalog, err := detect.Builtin()
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	var channels []pipeline.Channel
	if rt.SlackSecretName != "" {
		webhook := deliver.NewSecretWebhook(secretsmanager.NewFromConfig(cfg), rt.SlackSecretName)
		channels = append(channels, pipeline.Slack{Poster: &deliver.Slack{Webhook: webhook}})
	}
	if rt.TopicARN != "" {
		channels = append(channels, pipeline.Email{Publisher: &deliver.SNS{Client: sns.NewFromConfig(cfg), TopicARN: rt.TopicARN}})
	}
	enricher := &enrich.Enricher{
		Aliases:     &awslookup.Aliases{IAM: iam.NewFromConfig(cfg)},
		Buckets:     &awslookup.Buckets{S3: s3.NewFromConfig(cfg), Control: s3control.NewFromConfig(cfg)},
		History:     &awslookup.History{CloudTrail: cloudtrail.NewFromConfig(cfg)},
		HomeAccount: accountOf(rt.TopicARN),
	}
	return &pipeline.Handler{
		Pipeline: &pipeline.Pipeline{
			Catalog:      catalog.WithEnv(rt.Settings.Env),
			Suppressions: rt.Settings.Suppressions,
			Enricher:     enricher,
			Channels:     channels,
			Log:          log,
		},
		Log: log,
	}, nil
}

// accountOf reads the account from an ARN: the topic lives in the function's
// own account, so no call is needed to learn it.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[4]
	}
	return ""
}
