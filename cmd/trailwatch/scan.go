package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/schollz/progressbar/v3"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/replay"
	"github.com/trailwatch/trailwatch/internal/scan"
	"github.com/trailwatch/trailwatch/internal/state"
)

const scanUsage = "trailwatch scan [--format json|table] [--all] [--since T] [--until T] [--principal PATTERN] [--detections IDS] [--min-severity S] [--accounts IDS] [--regions NAMES] [--settings FILE] [--sigma DIR] [--report FILE.md|.html|.json] [--workers N] [--progress] PATH... | s3://BUCKET/PREFIX...\n" +
	"  trailwatch scan --remote [--state-machine ARN] [--since T] [--until T] [--principal PATTERN] [--detections IDS] [--min-severity S] [--accounts IDS] [--regions NAMES] [--format json|table] [--report FILE] [--progress] s3://BUCKET/PREFIX"

func scanCmd(ctx context.Context, args []string, stdout, stderr io.Writer, loadAWS awsLoader) int {
	fs := newFlagSet("scan", stderr)
	format := fs.String("format", "", "output: json (one line per flagged record) or table (a summary; the default on a terminal)")
	all := fs.Bool("all", false, "with --format json, print the records without findings too")
	since := fs.String("since", "", "only events at or after this time: RFC 3339, a date (2026-09-01), or an age (90d, 36h)")
	until := fs.String("until", "", "only events before this time (same forms as --since)")
	principal := fs.String("principal", "", "only events whose caller's ARN matches this pattern (* matches anything)")
	detections := fs.String("detections", "", "only these detections (comma-separated IDs)")
	minSeverity := fs.String("min-severity", "", "only findings of this severity or more (info, low, medium, high, critical)")
	accounts := fs.String("accounts", "", "only these accounts (comma-separated; prunes S3 listings)")
	regions := fs.String("regions", "", "only these regions (comma-separated; prunes S3 listings)")
	settingsFile := fs.String("settings", "", "JSON file with the deployment's detection settings and allow-lists (the function's TRAILWATCH_SETTINGS)")
	sigmaDir := fs.String("sigma", "", sigmaFlagUsage)
	reportFile := fs.String("report", "", "also write a report to share: .md, .html (with a chart of findings per day) or .json")
	workers := fs.Int("workers", 0, "objects read and decided side by side (default: one per CPU)")
	progress := fs.Bool("progress", false, "show progress on stderr even when it is not a terminal")
	verbose := fs.Bool("verbose", false, "log to stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the scan to this file (go tool pprof reads it)")
	remote := fs.Bool("remote", false, "run the scan in the account, on the deployed state machine (docs/scan.md#the-distributed-scan): one s3:// URL of the deployed archive")
	stateMachine := fs.String("state-machine", "", "with --remote: the scan's state machine ARN, the stack's ScanStateMachineArn output (default: $"+envScanStateMachine+")")
	pollInterval := fs.Duration("poll-interval", 5*time.Second, "with --remote: how often to ask Step Functions for progress")
	inputs, err := parse(fs, args)
	if err != nil {
		return exitUsage
	}
	setScanMemoryLimit()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range slices.Sorted(maps.Keys(localOnlyFlags)) {
		if *remote && set[name] {
			fmt.Fprintf(stderr, "trailwatch scan: --%s does not apply with --remote: %s\n", name, localOnlyFlags[name])
			return exitUsage
		}
	}
	for _, name := range remoteOnlyFlags {
		if !*remote && set[name] {
			fmt.Fprintf(stderr, "trailwatch scan: --%s applies only with --remote\n", name)
			return exitUsage
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "trailwatch scan: --cpuprofile: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "trailwatch scan: --cpuprofile: %v\n", err)
			return exitUsage
		}
		defer pprof.StopCPUProfile()
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "trailwatch scan: "+format+"\n", a...)
		return exitUsage
	}
	if len(inputs) == 0 {
		return usageErr("%v\nusage: %s", scan.ErrNoInputs, scanUsage)
	}
	if *format == "" {
		*format = "json"
		if isTerminal(stdout) {
			*format = "table"
		}
	}
	if err := oneOf(*format, []string{"json", "table"}); err != nil {
		return usageErr("%v", err)
	}
	filters := scan.Filters{Since: *since, Until: *until, Principal: *principal, MinSeverity: *minSeverity,
		Detections: splitList(*detections), Accounts: splitList(*accounts), Regions: splitList(*regions)}
	o, prune, err := filters.Options(time.Now())
	if err != nil {
		return usageErr("%s", filterText(err))
	}
	if *reportFile != "" && !slices.Contains([]string{".md", ".html", ".json"}, strings.ToLower(filepath.Ext(*reportFile))) {
		return usageErr("--report: %q: name a .md, .html or .json file", *reportFile)
	}
	if *remote {
		r := &remoteScan{stateMachine: *stateMachine, format: *format, report: *reportFile, poll: *pollInterval,
			progress: *progress || isTerminal(stderr)}
		if r.stateMachine == "" {
			r.stateMachine = os.Getenv(envScanStateMachine)
		}
		switch {
		case len(inputs) != 1 || !strings.HasPrefix(inputs[0], "s3://"):
			return usageErr("--remote scans one s3:// URL of the deployed archive, not %q", inputs)
		case r.stateMachine == "":
			return usageErr("--remote needs --state-machine ARN or $%s (the stack's ScanStateMachineArn output)", envScanStateMachine)
		case r.poll <= 0:
			return usageErr("--poll-interval %s: want more than 0", r.poll)
		}
		r.url = inputs[0]
		if r.filters, err = remoteFiltersOf(o, *principal, *detections, prune); err != nil {
			return usageErr("%v", err)
		}
		return r.run(ctx, stdout, stderr, loadAWS)
	}
	catalog, _, sigmaRefused, err := catalogWith(*sigmaDir, "scan", stderr)
	if err != nil {
		return usageErr("%v", err)
	}
	if o.Detections, err = filters.DetectionSet(catalog); err != nil {
		return usageErr("%s", filterText(err))
	}
	var settings config.Settings
	if *settingsFile != "" {
		if settings, err = readSettings(*settingsFile); err != nil {
			return usageErr("--settings: %v", err)
		}
	}
	if catalog, err = catalog.WithEnv(settings.Env); err == nil {
		err = catalog.Compile()
	}
	if err != nil {
		return usageErr("%v", err)
	}
	o.All, o.Workers, o.Log = *all, *workers, logger(stderr, *verbose)
	o.Pipeline = &pipeline.Pipeline{Catalog: catalog, Suppressions: settings.Suppressions, Counter: state.NewMemory(), Log: o.Log}

	list, code := scanInputs(ctx, inputs, prune, loadAWS, stderr)
	if code != exitOK {
		return code
	}
	if *progress || isTerminal(stderr) {
		bar := newScanBar(stderr)
		o.Progress = bar.update
		defer bar.finish()
	}

	var stats scan.Stats
	enc := json.NewEncoder(stdout)
	sum, err := scan.Run(ctx, list, o, func(rec scan.Record) error {
		if rec.Err != nil {
			fmt.Fprintf(stderr, "trailwatch scan: %s: %s\n", render.Clean(rec.Where, 500), render.Clean(rec.Err.Error(), 500))
			return nil
		}
		stats.Add(rec)
		if *format != "json" {
			return nil
		}
		line := replay.Line{ID: rec.ID, Detections: []replay.Detection{}}
		for _, f := range rec.Findings {
			line.Detections = append(line.Detections, replay.DetectionOf(f))
		}
		return enc.Encode(line)
	})
	if o.Progress != nil {
		o.Progress = nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch scan: %v\n", err)
		return exitDelivery
	}
	if *format == "table" {
		if err := stats.Table(stdout); err != nil {
			fmt.Fprintf(stderr, "trailwatch scan: %v\n", err)
			return exitDelivery
		}
	}
	fmt.Fprintf(stderr, "trailwatch scan: %s\n", sum)
	if *reportFile != "" {
		if err := writeReport(*reportFile, scan.Report{Inputs: inputs, Summary: sum, Stats: &stats}); err != nil {
			fmt.Fprintf(stderr, "trailwatch scan: --report: %v\n", err)
			return exitDelivery
		}
	}
	switch {
	case sum.Unreadable > 0, sigmaRefused:
		return exitUnreadable
	case sum.Interrupted:
		return exitInterrupted
	}
	return exitOK
}

