package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/trailwatch/trailwatch/internal/awslookup"
	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/crossaccount"
	"github.com/trailwatch/trailwatch/internal/deliver"
	"github.com/trailwatch/trailwatch/internal/enrich"
	"github.com/trailwatch/trailwatch/internal/orglookup"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/replay"
	"github.com/trailwatch/trailwatch/internal/s3lookup"
	"github.com/trailwatch/trailwatch/internal/state"
	"github.com/trailwatch/trailwatch/internal/stslookup"
)

// awsLoader loads AWS configuration; tests replace it to reach local servers.
type awsLoader func(ctx context.Context, region string) (aws.Config, error)

func defaultAWS(ctx context.Context, region string) (aws.Config, error) {
	// The SDK's own warnings (e.g. about the EC2 metadata service on a
	// laptop) would interleave with the output; failures surface as errors.
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithLogger(logging.Nop{})}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	return awsconfig.LoadDefaultConfig(ctx, opts...)
}

func replayCmd(ctx context.Context, args []string, stdout, stderr io.Writer, loadAWS awsLoader) int {
	fs := newFlagSet("replay", stderr)
	format := fs.String("format", replay.FormatText, "output: text, json, slack (webhook payloads) or email (subject and body)")
	webhook := fs.String("slack-webhook", "", "deliver each alert to this Slack incoming webhook URL")
	topic := fs.String("sns-topic-arn", "", "publish each alert as an email to this SNS topic")
	offline := fs.Bool("offline", false, "never call AWS: skip the account alias and bucket look-ups")
	verbose := fs.Bool("verbose", false, "log each event's outcome to stderr")
	settingsFile := fs.String("settings", "", "JSON file with the deployment's detection settings and allow-lists: {\"env\": {...}, \"suppressions\": [...]} (the function's TRAILWATCH_SETTINGS)")
	sigmaDir := fs.String("sigma", "", sigmaFlagUsage)
	lookupRole := fs.String("lookup-role", "", "look up events of other accounts through this role in each (TrailwatchLookup, as organization mode's functions do)")
	organization := fs.Bool("organization", false, "name each event's account and its OU path from AWS Organizations (management or delegated administrator credentials)")
	paths, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	if err := oneOf(*format, replay.Formats); err != nil {
		fmt.Fprintf(stderr, "trailwatch replay: %v\n", err)
		return exitUsage
	}
	if len(paths) == 0 {
		fmt.Fprintf(stderr, "trailwatch replay: name at least one file or folder of events\n")
		return exitUsage
	}
	if *offline && (*lookupRole != "" || *organization) {
		fmt.Fprintf(stderr, "trailwatch replay: --lookup-role and --organization look up in AWS; --offline never does\n")
		return exitUsage
	}
	if *lookupRole != "" && !roleNameRe.MatchString(*lookupRole) {
		fmt.Fprintf(stderr, "trailwatch replay: --lookup-role: %q is not an IAM role name\n", *lookupRole)
		return exitUsage
	}
	catalog, _, sigmaRefused, err := catalogWith(*sigmaDir, "replay", stderr)
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch replay: %v\n", err)
		return exitUsage
	}
	var settings config.Settings
	if *settingsFile != "" {
		if settings, err = readSettings(*settingsFile); err != nil {
			fmt.Fprintf(stderr, "trailwatch replay: --settings: %v\n", err)
			return exitUsage
		}
	}
	log := logger(stderr, *verbose)

	var channels []pipeline.Channel
	if *webhook != "" {
		if err := deliver.ValidateWebhookURL(*webhook); err != nil {
			fmt.Fprintf(stderr, "trailwatch replay: --slack-webhook: %v\n", err)
			return exitUsage
		}
		channels = append(channels, pipeline.Slack{Poster: &deliver.Slack{Webhook: deliver.StaticWebhook(*webhook)}, Static: render.NewStatic(catalog.All())})
	}

	enricher := &enrich.Enricher{Replay: true, Offline: "offline replay (--offline)"}
	needAWS := *topic != "" || !*offline
	if needAWS {
		region := regionOf(*topic)
		cfg, reason := awsAccess(ctx, loadAWS, region)
		switch {
		case reason != "" && *topic != "":
			fmt.Fprintf(stderr, "trailwatch replay: --sns-topic-arn needs AWS credentials: %s\n", reason)
			return exitUsage
		case reason != "":
			enricher.Offline = reason
		default:
			if !*offline {
				enricher = onlineEnricher(ctx, cfg, *lookupRole, *organization)
			}
			if *topic != "" {
				channels = append(channels, pipeline.Email{Publisher: &deliver.SNS{Client: sns.NewFromConfig(cfg), TopicARN: *topic}})
			}
		}
	}

	// One run is one process: an in-process store makes replay behave as
	// production does (an event delivered once, storms summarized).
	store := state.NewMemory()
	catalog, err = catalog.WithEnv(settings.Env)
	if err == nil {
		err = catalog.Compile()
	}
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch: %v\n", err)
		return exitUsage
	}
	p := &pipeline.Pipeline{
		Catalog:      catalog,
		Suppressions: settings.Suppressions,
		Enricher:     enricher,
		Channels:     channels,
		Ledger:       store,
		Storms:       store,
		Counter:      store,
		Log:          log,
	}
	r := &replay.Runner{
		Pipeline: p,
		Digests:  &pipeline.Digests{Pipeline: p, Store: store, Log: log},
		Format:   *format,
		Out:      stdout,
		Errs:     stderr,
	}
	sum, err := r.Run(ctx, paths)
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch replay: %v\n", err)
		return exitDelivery
	}
	if *verbose || sum.DeliveryFailures > 0 || sum.Unreadable > 0 {
		fmt.Fprintf(stderr, "trailwatch replay: %s, %s, %s in %s, %s, %s\n",
			count(sum.Events, "event"), count(sum.Alerts, "alert"), count(sum.Repeats, "repeat"), count(sum.Digests, "digest"),
			count(sum.Unreadable, "unreadable input"), count(sum.DeliveryFailures, "failed delivery"))
	}
	switch {
	case sum.DeliveryFailures > 0:
		return exitDelivery
	case sum.Unreadable > 0, sigmaRefused:
		return exitUnreadable
	}
	return exitOK
}

