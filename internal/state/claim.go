package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DefaultGrace is how long after its holder's deadline a pending claim
// may be taken over. Lambda stops an invocation at its deadline; the grace
// covers the clocks of two hosts and a write the holder sent just before.
const DefaultGrace = 2 * time.Second

// ClaimStatus says what Claim found.
type ClaimStatus int

// Claim outcomes.
const (
	// Claimed: the caller holds the claim until its deadline, and sends.
	Claimed ClaimStatus = iota + 1
	// Sent: the channel has the alert (a claim marked sent); skip it.
	Sent
	// Held: another invocation holds the claim and its deadline (plus the
	// grace) has not passed. The caller must not send, and must fail so
	// that Lambda retries after the holder is done (or stopped).
	Held
)

func (s ClaimStatus) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case Sent:
		return "sent"
	case Held:
		return "held"
	}
	return "ClaimStatus(" + strconv.Itoa(int(s)) + ")"
}

// Claim is what a claim found.
type Claim struct {
	Status ClaimStatus
	// Until, when Held, is when the claim may be taken over: its holder's
	// deadline plus the grace.
	Until time.Time
	// TookOver, when Claimed, is set when the claim replaced a pending one
	// whose holder's deadline had passed. That holder was stopped between
	// claiming and marking the claim sent; it may have sent, so sending
	// again may repeat the alert (the only case where trailwatch repeats
	// one: a possible duplicate beats a lost alert).
	TookOver bool
	// Previous, when TookOver, is the deadline of the holder taken over.
	Previous time.Time
}

// ErrNotHolder is returned by Done and Release when the claim is no longer
// the caller's: it expired, or another invocation took it over.
var ErrNotHolder = errors.New("the claim is no longer this invocation's")

// Attribute names of a claim item, beside pk and expires.
const (
	attrStatus    = "status"
	attrHolder    = "holder"
	attrDeadline  = "holderDeadline" // epoch milliseconds
	attrClaimedAt = "claimedAt"      // epoch seconds
)

// Claim claims key for holder (a token unique to the invocation), whose
// deadline is when Lambda stops it; zero means now plus StaleAfter. It
// returns Sent when the key was marked sent, Held when another holder's
// claim is pending and its deadline plus Grace has not passed, and Claimed
// otherwise: a new claim, or the takeover of one whose holder's deadline
// passed (the holder is gone; its claim must not strand the alert).
func (d *Dynamo) Claim(ctx context.Context, key, holder string, deadline time.Time) (Claim, error) {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	// A claim found missing after its condition failed was released in
	// between: claim again, once.
	for range 2 {
		c, found, err := d.claim(ctx, key, holder, deadline)
		if err != nil || found {
			return c, err
		}
	}
	return Claim{}, fmt.Errorf("claim %s: released and claimed again while being claimed", key)
}

// claim makes one attempt; found is false when the condition failed but
// no item was there to explain it.
func (d *Dynamo) claim(ctx context.Context, key, holder string, deadline time.Time) (c Claim, found bool, err error) {
	now := d.now()
	if deadline.IsZero() {
		deadline = now.Add(orDefault(d.StaleAfter, 2*time.Minute))
	}
	out, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.Table),
		Item: map[string]types.AttributeValue{
			KeyAttribute:  s(key),
			TTLAttribute:  n(now.Add(orDefault(d.ClaimTTL, 24*time.Hour)).Unix()),
			attrStatus:    s(statusPending),
			attrHolder:    s(holder),
			attrDeadline:  n(deadline.UnixMilli()),
			attrClaimedAt: n(now.Unix()),
		},
		// Free, expired (TTL not yet applied), or pending with its holder's
		// deadline (plus the grace) past; a claim of an earlier version has
		// no deadline and goes stale StaleAfter after it was made.
		ConditionExpression: aws.String("attribute_not_exists(pk) OR expires < :now OR (#status = :pending AND " +
			"(#deadline < :expired OR (attribute_not_exists(#deadline) AND claimedAt < :stale)))"),
		ExpressionAttributeNames: map[string]string{"#status": attrStatus, "#deadline": attrDeadline},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":     n(now.Unix()),
			":pending": s(statusPending),
			":expired": n(now.Add(-d.grace()).UnixMilli()),
			":stale":   n(now.Add(-orDefault(d.StaleAfter, 2*time.Minute)).Unix()),
		},
		ReturnValues: types.ReturnValueAllOld,
		// DynamoDB then says in the same answer why the condition failed;
		// a server that does not (dynalite) is asked with GetItem.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		item := cond.Item
		if item == nil {
			got, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{
				TableName:      aws.String(d.Table),
				Key:            map[string]types.AttributeValue{KeyAttribute: s(key)},
				ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				return Claim{}, true, fmt.Errorf("claim %s: read the claim that holds it: %w", key, err)
			}
			item = got.Item
		}
		if item == nil {
			return Claim{}, false, nil
		}
		return d.existing(item), true, nil
	}
	if err != nil {
		return Claim{}, true, fmt.Errorf("claim %s: %w", key, err)
	}
	c = Claim{Status: Claimed}
	if old := out.Attributes; old != nil && str(old, attrStatus) == statusPending {
		c.TookOver = true
		c.Previous = d.holderDeadline(old)
	}
	return c, true, nil
}

