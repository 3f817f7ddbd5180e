// Command trailwatch runs trailwatch's detections locally.
//
//	trailwatch replay [--format text|json|slack|email] [--slack-webhook URL] [--sns-topic-arn ARN] [--offline] [--verbose] [--sigma DIR] PATH...
//	trailwatch rules [--format table|json|markdown] [--sigma DIR]
//	trailwatch redrive --queue-url URL --function NAME_OR_ARN [--max N] [--dry-run]
//
// replay reads EventBridge events, CloudTrail records, CloudTrail log files
// (plain or .gz), JSON arrays and JSON Lines, files or folders, and runs
// them through the same catalog, enrichment and renderers as the Lambda
// function. With --slack-webhook or --sns-topic-arn it delivers for real.
// redrive sends what the dead-letter queue keeps back to the function.
//
// --sigma DIR adds the Sigma rules for CloudTrail in DIR to the catalog
// (docs/sigma.md); rules it refuses are named on stderr.
//
// Exit status: 0 success; 1 a delivery failed; 2 usage error; 3 some input
// could not be read or some Sigma rule was refused (the rest still ran).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
)

// Exit codes.
const (
	exitOK         = 0
	exitDelivery   = 1
	exitUsage      = 2
	exitUnreadable = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, defaultAWS)
	stop()
	os.Exit(code)
}

const usage = `usage:
  trailwatch replay [--format text|json|slack|email] [--slack-webhook URL] [--sns-topic-arn ARN] [--offline] [--verbose] [--sigma DIR] PATH...
  trailwatch rules [--format table|json|markdown] [--sigma DIR]
  ` + scanUsage + `
  trailwatch redrive --queue-url URL --function NAME_OR_ARN [--max N] [--dry-run]
`

// run is main without the process: testable end to end.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, loadAWS awsLoader) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "replay":
		return replayCmd(ctx, args[1:], stdout, stderr, loadAWS)
	case "rules":
		return rulesCmd(args[1:], stdout, stderr)
	case "scan":
		return scanCmd(ctx, args[1:], stdout, stderr, loadAWS)
	case "redrive":
		return redriveCmd(ctx, args[1:], stdout, stderr, loadAWS)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "trailwatch: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// parse parses flags that may come before, between or after positional
// arguments ("replay events/ --format json").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func oneOf(v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("--format %q: want one of %s", v, strings.Join(allowed, ", "))
}

// logger writes warnings and errors to stderr as text; --verbose adds info.
func logger(stderr io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}
