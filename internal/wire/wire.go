// Package wire builds the production pipeline for trailwatch's Lambda
// functions from their environment: one place that turns configuration
// into AWS clients, channels and state, so the functions' main.go files stay
// wiring only and cannot drift apart.
package wire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/deliver"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/orglookup"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/state"
)

// Built is a pipeline and the state store behind it (nil without a table).
type Built struct {
	Pipeline *pipeline.Pipeline
	Store    *state.Dynamo
	// Directory places accounts in the organization (organization mode
	// only): routes decide by it, alerts print it.
	Directory *orglookup.Directory
}

// Lookups builds a function's enricher: the AWS look-ups its alerts need,
// with clients made once from cfg (a cold start's work; warm invocations
// reuse them). Each function declares its own Lookups in its main package
// and this package makes no look-up clients, so a function links only the
// SDK clients its Lookups makes.
type Lookups func(rt config.Runtime, cfg aws.Config) *enrich.Enricher

// WithLookups builds an alerting function's pipeline with the enricher
// lookups makes.
func WithLookups(rt config.Runtime, cfg aws.Config, log *slog.Logger, lookups Lookups, opts ...Option) (Built, error) {
	b, err := base(rt, cfg, log, opts...)
	if err != nil {
		return Built{}, err
	}
	en := lookups(rt, cfg)
	if b.Directory != nil && en.Directory == nil {
		en.Directory = b.Directory
	}
	b.Pipeline.Enricher = en
	return b, nil
}

// LoadAWS loads the AWS configuration; tests pass a loader that points the
// clients at local servers.
type LoadAWS func(ctx context.Context) (aws.Config, error)

// Lambda loads the AWS configuration Lambda gives the function.
func Lambda(context.Context) (aws.Config, error) { return AWSConfig(os.Getenv) }

// Start is a function's main: it builds the handler from the process's
// environment and the AWS configuration Lambda gives it, then hands it to
// the Lambda runtime. A build error is logged and exits the process, which
// fails the init: Lambda retries the event, then the on-failure destination
// keeps it.
func Start[H any](build func(ctx context.Context, getenv func(string) string, load LoadAWS, log *slog.Logger) (H, error)) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := build(context.Background(), os.Getenv, Lambda, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// Handler builds an alerting function's handler from its environment
// (getenv): the runtime configuration, the AWS configuration from load, and
// the pipeline with the enricher lookups makes.
func Handler(ctx context.Context, getenv func(string) string, load LoadAWS, log *slog.Logger, lookups Lookups, opts ...Option) (*pipeline.Handler, error) {
	rt, err := config.RuntimeFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	cfg, err := load(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	b, err := WithLookups(rt, cfg, log, lookups, opts...)
	if err != nil {
		return nil, err
	}
	return &pipeline.Handler{Pipeline: b.Pipeline, Log: log}, nil
}

// Digests builds the digest function's runner: the channels and the state
// table, without the look-up clients only alerts need (so the digest
// function does not link them).
func Digests(rt config.Runtime, cfg aws.Config, log *slog.Logger, opts ...Option) (*pipeline.Digests, error) {
	b, err := base(rt, cfg, log, opts...)
	if err != nil {
		return nil, err
	}
	if b.Store == nil {
		return nil, errors.New("configuration: " + config.EnvStateTable + " is not set: digests are read from the state table")
	}
	return &pipeline.Digests{Pipeline: b.Pipeline, Store: b.Store, Log: log}, nil
}

// base builds what both functions share: catalog, channels, state store.
func base(rt config.Runtime, cfg aws.Config, log *slog.Logger, opts ...Option) (Built, error) {
	o := options{catalog: builtinCatalog}
	for _, opt := range opts {
		opt(&o)
	}
	catalog, err := o.catalog(rt, log)
	if err != nil {
		return Built{}, fmt.Errorf("catalog: %w", err)
	}
	static := render.NewStatic(catalog.All())
	mk := channelMaker{cfg: cfg, static: static}
	channels := mk.channels("", rt.SlackSecretName, rt.TopicARN)
	catalog, err = catalog.WithEnv(rt.Settings.Env)
	if err != nil {
		return Built{}, fmt.Errorf("catalog: %w", err)
	}
	p := &pipeline.Pipeline{
		Catalog:      catalog,
		Suppressions: rt.Settings.Suppressions,
		Channels:     channels,
		StormWindow:  time.Duration(rt.StormWindowMinutes) * time.Minute,
		Log:          log,
	}
	b := Built{Pipeline: p}
	if rt.OrganizationID != "" {
		// One directory per execution environment: its caches serve the
		// routes and every alert's Who/Where.
		b.Directory = &orglookup.Directory{Client: organizations.NewFromConfig(cfg)}
	}
	if len(rt.Routes) > 0 {
		r := &pipeline.Routing{Table: rt.Routes, Channels: map[string][]pipeline.Channel{}}
		if b.Directory != nil {
			r.Directory = b.Directory
		}
		for _, route := range rt.Routes {
			r.Channels[route.Name] = mk.channels(route.Name, route.SlackSecretName, route.TopicARN)
		}
		p.Routing = r
	}
	if rt.StateTable != "" {
		b.Store = &state.Dynamo{Client: dynamodb.NewFromConfig(cfg), Table: rt.StateTable}
		p.Ledger, p.Storms, p.Counter = b.Store, b.Store, b.Store
	}
	return b, nil
}

// Option changes how a function's pipeline is built.
type Option func(*options)

type options struct {
	catalog CatalogFunc
}

// CatalogFunc builds a function's catalog from its configuration.
type CatalogFunc func(rt config.Runtime, log *slog.Logger) (*detect.Catalog, error)

// WithCatalog builds the catalog with f instead of the built-in one: the
// functions that decide the user's Sigma rules pass internal/sigma's, so
// only they link the Sigma evaluator (and pay its package initialization
// at every cold start).
func WithCatalog(f CatalogFunc) Option { return func(o *options) { o.catalog = f } }

func builtinCatalog(config.Runtime, *slog.Logger) (*detect.Catalog, error) { return detect.Builtin() }

// channelMaker makes channels with clients shared by all of them.
type channelMaker struct {
	cfg    aws.Config
	static *render.Static
	sm     *secretsmanager.Client
	sns    *sns.Client
}

// channels are the Slack channel of secret and the email channel of
// topic (each when named), for route ("" for the default channels).
func (m *channelMaker) channels(route, secret, topic string) []pipeline.Channel {
	var out []pipeline.Channel
	if secret != "" {
		if m.sm == nil {
			m.sm = secretsmanager.NewFromConfig(m.cfg)
		}
		webhook := deliver.NewSecretWebhook(m.sm, secret)
		out = append(out, pipeline.Slack{Route: route, Poster: &deliver.Slack{Webhook: webhook}, Static: m.static})
	}
	if topic != "" {
		if m.sns == nil {
			m.sns = sns.NewFromConfig(m.cfg)
		}
		out = append(out, pipeline.Email{Route: route, Publisher: &deliver.SNS{Client: m.sns, TopicARN: topic}, Static: m.static})
	}
	return out
}

// AccountOf reads the account from an ARN: the topic lives in the
// function's own account, so no call is needed to learn it.
func AccountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[4]
	}
	return ""
}
