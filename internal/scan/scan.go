// Package scan backtests archives of CloudTrail logs: every record of
// local files or S3 prefixes through the detection catalog, allow-lists
// and threshold windows the functions use, without enrichment or delivery.
// Objects are read and decided in parallel (one object per worker, every
// core busy) and the results come out in input order, so a scan prints the
// same lines whatever the number of workers.
package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/eventfile"
	"github.com/trailwatch/trailwatch/internal/pipeline"
)

// Options say what a scan looks at and reports.
type Options struct {
	// Pipeline holds the catalog, the allow-lists and the threshold
	// counter (a state.Memory); nothing is enriched or delivered.
	Pipeline *pipeline.Pipeline
	// Since and Until bound event times (zero: unbounded); records
	// outside are skipped.
	Since, Until time.Time
	// Principal, when set, keeps only records whose caller it accepts.
	Principal func(arn string) bool
	// Filter, when set, keeps only records it accepts by account, region
	// and caller (it replaces Principal's check then).
	Filter func(account, region, arn string) bool
	// Detections, when set, keeps only findings of these IDs.
	Detections map[string]bool
	// MinSeverity drops findings below it (zero: none).
	MinSeverity detect.Severity
	// All reports the records without findings too.
	All bool
	// Workers read and decide objects side by side; zero means one per CPU.
	Workers int
	// Progress, when set, is called as objects finish.
	Progress func(Progress)
	Log      *slog.Logger
}

// Record is one record the scan reports.
type Record struct {
	// Where names the input: object and position.
	Where string
	// ID is the EventBridge ID, or the eventID of a raw record.
	ID       string
	Event    *event.Event
	Findings []detect.Finding
	// Err is set for an input that could not be read or decoded.
	Err error
}

// Progress counts what the scan has read so far.
type Progress struct {
	Objects, Records, Bytes int64
	// Listed is how many objects are known so far (the total once the
	// listing is done).
	Listed  int64
	Started time.Time
	// ListingDone is set once every object is listed.
	ListingDone bool
}

// Summary counts a whole scan.
type Summary struct {
	Objects, Records, Bytes int64
	// Flagged records raised at least one finding reported.
	Flagged int64
	// Unreadable inputs: objects or records that could not be read.
	Unreadable int64
	// OutOfRange records fell outside Since and Until; Filtered were
	// left out by the principal filter.
	OutOfRange, Filtered int64
	// Duplicates are flagged records whose eventID an earlier one had
	// (organization trails can deliver a record twice).
	Duplicates int64
	// Counted are threshold steps that did not cross.
	Counted  int64
	Duration time.Duration
	// Interrupted is set when the context ended the scan early.
	Interrupted bool
}

// objectResult is what a worker made of one object.
type objectResult struct {
	records            []Record
	count, bytes       int64
	unreadable         int64
	outOfRange, others int64
}

// Run scans the objects list yields and calls out for each record to
// report, in input order: records with findings (all with All) and
// unreadable inputs. It returns when the listing is done and every object
// read, or when ctx ends (Summary.Interrupted; what was read until then
// is reported).
func Run(ctx context.Context, list Lister, o Options, out func(Record) error) (Summary, error) {
	started := time.Now()
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	type job struct {
		obj  Object
		done chan objectResult
	}
	jobs := make(chan job)
	// order holds the objects in input order; its capacity bounds how far
	// the workers may run ahead of the output (and so the memory held).
	order := make(chan chan objectResult, 4*workers)
	var listed atomic.Int64
	listingDone := atomic.Bool{}
	var listErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(order)
		defer close(jobs)
		listErr = list(ctx, func(obj Object) error {
			done := make(chan objectResult, 1)
			select {
			case order <- done:
			case <-ctx.Done():
				return ctx.Err()
			}
			listed.Add(1)
			if obj.Err != nil {
				done <- objectResult{records: []Record{{Where: obj.Name, Err: obj.Err}}, unreadable: 1}
				return nil
			}
			select {
			case jobs <- job{obj: obj, done: done}:
				return nil
			case <-ctx.Done():
				done <- objectResult{}
				return ctx.Err()
			}
		})
		listingDone.Store(true)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				j.done <- o.read(ctx, j.obj)
			}
		})
	}
	sum := Summary{}
	seen := map[string]bool{}
	var outErr error
	for done := range order {
		r := <-done
		sum.Objects++
		sum.Records += r.count
		sum.Bytes += r.bytes
		sum.Unreadable += r.unreadable
		sum.OutOfRange += r.outOfRange
		sum.Filtered += r.others
		for _, rec := range r.records {
			if outErr != nil {
				break
			}
			if rec.Err == nil && len(rec.Findings) > 0 {
				rec.Findings = o.decide(ctx, rec, seen, &sum)
				if len(rec.Findings) == 0 && !o.All {
					continue
				}
			}
			if rec.Err == nil && len(rec.Findings) > 0 {
				sum.Flagged++
			}
			outErr = out(rec)
		}
		if o.Progress != nil {
			o.Progress(Progress{Objects: sum.Objects, Records: sum.Records, Bytes: sum.Bytes, Listed: listed.Load(), Started: started, ListingDone: listingDone.Load()})
		}
		if outErr != nil {
			cancel()
		}
	}
	wg.Wait()
	sum.Duration = time.Since(started)
	if outErr != nil {
		return sum, outErr
	}
	if ctx.Err() != nil || errors.Is(listErr, context.Canceled) {
		sum.Interrupted = true
		return sum, nil
	}
	return sum, listErr
}

