package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/schollz/progressbar/v3"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/render"
	"github.com/trailwatch/trailwatch/internal/scan"
)

// envScanStateMachine names the deployed scan's state machine when
// --state-machine is not given (the stack's ScanStateMachineArn output).
const envScanStateMachine = "TRAILWATCH_SCAN_STATE_MACHINE"

// localOnlyFlags make no sense for a scan that runs in the account: the
// deployed settings, catalog and Lambda concurrency apply there.
var localOnlyFlags = map[string]string{
	"all":        "the distributed scan writes flagged records only",
	"settings":   "the deployed settings apply",
	"sigma":      "the deployed catalog applies",
	"workers":    "trailwatch:scanMaxConcurrency sets the parallelism",
	"cpuprofile": "nothing runs here to profile",
}

// remoteOnlyFlags are --remote's own.
var remoteOnlyFlags = []string{"state-machine", "poll-interval"}

// remoteInput is what StartExecution sends: the key prefix within the
// deployed archive bucket and the filters.
type remoteInput struct {
	Prefix  string       `json:"prefix"`
	Filters scan.Filters `json:"filters"`
}

// remoteOutput is the execution's output, the summary step's result.
type remoteOutput struct {
	Summary  string `json:"summary"`
	Findings string `json:"findings"`
}

// remoteScan is one `trailwatch scan --remote`.
type remoteScan struct {
	url          string
	stateMachine string
	filters      scan.Filters
	format       string
	report       string
	progress     bool
	poll         time.Duration
}

// stateMachineARN is a Standard state machine's ARN (optionally a version
// or alias); the region is where the execution runs.
var stateMachineARN = regexp.MustCompile(`^arn:aws[a-z-]*:states:([a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}):[0-9]{12}:stateMachine:[A-Za-z0-9_.-]{1,80}(?::[A-Za-z0-9_.-]{1,80})?$`)

// run starts the execution, follows it and prints its summary.
func (r *remoteScan) run(ctx context.Context, stdout, stderr io.Writer, loadAWS awsLoader) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "trailwatch scan: "+format+"\n", a...)
		return code
	}
	bucket, prefix, err := scan.ParseS3URL(r.url)
	if err != nil {
		return fail(exitUsage, "--remote: %v", err)
	}
	m := stateMachineARN.FindStringSubmatch(r.stateMachine)
	if m == nil {
		return fail(exitUsage, "--state-machine %q: want the ARN of the scan's state machine (the stack's ScanStateMachineArn output)", render.Clean(r.stateMachine, 300))
	}
	cfg, reason := awsAccess(ctx, loadAWS, m[1])
	if reason != "" {
		return fail(exitUsage, "--remote needs AWS credentials: %s", reason)
	}
	states := sfn.NewFromConfig(cfg)

	// The ItemReader's bucket is fixed when the stack is deployed: a URL
	// of another bucket would scan a prefix of the deployed one instead.
	desc, err := states.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(r.stateMachine)})
	var missing *sfntypes.StateMachineDoesNotExist
	switch {
	case ctx.Err() != nil:
		return fail(exitInterrupted, "interrupted before the scan started")
	case errors.As(err, &missing):
		return fail(exitUsage, "--state-machine: %s does not exist (is the scan deployed? trailwatch:scanArchive)", r.stateMachine)
	case err != nil:
		fmt.Fprintf(stderr, "trailwatch scan: cannot check the archive bucket of the state machine (going on): %s\n", render.Clean(err.Error(), 500))
	default:
		buckets, err := itemReaderBuckets(aws.ToString(desc.Definition))
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "trailwatch scan: cannot read the archive bucket from the state machine's definition (going on): %v\n", err)
		case !slices.Contains(buckets, bucket):
			return fail(exitUsage, "--remote: the deployed scan reads bucket %s, not %s: scan a prefix of s3://%s/, or deploy the scan over the other archive (trailwatch:scanArchive)",
				render.Clean(strings.Join(buckets, ", "), 300), bucket, render.Clean(buckets[0], 300))
		}
	}

	input, err := json.Marshal(remoteInput{Prefix: scan.NarrowPrefix(prefix, r.filters.Accounts, r.filters.Regions), Filters: r.filters})
	if err != nil {
		return fail(exitDelivery, "execution input: %v", err)
	}
	// StartExecution outlives a Ctrl-C that comes while it is in flight,
	// so the run that was started is always named.
	startCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	started, err := states.StartExecution(startCtx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(r.stateMachine), Name: aws.String(executionName(time.Now())), Input: aws.String(string(input)),
	})
	cancel()
	if err != nil {
		return fail(exitDelivery, "starting the scan: %s", render.Clean(err.Error(), 500))
	}
	arn := aws.ToString(started.ExecutionArn)
	fmt.Fprintf(stderr, "trailwatch scan: started %s\n", arn)

	done, code := r.follow(ctx, states, arn, stderr)
	if code != exitOK {
		return code
	}
	return r.printSummary(ctx, cfg, done, stdout, stderr)
}

