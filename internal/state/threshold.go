package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MaxCrossingItems bounds the items a crossing reports (the alert names
// them); the count goes on beyond it.
const MaxCrossingItems = 25

// Count is one event's contribution to a threshold detection's window:
// one principal, one detection, one window of event time.
type Count struct {
	Detection string
	Principal string
	// Start and End bound the window.
	Start, End time.Time
	EventID    string
	Time       time.Time
	// Items are what the event adds: the distinct things it touched, or
	// its own event ID when events are counted.
	Items []string
	// Threshold is how many items make the window cross.
	Threshold int
}

// Key is the window's item key.
func (c Count) Key() string {
	b := make([]byte, 0, len("threshold###")+len(c.Detection)+len(c.Principal)+32)
	b = append(b, "threshold#"...)
	b = append(b, c.Detection...)
	b = append(b, '#')
	b = append(b, c.Principal...)
	b = append(b, '#')
	b = strconv.AppendInt(b, c.Start.Unix(), 10)
	b = append(b, '#')
	b = strconv.AppendInt(b, int64(c.End.Sub(c.Start)/time.Second), 10)
	return string(b)
}

// Crossing is what counting one event learned about its window.
type Crossing struct {
	// N is how many items the window holds (at the crossing, or when this
	// event was counted).
	N int
	// Crossed is set for the one event that took the window to its
	// threshold, also on a retry of that event: the caller alerts.
	Crossed bool
	// Already is set when another event crossed the window before: its
	// alert covers this one.
	Already bool
	// Items are up to MaxCrossingItems of the window's items, sorted.
	Items []string
	// FirstEvent and FirstTime are the window's first counted event.
	FirstEvent string
	FirstTime  time.Time
}

// CountTowards adds the event's items to its window, atomically, and says
// whether this event crossed the threshold. Items are a string set, so a
// retried or duplicated event counts once; once a window has crossed it
// takes no more items (its item stays small), and only the crossing event
// (or its retry) is told Crossed.
func (d *Dynamo) CountTowards(ctx context.Context, c Count) (Crossing, error) {
	items := slices.Compact(slices.Sorted(slices.Values(c.Items)))
	items = slices.DeleteFunc(items, func(s string) bool { return s == "" })
	if len(items) == 0 {
		return Crossing{}, errors.New("count " + c.Key() + ": no items")
	}
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	key := map[string]types.AttributeValue{KeyAttribute: s(c.Key())}
	expires := c.End
	if now := d.now(); now.After(expires) {
		expires = now
	}
	out, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.Table),
		Key:       key,
		UpdateExpression: aws.String("ADD #items :items SET firstEvent = if_not_exists(firstEvent, :ev), firstTime = if_not_exists(firstTime, :t), " +
			"expires = if_not_exists(expires, :exp), detection = :det, principal = :principal"),
		ConditionExpression:      aws.String("attribute_not_exists(crossedBy) OR crossedBy = :ev"),
		ExpressionAttributeNames: map[string]string{"#items": "items"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":items": &types.AttributeValueMemberSS{Value: items}, ":ev": s(c.EventID), ":t": s(c.Time.UTC().Format(time.RFC3339)),
			":exp": n(expires.Add(24 * time.Hour).Unix()), ":det": s(c.Detection), ":principal": s(c.Principal),
		},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		cr := crossingOf(cond.Item)
		cr.Already = true
		return cr, nil
	}
	if err != nil {
		return Crossing{}, fmt.Errorf("count %s: %w", c.Key(), err)
	}
	cr := crossingOf(out.Attributes)
	if cr.N < c.Threshold {
		return cr, nil
	}
	// This event reached the threshold: the first to mark the window
	// crossed alerts.
	_, err = d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       key,
		UpdateExpression:          aws.String("SET crossedBy = :ev"),
		ConditionExpression:       aws.String("attribute_not_exists(crossedBy) OR crossedBy = :ev"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":ev": s(c.EventID)},
	})
	if errors.As(err, &cond) {
		cr.Already = true
		return cr, nil
	}
	if err != nil {
		return Crossing{}, fmt.Errorf("mark %s crossed: %w", c.Key(), err)
	}
	cr.Crossed = true
	return cr, nil
}

func crossingOf(item map[string]types.AttributeValue) Crossing {
	var cr Crossing
	if ss, ok := item["items"].(*types.AttributeValueMemberSS); ok {
		cr.N = len(ss.Value)
		cr.Items = firstItems(ss.Value)
	}
	cr.FirstEvent = str(item, "firstEvent")
	cr.FirstTime, _ = time.Parse(time.RFC3339, str(item, "firstTime"))
	return cr
}

func firstItems(items []string) []string {
	out := slices.Sorted(slices.Values(items))
	if len(out) > MaxCrossingItems {
		out = out[:MaxCrossingItems]
	}
	return out
}

type memCount struct {
	items map[string]struct{}
	// first are the window's MaxCrossingItems smallest items, sorted:
	// what a crossing reports, kept as items come so that counting does
	// not sort the whole window each time.
	first      []string
	firstEvent string
	firstTime  time.Time
	crossedBy  string
}

// add adds an item (already cloned) the window does not hold yet.
func (mc *memCount) add(it string) {
	mc.items[it] = struct{}{}
	if len(mc.first) == MaxCrossingItems && it >= mc.first[MaxCrossingItems-1] {
		return
	}
	i, _ := slices.BinarySearch(mc.first, it)
	if len(mc.first) == MaxCrossingItems {
		mc.first = mc.first[:MaxCrossingItems-1]
	}
	mc.first = slices.Insert(mc.first, i, it)
}

func (mc *memCount) crossing() Crossing {
	return Crossing{N: len(mc.items), Items: slices.Clone(mc.first), FirstEvent: mc.firstEvent, FirstTime: mc.firstTime}
}

// CountTowards is Dynamo's CountTowards in process.
func (m *Memory) CountTowards(_ context.Context, c Count) (Crossing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts = map[string]*memCount{}
	}
	key := c.Key()
	mc := m.counts[key]
	if mc == nil {
		// Cloned: the event's strings are slices of its whole record (see
		// Record).
		mc = &memCount{items: map[string]struct{}{}, firstEvent: strings.Clone(c.EventID), firstTime: c.Time}
		m.counts[key] = mc
	}
	if mc.crossedBy != "" && mc.crossedBy != c.EventID {
		out := mc.crossing()
		out.Already = true
		return out, nil
	}
	added := false
	for _, it := range c.Items {
		if it == "" {
			continue
		}
		if _, ok := mc.items[it]; !ok {
			mc.add(strings.Clone(it))
		}
		added = true
	}
	if !added {
		return Crossing{}, errors.New("count " + key + ": no items")
	}
	out := mc.crossing()
	if out.N >= c.Threshold {
		mc.crossedBy = strings.Clone(c.EventID)
		out.Crossed = true
	}
	return out, nil
}
