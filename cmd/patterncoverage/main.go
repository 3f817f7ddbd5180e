// Command patterncoverage measures how many invocations the catalog's
// EventBridge patterns would cost on recorded CloudTrail logs and how many
// of them end with a finding: for each detection, the records its pattern
// matched, the records its decision reported, and the share of matches that
// ended with no finding. It is a development tool, not shipped with
// trailwatch (docs/performance.md, "Pattern coverage and attack techniques").
//
//	go run ./cmd/patterncoverage [flags] [path ...]
//
// Paths are files or folders of CloudTrail logs or events, as trailwatch
// replay reads them; the default is ../shared/corpus/invictus-aws-dataset/CloudTrail.
// The patterns are those of a deployment (narrowed to the settings, see
// detect.Catalog.PatternOf): by default the names a stack called -stack with
// the Slack secret -slack-secret gives itself; -settings reads a deployment's
// settings instead, and -bare uses none (trailwatch replay without --settings).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/coverage"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/eventfile"
)

const defaultCorpus = "../shared/corpus/invictus-aws-dataset/CloudTrail"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("patterncoverage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	settingsFile := fs.String("settings", "", "JSON file of a deployment's settings ({\"env\": {...}}, the function's TRAILWATCH_SETTINGS)")
	stack := fs.String("stack", "Trailwatch", "stack name whose own resources the settings name (without -settings)")
	secret := fs.String("slack-secret", "trailwatch/slack-webhook", "Slack secret name the settings name (without -settings; empty for none)")
	bare := fs.Bool("bare", false, "no settings at all, as trailwatch replay without --settings")
	idle := fs.String("idle", "", "print to stderr each record this detection's pattern matched that ended with no finding")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{defaultCorpus}
	}
	env, err := settings(*settingsFile, *stack, *secret, *bare)
	if err != nil {
		fmt.Fprintf(stderr, "patterncoverage: %v\n", err)
		return 2
	}
	catalog, err := detect.Builtin()
	if err == nil {
		catalog, err = catalog.WithEnv(env)
	}
	if err == nil {
		err = catalog.Compile()
	}
	if err != nil {
		fmt.Fprintf(stderr, "patterncoverage: %v\n", err)
		return 1
	}
	report := coverage.New(catalog)
	if *idle != "" {
		if _, ok := catalog.Get(*idle); !ok {
			fmt.Fprintf(stderr, "patterncoverage: -idle: no detection %q\n", *idle)
			return 2
		}
		report.Idle = func(d *detect.Detection, ev *event.Event) {
			if d.ID != *idle || ev.CloudTrail == nil {
				return
			}
			rec := ev.CloudTrail
			fmt.Fprintf(stderr, "%s %s %s %s %s\n", rec.EventTime.Format(time.RFC3339), rec.AWSRegion, rec.EventSource, rec.EventName, rec.RequestParameters)
		}
	}
	var unreadable int
	err = eventfile.ReadPaths(paths, func(it eventfile.Item) error {
		if it.Err != nil {
			unreadable++
			fmt.Fprintf(stderr, "patterncoverage: %s: %v\n", it.Where, it.Err)
			return nil
		}
		if err := report.Add(it.Event); err != nil {
			fmt.Fprintf(stderr, "patterncoverage: %s: %v\n", it.Where, err)
		}
		return nil
	})
	if err == nil {
		err = report.Write(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "patterncoverage: %v\n", err)
		return 1
	}
	if report.Events == 0 {
		fmt.Fprintf(stderr, "patterncoverage: no events read from %v\n", paths)
		return 1
	}
	if unreadable > 0 {
		return 1
	}
	return 0
}

// settings are the detection settings the patterns are narrowed to: a
// file's, none, or those a stack of that name gives itself (infra's
// ownSettings: its name and the forwarder stacks' as prefixes, its Slack
// secret by name; the topic, queue and table CloudFormation names after the
// stack).
func settings(file, stack, secret string, bare bool) (detect.Env, error) {
	switch {
	case file != "" && bare:
		return detect.Env{}, errors.New("-settings and -bare exclude each other")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return detect.Env{}, fmt.Errorf("-settings: %w", err)
		}
		s, err := config.ParseSettings(b)
		if err != nil {
			return detect.Env{}, fmt.Errorf("-settings %s: %w", file, err)
		}
		return s.Env, nil
	case bare:
		return detect.Env{}, nil
	}
	if stack == "" {
		return detect.Env{}, errors.New("-stack: empty stack name")
	}
	env := detect.Env{OwnPrefixes: []string{stack + "-", "TrailwatchForwarder-"}}
	if secret != "" {
		env.OwnNames = []string{secret}
	}
	return env, nil
}