// executionName is unique and says when the scan started; the results are
// kept under scans/NAME/.
func executionName(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "trailwatch-scan-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// itemReaderBuckets lists the buckets the S3 ItemReaders of an Amazon
// States Language definition list (Parameters, or JSONata's Arguments).
func itemReaderBuckets(definition string) ([]string, error) {
	var def any
	if err := json.Unmarshal([]byte(definition), &def); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	var buckets []string
	var dynamic bool
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if reader, ok := x["ItemReader"].(map[string]any); ok {
				if res, _ := reader["Resource"].(string); strings.HasSuffix(res, ":states:::s3:listObjectsV2") {
					for _, key := range []string{"Parameters", "Arguments"} {
						p, _ := reader[key].(map[string]any)
						if b, ok := p["Bucket"].(string); ok && !strings.HasPrefix(b, "{%") {
							buckets = append(buckets, b)
						} else if p != nil {
							dynamic = true
						}
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(def)
	switch {
	case len(buckets) == 0 && dynamic:
		return nil, errors.New("its S3 ItemReader chooses the bucket at run time")
	case len(buckets) == 0:
		return nil, errors.New("it has no S3 ItemReader (s3:listObjectsV2)")
	}
	slices.Sort(buckets)
	return slices.Compact(buckets), nil
}

// follow polls the execution until it ends, showing its Map Run's counts,
// and returns the execution as it ended; a code other than exitOK means
// it failed or the wait was interrupted (both said on stderr).
func (r *remoteScan) follow(ctx context.Context, states *sfn.Client, arn string, stderr io.Writer) (*sfn.DescribeExecutionOutput, int) {
	var bar *remoteBar
	if r.progress {
		bar = newRemoteBar(stderr)
	}
	interrupted := func() (*sfn.DescribeExecutionOutput, int) {
		bar.finish()
		fmt.Fprintf(stderr, "trailwatch scan: interrupted; the scan keeps running in the account: %s\n"+
			"  stop it with: aws stepfunctions stop-execution --execution-arn %s\n", arn, arn)
		return nil, exitInterrupted
	}
	var mapRun string
	var counts *sfntypes.MapRunItemCounts
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	for {
		exec, err := states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if ctx.Err() != nil {
			return interrupted()
		}
		if err != nil {
			bar.finish()
			fmt.Fprintf(stderr, "trailwatch scan: following %s: %s\n  the scan keeps running; aws stepfunctions describe-execution --execution-arn %s says how it ends\n",
				arn, render.Clean(err.Error(), 500), arn)
			return nil, exitDelivery
		}
		// The Map Run appears once the Map state starts; its counts are
		// read on every poll and once more after the end, for the totals.
		if mapRun == "" {
			if runs, err := states.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: aws.String(arn)}); err == nil && len(runs.MapRuns) > 0 {
				mapRun = aws.ToString(runs.MapRuns[0].MapRunArn)
			}
		}
		if mapRun != "" {
			if run, err := states.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: aws.String(mapRun)}); err == nil && run.ItemCounts != nil {
				counts = run.ItemCounts
			}
		}
		if ctx.Err() != nil {
			return interrupted()
		}
		bar.update(exec.Status, counts)
		switch exec.Status {
		case sfntypes.ExecutionStatusSucceeded:
			bar.finish()
			return exec, exitOK
		case sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusTimedOut, sfntypes.ExecutionStatusAborted:
			bar.finish()
			// Error and Cause carry the scan function's error, which can
			// quote object keys and event text: Clean keeps terminal
			// escapes in them from acting.
			var reason []string
			if e := aws.ToString(exec.Error); e != "" {
				reason = append(reason, render.Clean(e, 300))
			}
			if c := aws.ToString(exec.Cause); c != "" {
				reason = append(reason, render.Clean(c, 2000))
			}
			if reason == nil {
				reason = []string{"no error or cause given"}
			}
			fmt.Fprintf(stderr, "trailwatch scan: the scan %s: %s\n  execution: %s\n", exec.Status, strings.Join(reason, ": "), arn)
			if counts != nil && counts.Failed+counts.TimedOut+counts.Aborted > 0 {
				fmt.Fprintf(stderr, "  %s; the failed children are in the console's Map Run view (aws stepfunctions list-executions --map-run-arn %s --status-filter FAILED)\n",
					countsText(counts), mapRun)
			}
			return nil, exitDelivery
		}
		select {
		case <-ctx.Done():
			return interrupted()
		case <-tick.C:
		}
	}
}