// awsAccess loads configuration and checks that credentials exist, within a
// few seconds, so a laptop without credentials replays offline at once.
func awsAccess(ctx context.Context, load awsLoader, region string) (aws.Config, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cfg, err := load(ctx, region)
	if err != nil {
		return cfg, "no AWS configuration: " + firstLine(err.Error())
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return cfg, "no AWS credentials"
	}
	return cfg, ""
}

// roleNameRe is IAM's pattern for role names.
var roleNameRe = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// onlineEnricher looks up aliases and bucket state with the caller's
// credentials, for events of the caller's own account, and of other
// accounts through lookupRole in each when it is set; organization names
// the accounts and their OUs.
func onlineEnricher(ctx context.Context, cfg aws.Config, lookupRole string, organization bool) *enrich.Enricher {
	account, err := stslookup.CallerAccount(ctx, sts.NewFromConfig(cfg), 5*time.Second)
	e := crossaccount.Enricher(config.Runtime{LookupRole: lookupRole}, cfg, account, replayLookups)
	e.Replay = true
	if err != nil {
		e.Offline = "could not tell which account the credentials belong to: " + firstLine(err.Error())
	}
	if organization {
		e.Directory = &orglookup.Directory{Client: organizations.NewFromConfig(cfg)}
	}
	return e
}

// replayLookups are one account's look-ups, those of both functions.
func replayLookups(cfg aws.Config) enrich.Lookups {
	return enrich.Lookups{
		Aliases: &awslookup.Aliases{IAM: iam.NewFromConfig(cfg)},
		Buckets: &s3lookup.Buckets{S3: s3.NewFromConfig(cfg), Control: s3control.NewFromConfig(cfg)},
		History: &awslookup.History{CloudTrail: cloudtrail.NewFromConfig(cfg)},
		// Alarm and GuardDuty events: the instances, who launched them
		// (nil unless built with -tags ec2lookup, see instances.go).
		Instances: instanceLookups(cfg),
	}
}

// readSettings reads a settings file in the function's TRAILWATCH_SETTINGS
// format.
func readSettings(path string) (config.Settings, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return config.Settings{}, err
	}
	return config.ParseSettings(b)
}

// regionOf takes the region from an ARN (arn:aws:sns:REGION:...).
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[3]
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// count is "1 alert", "2 alerts", "0 failed deliveries".
func count(n int, noun string) string {
	switch {
	case n == 1:
	case strings.HasSuffix(noun, "y"):
		noun = noun[:len(noun)-1] + "ies"
	default:
		noun += "s"
	}
	return strconv.Itoa(n) + " " + noun
}
