// Package state is trailwatch's memory between invocations, in DynamoDB (or
// in process for the CLI): which alerts were delivered to which channel, so
// an event EventBridge delivers twice is sent once; and storm windows, so a
// principal that triggers one detection two hundred times in five minutes
// gets one alert and then a digest, not two hundred messages.
//
// Every item expires by DynamoDB TTL. Items hold names, IDs and headlines of
// events, never secrets.
package state

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of the table. The partition key is "pk" (string); TTL
// is on "expires" (epoch seconds).
const (
	KeyAttribute = "pk"
	TTLAttribute = "expires"
)

// Claim outcomes.
const (
	statusPending = "pending"
	statusSent    = "sent"
)

// MaxDigestEvents bounds how many repeats a window keeps for its digest;
// the count goes on beyond it.
const MaxDigestEvents = 20

// maxWindowIDs bounds the event IDs a window item keeps for counting
// without double counting; past it, repeats are counted in "overflow".
const maxWindowIDs = 2000

// DynamoAPI is the part of the DynamoDB client the store uses.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ DynamoAPI = (*dynamodb.Client)(nil)

// Dynamo keeps state in a DynamoDB table.
type Dynamo struct {
	Client DynamoAPI
	Table  string
	// ClaimTTL is how long a delivery is remembered; default 24 h (longer
	// than EventBridge's and Lambda's retries together).
	ClaimTTL time.Duration
	// StaleAfter is when a pending claim that records no holder deadline
	// (written by an earlier version, or by a holder without a deadline)
	// may be taken over; default 2 minutes, longer than the function runs.
	StaleAfter time.Duration
	// Grace is how long after its holder's deadline a pending claim may be
	// taken over; default DefaultGrace.
	Grace time.Duration
	// Timeout bounds each call; default 3 s.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (d *Dynamo) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dynamo) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	t := d.Timeout
	if t <= 0 {
		t = 3 * time.Second
	}
	return context.WithTimeout(ctx, t)
}