// exitInterrupted is the shell's status for a command stopped by Ctrl-C.
const exitInterrupted = 130

// scanInputs lists the local paths and the s3:// prefixes, in the order
// given.
func scanInputs(ctx context.Context, inputs []string, prune scan.Prune, loadAWS awsLoader, stderr io.Writer) (scan.Lister, int) {
	var listers []scan.Lister
	var client *s3.Client
	for _, in := range inputs {
		if !strings.HasPrefix(in, "s3://") {
			listers = append(listers, scan.Local([]string{in}))
			continue
		}
		if client == nil {
			cfg, reason := awsAccess(ctx, loadAWS, "")
			if reason != "" {
				fmt.Fprintf(stderr, "trailwatch scan: %s needs AWS credentials: %s\n", in, reason)
				return nil, exitUsage
			}
			client = newS3Client(cfg)
		}
		l, err := scan.S3(client, in, prune)
		if err != nil {
			fmt.Fprintf(stderr, "trailwatch scan: %v\n", err)
			return nil, exitUsage
		}
		listers = append(listers, l)
	}
	return func(ctx context.Context, yield func(scan.Object) error) error {
		for _, l := range listers {
			if err := l(ctx, yield); err != nil {
				return err
			}
		}
		return nil
	}, exitOK
}

// newS3Client is the S3 client of both scans. A custom endpoint
// (AWS_ENDPOINT_URL_S3, a local S3-compatible server) takes path-style
// requests.
func newS3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = o.BaseEndpoint != nil })
}

