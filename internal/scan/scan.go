// Package scan backtests archives of CloudTrail logs: every record of
// local files or S3 prefixes through the detection catalog, allow-lists
// and threshold windows the functions use, without enrichment or delivery.
// Objects are read in parallel and their records decoded and decided in
// batches on every core (a single large log file too); the results come
// out in input order, so a scan prints the same lines whatever the number
// of workers, and memory stays bounded by the batches in flight.
package scan

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
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

// Batches bound what a scan holds: an object's records are read into
// batches of batchSize, decoded and decided on the workers side by side
// (so one large log file uses every core too), and at most batchesAhead
// batches of an object wait for the output before its reader stops.
const (
	batchSize    = 128
	batchesAhead = 2
)

// batch is a run of an object's items and, once a worker decided them,
// what it made of them.
type batch struct {
	items              []eventfile.Item
	records            []Record
	count              int64
	outOfRange, others int64
	done               chan struct{}
}

// objectRun is one object's batches in input order, then its totals.
type objectRun struct {
	batches chan *batch
	// Set before batches is closed.
	bytes, unreadable int64
	failure           *Record
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
		obj Object
		run *objectRun
	}
	jobs := make(chan job)
	decode := make(chan *batch, workers)
	// order holds the objects in input order; its capacity bounds how far
	// the listing may run ahead of the output.
	order := make(chan *objectRun, 2*workers)
	var listed atomic.Int64
	listingDone := atomic.Bool{}
	var listErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(order)
		defer close(jobs)
		listErr = list(ctx, func(obj Object) error {
			run := &objectRun{batches: make(chan *batch, batchesAhead)}
			select {
			case order <- run:
			case <-ctx.Done():
				return ctx.Err()
			}
			listed.Add(1)
			if obj.Err != nil {
				run.unreadable = 1
				run.failure = &Record{Where: obj.Name, Err: obj.Err}
				close(run.batches)
				return nil
			}
			select {
			case jobs <- job{obj: obj, run: run}:
				return nil
			case <-ctx.Done():
				close(run.batches)
				return ctx.Err()
			}
		})
		listingDone.Store(true)
	}()
	// Readers gunzip and split objects into batches; deciders decode and
	// decide the batches. A reader waits for the output (batchesAhead),
	// a decider never does, so the oldest batch is always being decided.
	var readers, deciders sync.WaitGroup
	for range workers {
		readers.Go(func() {
			for j := range jobs {
				o.read(ctx, j.obj, j.run, decode)
			}
		})
		deciders.Go(func() {
			for b := range decode {
				o.decideBatch(b)
			}
		})
	}
	go func() {
		readers.Wait()
		close(decode)
	}()
	sum := Summary{}
	seen := newRecent(maxRecentIDs)
	var outErr error
	for run := range order {
		for b := range run.batches {
			<-b.done
			sum.Records += b.count
			sum.OutOfRange += b.outOfRange
			sum.Filtered += b.others
			for _, rec := range b.records {
				if outErr != nil {
					break
				}
				if rec.Err != nil {
					sum.Unreadable++
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
			if outErr != nil {
				cancel()
			}
		}
		sum.Objects++
		sum.Bytes += run.bytes
		sum.Unreadable += run.unreadable
		if run.failure != nil && outErr == nil {
			outErr = out(*run.failure)
		}
		if o.Progress != nil {
			o.Progress(Progress{Objects: sum.Objects, Records: sum.Records, Bytes: sum.Bytes, Listed: listed.Load(), Started: started, ListingDone: listingDone.Load()})
		}
		if outErr != nil {
			cancel()
		}
	}
	deciders.Wait()
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

// maxRecentIDs bounds the eventIDs of flagged records a scan remembers to
// recognize duplicates (organization trails deliver a record to each
// trail's bucket): a duplicate farther than this many flagged records from
// its first copy is reported again. It keeps a scan's memory flat however
// long the archive; 64-bit hashes keep it a few MB.
const maxRecentIDs = 1 << 16

// recent is a set of the last IDs added, by a 64-bit hash of each: a
// collision (odds about n²/2⁶⁵) would drop one flagged record as a
// duplicate.
type recent struct {
	seed maphash.Seed
	set  map[uint64]struct{}
	ring []uint64
	next int
}

func newRecent(n int) *recent {
	return &recent{seed: maphash.MakeSeed(), set: make(map[uint64]struct{}), ring: make([]uint64, 0, n)}
}

// add adds id and reports whether it was there already.
func (r *recent) add(id string) bool {
	h := maphash.String(r.seed, id)
	if _, ok := r.set[h]; ok {
		return true
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, h)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = h
		r.next = (r.next + 1) % len(r.ring)
	}
	r.set[h] = struct{}{}
	return false
}

// decide applies what depends on the records before this one, in input
// order: one result per eventID, threshold windows, then the detection
// and severity filters.
func (o *Options) decide(ctx context.Context, rec Record, seen *recent, sum *Summary) []detect.Finding {
	ev := rec.Event
	if ev.CloudTrail != nil && ev.CloudTrail.EventID != "" && seen.add(ev.CloudTrail.EventID) {
		sum.Duplicates++
		return nil
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

// read splits one object into batches, handing each to the deciders and,
// in order, to the output (run.batches, closed at the end).
func (o *Options) read(ctx context.Context, obj Object, run *objectRun, decode chan<- *batch) {
	defer close(run.batches)
	if ctx.Err() != nil {
		return
	}
	body, err := obj.Open(ctx)
	if err != nil {
		run.unreadable = 1
		run.failure = &Record{Where: obj.Name, Err: err}
		return
	}
	defer body.Close()
	cr := &countingReader{r: body}
	cur := &batch{items: make([]eventfile.Item, 0, batchSize)}
	flush := func() error {
		if len(cur.items) == 0 {
			return nil
		}
		b := cur
		cur = &batch{items: make([]eventfile.Item, 0, batchSize)}
		b.done = make(chan struct{})
		// The output's slot first: the deciders never wait for it.
		select {
		case run.batches <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case decode <- b:
			return nil
		case <-ctx.Done():
			close(b.done)
			return ctx.Err()
		}
	}
	err = eventfile.ReadLazy(obj.Name, cr, func(it eventfile.Item) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cur.items = append(cur.items, it)
		if len(cur.items) == batchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	run.bytes = cr.n
	if err != nil && !errors.Is(err, context.Canceled) {
		run.unreadable++
		run.failure = &Record{Where: obj.Name, Err: err}
	}
}

// decideBatch decodes a batch's items and makes the decisions that need
// only the record.
func (o *Options) decideBatch(b *batch) {
	defer close(b.done)
	for i := range b.items {
		it := &b.items[i]
		it.Decode()
		if it.Err != nil {
			b.records = append(b.records, Record{Where: it.Where, Err: it.Err})
			continue
		}
		b.count++
		rec, why := o.decideAlone(*it)
		switch why {
		case outOfRange:
			b.outOfRange++
		case filtered:
			b.others++
		}
		if rec != nil {
			b.records = append(b.records, *rec)
		}
	}
	b.items = nil
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