func orDefault(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Window identifies a storm window: one detection at one severity by one
// principal, in one window of time.
type Window struct {
	Detection string
	Severity  string
	Principal string
	// Start and End bound the window.
	Start, End time.Time
}

// WindowOf returns the tumbling window of length size holding t.
func WindowOf(detection, severity, principal string, t time.Time, size time.Duration) Window {
	start := t.UTC().Truncate(size)
	return Window{Detection: detection, Severity: severity, Principal: principal, Start: start, End: start.Add(size)}
}

// Key is the window's item key.
func (w Window) Key() string {
	return fmt.Sprintf("storm#%s#%s#%s#%d", w.Detection, w.Severity, w.Principal, w.Start.Unix())
}

// Occurrence is one event in a window, as the digest lists it.
type Occurrence struct {
	EventID  string `json:"eventId"`
	Time     string `json:"time"`
	Resource string `json:"resource"`
	Headline string `json:"headline"`
}

// Tally is what Record learned about the window.
type Tally struct {
	// First is set when this event opened the window (its first event, also
	// on a retry of that event): the caller alerts.
	First bool
	// Late is set when the window's digest was already claimed (sent, or
	// being sent) before this event arrived: the event is neither counted
	// nor held back, and the caller alerts it on its own. Windows follow
	// the events' own times, and CloudTrail delivers events minutes late,
	// so a repeat can arrive after its window closed and was digested.
	Late bool
	// Count is how many distinct events the window has seen.
	Count int
}

// Record adds an event to its window. The window counts each event ID once,
// so a retried or duplicated event is neither a repeat nor counted twice.
// An event that reaches a window whose digest was claimed is Late, unless
// it was counted before the claim (a retry), so no repeat is ever held for
// a digest that has gone out.
func (d *Dynamo) Record(ctx context.Context, w Window, o Occurrence, account, region string) (Tally, error) {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	key := map[string]types.AttributeValue{KeyAttribute: s(w.Key())}
	// A window of past events (a late delivery, a redriven event) still
	// lives a day after it was opened.
	expires := w.End
	if now := d.now(); now.After(expires) {
		expires = now
	}
	values := map[string]types.AttributeValue{
		":id":        &types.AttributeValueMemberSS{Value: []string{o.EventID}},
		":first":     s(o.EventID),
		":exp":       n(expires.Add(24 * time.Hour).Unix()),
		":end":       n(w.End.Unix()),
		":start":     n(w.Start.Unix()),
		":det":       s(w.Detection),
		":sev":       s(w.Severity),
		":principal": s(w.Principal),
		":account":   s(account),
		":region":    s(region),
	}
	set := "ADD ids :id SET firstEvent = if_not_exists(firstEvent, :first), expires = if_not_exists(expires, :exp), " +
		"windowEnd = if_not_exists(windowEnd, :end), windowStart = if_not_exists(windowStart, :start), detection = :det, severity = :sev, principal = :principal, " +
		"account = if_not_exists(account, :account), #region = if_not_exists(#region, :region)"
	// While the window holds at most MaxDigestEvents+1 events, the same
	// write keeps the event for the digest, as an attribute of its own (no
	// map to create first): one write per event. The first event's is not
	// listed; a retry overwrites its own.
	out, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(d.Table),
		Key:              key,
		UpdateExpression: aws.String(set + ", #occ = :occ"),
		// Open for new events until the digest is claimed, and while the
		// digest's list has room; an event already counted (a retry)
		// always passes.
		ConditionExpression:       aws.String(openForEvents + " AND (attribute_not_exists(ids) OR size(ids) <= :keep OR contains(ids, :first))"),
		ExpressionAttributeNames:  map[string]string{"#region": "region", "#occ": occurrencePrefix + o.EventID},
		ExpressionAttributeValues: merged(values, map[string]types.AttributeValue{":keep": n(MaxDigestEvents), ":occ": occurrenceItem(o)}),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if errors.As(err, new(*types.ConditionalCheckFailedException)) {
		// The digest's list is full (or the window digested, which the
		// next write tells apart): record the ID only.
		out, err = d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(d.Table),
			Key:                       key,
			UpdateExpression:          aws.String(set),
			ConditionExpression:       aws.String(openForEvents + " AND (attribute_not_exists(ids) OR size(ids) < :max OR contains(ids, :first))"),
			ExpressionAttributeNames:  map[string]string{"#region": "region"},
			ExpressionAttributeValues: merged(values, map[string]types.AttributeValue{":max": n(maxWindowIDs)}),
			ReturnValues:              types.ReturnValueAllNew,
		})
	}
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		// The window is full, or digested: count the repeat without its
		// ID, or tell the caller it is late.
		return d.overflow(ctx, key)
	}
	if err != nil {
		return Tally{}, fmt.Errorf("record %s: %w", w.Key(), err)
	}
	t := Tally{Count: countOf(out.Attributes)}
	if f, ok := out.Attributes["firstEvent"].(*types.AttributeValueMemberS); ok {
		t.First = f.Value == o.EventID
	}
	return t, nil
}

// openForEvents is the condition of a window that takes new events: its
// digest not claimed yet, or the event counted before the claim (a retry).
const openForEvents = "(attribute_not_exists(digested) OR contains(ids, :first))"

// overflow counts a repeat of a full window without its ID; when the
// window's digest was claimed, the repeat is Late instead.
func (d *Dynamo) overflow(ctx context.Context, key map[string]types.AttributeValue) (Tally, error) {
	out, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       key,
		UpdateExpression:          aws.String("ADD overflow :one"),
		ConditionExpression:       aws.String("attribute_not_exists(digested)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)},
		ReturnValues:              types.ReturnValueAllNew,
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return Tally{Late: true}, nil
	}
	if err != nil {
		return Tally{}, fmt.Errorf("count overflow: %w", err)
	}
	return Tally{Count: countOf(out.Attributes)}, nil
}

func countOf(attrs map[string]types.AttributeValue) int {
	c := 0
	if ids, ok := attrs["ids"].(*types.AttributeValueMemberSS); ok {
		c = len(ids.Value)
	}
	if o, ok := attrs["overflow"].(*types.AttributeValueMemberN); ok {
		v, _ := strconv.Atoi(o.Value)
		c += v
	}
	return c
}

// Digest is a closed window with repeats, to be summarized in one message.
type Digest struct {
	Window  Window
	Account string
	Region  string
	// Repeats is how many events after the first were not alerted.
	Repeats     int
	Occurrences []Occurrence
	key         string
}