// decide applies what depends on the records before this one, in input
// order: one result per eventID, threshold windows, then the detection
// and severity filters.
func (o *Options) decide(ctx context.Context, rec Record, seen map[string]bool, sum *Summary) []detect.Finding {
	ev := rec.Event
	if ev.CloudTrail != nil && ev.CloudTrail.EventID != "" {
		if seen[ev.CloudTrail.EventID] {
			sum.Duplicates++
			return nil
		}
		seen[ev.CloudTrail.EventID] = true
	}
	findings, counted := o.Pipeline.CountThresholds(ctx, ev, rec.Findings, o.Log)
	sum.Counted += int64(len(counted))
	kept := findings[:0]
	for _, f := range findings {
		if o.Detections != nil && !o.Detections[f.Detection.ID] {
			continue
		}
		if o.MinSeverity.Valid() && f.Severity < o.MinSeverity {
			continue
		}
		kept = append(kept, f)
	}
	return kept
}

// read reads and decides one object's records.
func (o *Options) read(ctx context.Context, obj Object) objectResult {
	var r objectResult
	if ctx.Err() != nil {
		return r
	}
	body, err := obj.Open(ctx)
	if err != nil {
		r.unreadable = 1
		r.records = []Record{{Where: obj.Name, Err: err}}
		return r
	}
	defer body.Close()
	cr := &countingReader{r: body}
	err = eventfile.Read(obj.Name, cr, func(it eventfile.Item) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if it.Err != nil {
			r.unreadable++
			r.records = append(r.records, Record{Where: it.Where, Err: it.Err})
			return nil
		}
		r.count++
		rec, why := o.decideAlone(it)
		switch why {
		case outOfRange:
			r.outOfRange++
		case filtered:
			r.others++
		}
		if rec != nil {
			r.records = append(r.records, *rec)
		}
		return nil
	})
	r.bytes = cr.n
	if err != nil && !errors.Is(err, context.Canceled) {
		r.unreadable++
		r.records = append(r.records, Record{Where: obj.Name, Err: err})
	}
	return r
}

// skipped reports whether the event falls outside the time range.
func (o *Options) skipped(ev *event.Event) bool {
	t := eventTime(ev)
	return !t.IsZero() && (!o.Since.IsZero() && t.Before(o.Since) || !o.Until.IsZero() && !t.Before(o.Until))
}

// Why a record is not decided.
const (
	decided = iota
	outOfRange
	filtered
)

// decideAlone is the part of the decision that needs only the record:
// the filters, the catalog and the allow-lists. It returns nil for a
// record not to report, and why it was not decided.
func (o *Options) decideAlone(it eventfile.Item) (*Record, int) {
	ev := it.Event
	if o.skipped(ev) {
		return nil, outOfRange
	}
	if o.Principal != nil && (ev.CloudTrail == nil || !o.Principal(ev.CloudTrail.UserIdentity.ARN)) {
		return nil, filtered
	}
	if o.Filter != nil {
		account, region, arn := ev.Envelope.Account, ev.Envelope.Region, ""
		if ct := ev.CloudTrail; ct != nil {
			account, region, arn = ct.Account(), ct.AWSRegion, ct.UserIdentity.ARN
		}
		if !o.Filter(account, region, arn) {
			return nil, filtered
		}
	}
	findings, err := o.Pipeline.Catalog.Evaluate(ev)
	if err != nil {
		o.Log.Error("detection failed", "where", it.Where, "error", err)
	}
	findings, _ = o.Pipeline.Suppress(ev, findings, o.Log)
	// Scheduled detections decide what a scheduled check makes, never a
	// recorded event (replay leaves them out alike).
	findings = slices.DeleteFunc(findings, func(f detect.Finding) bool { return f.Detection.Scheduled })
	if len(findings) == 0 && !o.All {
		return nil, decided
	}
	return &Record{Where: it.Where, ID: ev.ID(), Event: ev, Findings: findings}, decided
}

func eventTime(ev *event.Event) time.Time {
	if ev.CloudTrail != nil {
		return ev.CloudTrail.EventTime
	}
	return ev.Envelope.Time
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// String is the summary in one line, for stderr.
func (s Summary) String() string {
	rate := 0.0
	if s.Duration > 0 {
		rate = float64(s.Records) / s.Duration.Seconds()
	}
	out := fmt.Sprintf("%d objects, %d records (%s), %d flagged, %d unreadable, in %s (%.0f records/s)",
		s.Objects, s.Records, bytesText(s.Bytes), s.Flagged, s.Unreadable, s.Duration.Round(time.Millisecond), rate)
	if s.OutOfRange > 0 {
		out += fmt.Sprintf(", %d outside --since/--until", s.OutOfRange)
	}
	if s.Duplicates > 0 {
		out += fmt.Sprintf(", %d duplicates", s.Duplicates)
	}
	if s.Interrupted {
		out += " (interrupted: the summary so far)"
	}
	return out
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