func writeReport(path string, r scan.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".md":
		err = r.WriteMarkdown(f)
	case ".html":
		err = r.WriteHTML(f)
	default:
		err = r.WriteJSON(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// filterText is a refused filter in the CLI's terms (--since, not since).
func filterText(err error) string {
	if fe, ok := errors.AsType[*scan.FilterError](err); ok {
		return fe.FlagText()
	}
	return err.Error()
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// scanBar is the progress on stderr (github.com/schollz/progressbar): objects
// done of those listed, records, bytes, records per second, and an ETA once
// the listing is complete.
type scanBar struct {
	bar *progressbar.ProgressBar
}

func newScanBar(w io.Writer) *scanBar {
	return &scanBar{bar: objectsBar(w, "scanning", progressbar.OptionShowIts(), progressbar.OptionThrottle(200*time.Millisecond))}
}

// objectsBar is a progress bar counting objects, of a total set once it
// is known, cleared when done: the local scan's and the remote one's.
func objectsBar(w io.Writer, description string, more ...progressbar.Option) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1, append([]progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("objects"),
		progressbar.OptionClearOnFinish(),
	}, more...)...)
}

func (b *scanBar) update(p scan.Progress) {
	if p.ListingDone && b.bar.GetMax64() != p.Listed {
		b.bar.ChangeMax64(p.Listed)
	}
	rate := 0.0
	if el := time.Since(p.Started).Seconds(); el > 0 {
		rate = float64(p.Records) / el
	}
	b.bar.Describe(fmt.Sprintf("%d records, %.1f MiB, %.0f records/s", p.Records, float64(p.Bytes)/(1<<20), rate))
	_ = b.bar.Set64(p.Objects)
}

func (b *scanBar) finish() { _ = b.bar.Finish() }

// scanMemoryLimit is the soft memory limit of a scan. The live heap is
// 13 to 21 MB (the compiled patterns, the batches in flight, the
// threshold windows, which a scan keeps for the whole archive so that a
// principal's regions still count together however the archive is
// walked); an empty scan is already 36 MB of RSS (the binary and its
// initialization), and GOGC's headroom alone takes a 3M-record scan to
// 69 MB. At 40 MiB it stays under 60 MB for about 8% more CPU than 48 MiB
// (measured at 300k and 3M records, docs/performance.md). GOGC still
// applies below the limit, so small scans pay nothing.
const scanMemoryLimit = 40 << 20

// setScanMemoryLimit sets scanMemoryLimit unless the user chose one with
// GOMEMLIMIT.
func setScanMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(scanMemoryLimit)
	}
}
