package awslookup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	ctrecord "github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/s3access"
)

const (
	// DefaultHistoryTimeout bounds a whole History look-up, all queries and
	// pages together, when no timeout is configured.
	DefaultHistoryTimeout = 4 * time.Second
	// DefaultHistoryPages is how many pages of one query History reads when
	// MaxPages is not set.
	DefaultHistoryPages = 3
	// HistoryWindow is how far back CloudTrail's event history goes.
	HistoryWindow = 90 * 24 * time.Hour

	// lookupPageSize is the most LookupEvents returns in one page.
	lookupPageSize = 50
)

// The Block Public Access changes History looks for, as CloudTrail names them.
const (
	eventPutBucketBlock     = "PutBucketPublicAccessBlock"
	eventDeleteBucketBlock  = "DeleteBucketPublicAccessBlock"
	eventPutAccountBlock    = "PutAccountPublicAccessBlock"
	eventDeleteAccountBlock = "DeleteAccountPublicAccessBlock"
)

// CloudTrailAPI is the event history call History uses.
type CloudTrailAPI interface {
	LookupEvents(ctx context.Context, params *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

var _ CloudTrailAPI = (*cloudtrail.Client)(nil)

// History finds earlier configuration changes in CloudTrail's event history
// (LookupEvents): the last 90 days of management events of one account in
// one region. It holds no state and is safe for concurrent use.
type History struct {
	CloudTrail CloudTrailAPI
	// Timeout bounds the whole look-up; zero means DefaultHistoryTimeout.
	Timeout time.Duration
	// MaxPages bounds the pages read per query; zero means
	// DefaultHistoryPages. LookupEvents answers 50 events a page and allows
	// two calls a second per account and region.
	MaxPages int
}

// PriorBlock is the Block Public Access configuration in force before a change.
type PriorBlock struct {
	Config  s3access.PublicAccessBlock
	EventID string
	// Event is "PutBucketPublicAccessBlock" or "DeleteBucketPublicAccessBlock"
	// (or the account-level names).
	Event string
	Time  time.Time
	// By is the userIdentity ARN of that earlier call, as recorded.
	By string
}

// PreviousPublicAccessBlock returns the configuration set by the latest
// successful Put/Delete of the bucket's (bucket != "") or the account's
// (bucket == "") Block Public Access before `before`, skipping the event
// excludeEventID itself. found is false when none happened in the last 90
// days.
//
// It asks LookupEvents in region, once for the Put and once for the Delete
// event name, concurrently, each query reading up to MaxPages pages, and
// ignores failed calls, other buckets and records it cannot read. A Delete
// leaves all four flags off.
//
// CloudTrail records times in whole seconds, so an event in the same second
// as `before` cannot be ordered against the change being explained: it is
// skipped, and the answer is the state at the end of the previous second.
// Counting it instead could present a later change as the earlier state.
//
// Errors (access denied, throttling after the SDK's retries, the Timeout,
// or a query with more pages than MaxPages that might hide a newer change)
// mean the earlier state is unknown; they name the query that failed.
func (h *History) PreviousPublicAccessBlock(ctx context.Context, region, bucket string, before time.Time, excludeEventID string) (prior PriorBlock, found bool, err error) {
	if h.CloudTrail == nil {
		return PriorBlock{}, false, errors.New("lookup events: no CloudTrail client")
	}
	if before.IsZero() {
		return PriorBlock{}, false, errors.New("lookup events: no time to look back from")
	}
	names := [2]string{eventPutBucketBlock, eventDeleteBucketBlock}
	if bucket == "" {
		names = [2]string{eventPutAccountBlock, eventDeleteAccountBlock}
	}
	q := blockQuery{
		region:   region,
		bucket:   bucket,
		start:    before.Add(-HistoryWindow),
		end:      before,
		cutoff:   before.Truncate(time.Second),
		exclude:  excludeEventID,
		maxPages: h.MaxPages,
	}
	if q.maxPages <= 0 {
		q.maxPages = DefaultHistoryPages
	}

	timeout := OrDefault(h.Timeout, DefaultHistoryTimeout)
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		results [2]queryResult
		wg      sync.WaitGroup
	)
	for i, name := range names {
		wg.Go(func() { results[i] = q.run(callCtx, h.CloudTrail, name) })
	}
	wg.Wait()

	// Both queries must have answered: the one that failed may hold the
	// newer change. The Put query's error is reported first.
	for i, r := range results {
		if r.err == nil {
			continue
		}
		qerr := r.err
		// The deadline has passed by now if the other query ran into it;
		// only an error that came from the deadline is reported as one.
		if errors.Is(qerr, context.DeadlineExceeded) {
			qerr = TimeoutError(ctx, callCtx, timeout, qerr)
		}
		return PriorBlock{}, false, fmt.Errorf("lookup events %s: %w", names[i], qerr)
	}
	// Newest wins; on a tie (same second) the Put query's answer is kept.
	for _, r := range results {
		if r.found && (!found || r.prior.Time.After(prior.Time)) {
			prior, found = r.prior, true
		}
	}
	// A query cut off at MaxPages has only older events left unread, all at
	// or before the oldest it saw; they cannot beat a newer answer.
	for i, r := range results {
		if r.truncated && !(found && prior.Time.After(r.oldest)) {
			return PriorBlock{}, false, fmt.Errorf("lookup events %s: page limit (%d) reached before a match", names[i], q.maxPages)
		}
	}
	return prior, found, nil
}

// blockQuery holds what both queries of one look-up share.
type blockQuery struct {
	region, bucket string
	start, end     time.Time
	// cutoff is the start of before's second: only events strictly earlier
	// count.
	cutoff   time.Time
	exclude  string
	maxPages int
}

// queryResult is how one event name's query ended.
type queryResult struct {
	prior PriorBlock
	found bool
	// truncated is set when MaxPages ran out with pages left and nothing
	// found; oldest is then the oldest event time seen.
	truncated bool
	oldest    time.Time
	err       error
}

// run reads pages of one event name, newest first, until a page holds a
// qualifying event, the pages run out, or MaxPages is reached.
func (q blockQuery) run(ctx context.Context, client CloudTrailAPI, name string) queryResult {
	p := cloudtrail.NewLookupEventsPaginator(client, &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{
			AttributeKey:   types.LookupAttributeKeyEventName,
			AttributeValue: aws.String(name),
		}},
		StartTime: aws.Time(q.start),
		EndTime:   aws.Time(q.end),
	}, func(o *cloudtrail.LookupEventsPaginatorOptions) { o.Limit = lookupPageSize })
	inRegion := func(o *cloudtrail.Options) {
		if q.region != "" {
			o.Region = q.region
		}
	}

	res := queryResult{oldest: q.end}
	for page := 0; page < q.maxPages && p.HasMorePages(); page++ {
		out, err := p.NextPage(ctx, inRegion)
		if err != nil {
			return queryResult{err: err}
		}
		// LookupEvents lists the newest first, so the first page with a
		// match holds the query's answer; comparing times anyway keeps the
		// answer right if a page is not in order.
		for _, ev := range out.Events {
			if ev.EventTime != nil && ev.EventTime.Before(res.oldest) {
				res.oldest = *ev.EventTime
			}
			prior, ok := q.match(name, ev)
			if ok && (!res.found || prior.Time.After(res.prior.Time)) {
				res.prior, res.found = prior, true
			}
		}
		if res.found {
			return res
		}
	}
	res.truncated = p.HasMorePages()
	return res
}