// printSummary reads the summary the execution wrote and prints it as the
// local scan prints its own.
func (r *remoteScan) printSummary(ctx context.Context, cfg aws.Config, exec *sfn.DescribeExecutionOutput, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "trailwatch scan: "+format+"\n  execution: %s\n", append(a, aws.ToString(exec.ExecutionArn))...)
		return exitDelivery
	}
	var out remoteOutput
	if err := json.Unmarshal([]byte(aws.ToString(exec.Output)), &out); err != nil {
		return fail("the scan's output is not the summary step's: %v: %s", err, render.Clean(aws.ToString(exec.Output), 300))
	}
	bucket, key, err := scan.ParseS3URL(out.Summary)
	if err != nil || key == "" {
		return fail("the scan's output names no summary: %s", render.Clean(aws.ToString(exec.Output), 300))
	}
	obj, err := newS3Client(cfg).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fail("reading the summary %s: %s", render.Clean(out.Summary, 300), render.Clean(err.Error(), 500))
	}
	rep, err := scan.ReadReport(obj.Body)
	obj.Body.Close()
	if err != nil {
		return fail("%s: %v", render.Clean(out.Summary, 300), err)
	}
	if r.format == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.Stats.Table(stdout)
	}
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stderr, "trailwatch scan: %s\n", rep.Summary)
	fmt.Fprintf(stderr, "trailwatch scan: findings (JSON Lines): %s\n", render.Clean(out.Findings, 300))
	if r.report != "" {
		if err := writeReport(r.report, rep); err != nil {
			return fail("--report: %v", err)
		}
	}
	if rep.Summary.Unreadable > 0 {
		return exitUnreadable
	}
	return exitOK
}

func countsText(c *sfntypes.MapRunItemCounts) string {
	s := fmt.Sprintf("%d of %d objects done, %d failed", c.Succeeded, c.Total, c.Failed)
	if c.TimedOut > 0 {
		s += fmt.Sprintf(", %d timed out", c.TimedOut)
	}
	if c.Aborted > 0 {
		s += fmt.Sprintf(", %d aborted", c.Aborted)
	}
	return s
}

// remoteBar shows the Map Run's item counts (one item per archive
// object) on stderr; a nil bar shows nothing.
type remoteBar struct {
	bar *progressbar.ProgressBar
}

func newRemoteBar(w io.Writer) *remoteBar {
	return &remoteBar{bar: objectsBar(w, "starting")}
}

func (b *remoteBar) update(status sfntypes.ExecutionStatus, c *sfntypes.MapRunItemCounts) {
	if b == nil {
		return
	}
	if c == nil {
		b.bar.Describe(string(status) + ": listing the archive")
		_ = b.bar.RenderBlank()
		return
	}
	if c.Total > 0 && b.bar.GetMax64() != c.Total {
		b.bar.ChangeMax64(c.Total)
	}
	b.bar.Describe(fmt.Sprintf("%s: %d succeeded, %d failed, %d running, of", status, c.Succeeded, c.Failed+c.TimedOut+c.Aborted, c.Running))
	_ = b.bar.Set64(c.Succeeded + c.Failed + c.TimedOut + c.Aborted)
}

func (b *remoteBar) finish() {
	if b != nil {
		_ = b.bar.Finish()
	}
}

// remoteFiltersOf turns the local scan's parsed filters into the execution
// input's. Detections are checked against the built-in catalog; sigma-*
// IDs pass as they are, since the deployment's Sigma rules are not known
// here (the scan function refuses an unknown one).
func remoteFiltersOf(o scan.Options, principal, detections string, prune scan.Prune) (scan.Filters, error) {
	f := scan.Filters{Principal: principal, Detections: []string{}, Accounts: []string{}, Regions: []string{}}
	if !o.Since.IsZero() {
		f.Since = o.Since.UTC().Format(time.RFC3339)
	}
	if !o.Until.IsZero() {
		f.Until = o.Until.UTC().Format(time.RFC3339)
	}
	if o.MinSeverity.Valid() {
		f.MinSeverity = o.MinSeverity.String()
	}
	if detections != "" {
		catalog, err := detect.Builtin()
		if err != nil {
			return f, fmt.Errorf("catalog: %w", err)
		}
		for _, id := range splitList(detections) {
			if _, ok := catalog.Get(id); !ok && !strings.HasPrefix(id, "sigma-") {
				return f, fmt.Errorf("--detections: %q is not a detection (trailwatch rules lists them)", id)
			}
			f.Detections = append(f.Detections, id)
		}
	}
	f.Accounts = append(f.Accounts, prune.Accounts...)
	f.Regions = append(f.Regions, prune.Regions...)
	return f, nil
}