// existing classifies the item that kept a claim from being made.
func (d *Dynamo) existing(item map[string]types.AttributeValue) Claim {
	if str(item, attrStatus) == statusSent {
		return Claim{Status: Sent}
	}
	return Claim{Status: Held, Until: d.holderDeadline(item).Add(d.grace())}
}

// holderDeadline is a pending claim's deadline; for a claim of an earlier
// version, when it goes stale.
func (d *Dynamo) holderDeadline(item map[string]types.AttributeValue) time.Time {
	if v, ok := num(item, attrDeadline); ok {
		return time.UnixMilli(v)
	}
	at, _ := num(item, attrClaimedAt)
	return time.Unix(at, 0).Add(orDefault(d.StaleAfter, 2*time.Minute)).Add(-d.grace())
}

func (d *Dynamo) grace() time.Duration { return orDefault(d.Grace, DefaultGrace) }

// Done marks holder's claim of key sent: the channel has the alert.
func (d *Dynamo) Done(ctx context.Context, key, holder string) error {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       map[string]types.AttributeValue{KeyAttribute: s(key)},
		UpdateExpression:          aws.String("SET #status = :sent"),
		ConditionExpression:       aws.String("#holder = :holder"),
		ExpressionAttributeNames:  map[string]string{"#status": attrStatus, "#holder": attrHolder},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sent": s(statusSent), ":holder": s(holder)},
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return fmt.Errorf("mark %s sent: %w", key, ErrNotHolder)
	}
	if err != nil {
		return fmt.Errorf("mark %s sent: %w", key, err)
	}
	return nil
}

// Release forgets holder's pending claim of key after a failed delivery,
// so a retry delivers at once.
func (d *Dynamo) Release(ctx context.Context, key, holder string) error {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	_, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       map[string]types.AttributeValue{KeyAttribute: s(key)},
		ConditionExpression:       aws.String("#holder = :holder AND #status = :pending"),
		ExpressionAttributeNames:  map[string]string{"#status": attrStatus, "#holder": attrHolder},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pending": s(statusPending), ":holder": s(holder)},
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return fmt.Errorf("release %s: %w", key, ErrNotHolder)
	}
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	return nil
}

func num(item map[string]types.AttributeValue, k string) (int64, bool) {
	v, ok := item[k].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(v.Value, 10, 64)
	return i, err == nil
}

// memClaim is a claim in process.
type memClaim struct {
	sent     bool
	holder   string
	deadline time.Time
}

// Claim is Dynamo.Claim in process, with DefaultGrace.
func (m *Memory) Claim(_ context.Context, key, holder string, deadline time.Time) (Claim, error) {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	if deadline.IsZero() {
		deadline = now.Add(2 * time.Minute)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.claims[key]
	switch {
	case ok && old.sent:
		return Claim{Status: Sent}, nil
	case ok && !now.After(old.deadline.Add(DefaultGrace)):
		return Claim{Status: Held, Until: old.deadline.Add(DefaultGrace)}, nil
	}
	m.claims[key] = memClaim{holder: holder, deadline: deadline}
	if ok {
		return Claim{Status: Claimed, TookOver: true, Previous: old.deadline}, nil
	}
	return Claim{Status: Claimed}, nil
}

// Done is Dynamo.Done in process.
func (m *Memory) Done(_ context.Context, key, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.claims[key]
	if !ok || c.holder != holder {
		return fmt.Errorf("mark %s sent: %w", key, ErrNotHolder)
	}
	c.sent = true
	m.claims[key] = c
	return nil
}

// Release is Dynamo.Release in process.
func (m *Memory) Release(_ context.Context, key, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.claims[key]
	if !ok || c.holder != holder || c.sent {
		return fmt.Errorf("release %s: %w", key, ErrNotHolder)
	}
	delete(m.claims, key)
	return nil
}