// match reads one history event and reports whether it is a successful
// change named name, of the right bucket (or of the account), before the
// cutoff.
func (q blockQuery) match(name string, ev types.Event) (PriorBlock, bool) {
	if q.exclude != "" && aws.ToString(ev.EventId) == q.exclude {
		return PriorBlock{}, false
	}
	rec, err := ctrecord.Decode([]byte(aws.ToString(ev.CloudTrailEvent)))
	if err != nil || rec.Failed() || rec.EventName != name || rec.EventSource != "s3.amazonaws.com" {
		return PriorBlock{}, false
	}
	if q.exclude != "" && rec.EventID == q.exclude {
		return PriorBlock{}, false
	}
	if !rec.EventTime.Before(q.cutoff) {
		return PriorBlock{}, false
	}
	if q.bucket != "" {
		var rp struct {
			BucketName string `json:"bucketName"`
		}
		if json.Unmarshal(rec.RequestParameters, &rp) != nil || rp.BucketName != q.bucket {
			return PriorBlock{}, false
		}
	}
	prior := PriorBlock{
		EventID: rec.EventID,
		Event:   rec.EventName,
		Time:    rec.EventTime,
		By:      rec.UserIdentity.ARN,
	}
	if prior.EventID == "" {
		prior.EventID = aws.ToString(ev.EventId)
	}
	switch name {
	case eventPutBucketBlock, eventPutAccountBlock:
		cfg, ok, err := s3access.ParsePublicAccessBlock(rec.RequestParameters)
		if err != nil || !ok {
			return PriorBlock{}, false
		}
		prior.Config = cfg
	case eventDeleteBucketBlock, eventDeleteAccountBlock:
		// Without a configuration every flag is off.
	default:
		return PriorBlock{}, false
	}
	return prior, true
}