// Key identifies the digest's window, for idempotent delivery.
func (d Digest) Key() string { return d.key }

// Due returns the windows that have ended, saw repeats, and were not
// digested yet.
func (d *Dynamo) Due(ctx context.Context) ([]Digest, error) {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	var out []Digest
	var start map[string]types.AttributeValue
	for {
		res, err := d.Client.Scan(ctx, &dynamodb.ScanInput{
			TableName:                 aws.String(d.Table),
			FilterExpression:          aws.String("begins_with(pk, :storm) AND windowEnd <= :now AND attribute_not_exists(digested)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":storm": s("storm#"), ":now": n(d.now().Unix())},
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("scan for due digests: %w", err)
		}
		for _, item := range res.Items {
			if dg, ok := digestOf(item); ok && dg.Repeats > 0 {
				out = append(out, dg)
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		start = res.LastEvaluatedKey
	}
	sortDigests(out)
	return out, nil
}

// sortDigests orders digests by the time of their windows (then key), so
// a replay prints them in the order production would have sent them.
func sortDigests(dgs []Digest) {
	sort.Slice(dgs, func(i, j int) bool {
		if !dgs[i].Window.Start.Equal(dgs[j].Window.Start) {
			return dgs[i].Window.Start.Before(dgs[j].Window.Start)
		}
		return dgs[i].key < dgs[j].key
	})
}

func digestOf(item map[string]types.AttributeValue) (Digest, bool) {
	str := func(k string) string {
		if v, ok := item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	end, _ := item["windowEnd"].(*types.AttributeValueMemberN)
	if end == nil {
		return Digest{}, false
	}
	e, _ := strconv.ParseInt(end.Value, 10, 64)
	var st int64
	if start, ok := item["windowStart"].(*types.AttributeValueMemberN); ok {
		st, _ = strconv.ParseInt(start.Value, 10, 64)
	}
	dg := Digest{
		Window: Window{Detection: str("detection"), Severity: str("severity"), Principal: str("principal"),
			Start: time.Unix(st, 0).UTC(), End: time.Unix(e, 0).UTC()},
		Account: str("account"), Region: str("region"),
		Repeats: countOf(item) - 1, key: str(KeyAttribute),
	}
	if kept := occurrencesOf(item); len(kept) > 0 {
		for id, v := range kept {
			m, _ := v.(*types.AttributeValueMemberM)
			if m == nil {
				continue
			}
			field := func(k string) string {
				if x, ok := m.Value[k].(*types.AttributeValueMemberS); ok {
					return x.Value
				}
				return ""
			}
			dg.Occurrences = append(dg.Occurrences, Occurrence{EventID: id, Time: field("time"), Resource: field("resource"), Headline: field("headline")})
		}
		sort.Slice(dg.Occurrences, func(i, j int) bool { return dg.Occurrences[i].Time < dg.Occurrences[j].Time })
	}
	return dg, true
}

// ClaimDigest marks a digest as being sent; false when another run has it.
// It returns the window as it was claimed: repeats recorded after Due
// listed it are in it, and any later repeat is Late (see Record), so none
// falls between the digest and the alerts.
func (d *Dynamo) ClaimDigest(ctx context.Context, dg Digest) (Digest, bool, error) {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	out, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       map[string]types.AttributeValue{KeyAttribute: s(dg.key)},
		UpdateExpression:          aws.String("SET digested = :now"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(digested)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(d.now().Unix())},
		ReturnValues:              types.ReturnValueAllNew,
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return dg, false, nil
	}
	if err != nil {
		return dg, false, fmt.Errorf("claim digest %s: %w", dg.key, err)
	}
	claimed, ok := digestOf(out.Attributes)
	if !ok {
		return dg, true, nil
	}
	return claimed, true, nil
}

// ReleaseDigest undoes ClaimDigest after a failed delivery.
func (d *Dynamo) ReleaseDigest(ctx context.Context, dg Digest) error {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(d.Table),
		Key:              map[string]types.AttributeValue{KeyAttribute: s(dg.key)},
		UpdateExpression: aws.String("REMOVE digested"),
	})
	if err != nil {
		return fmt.Errorf("release digest %s: %w", dg.key, err)
	}
	return nil
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
