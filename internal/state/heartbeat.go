package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// heartbeatPrefix starts the key of a member's heartbeat item:
// "heartbeat#<account>#<region>" (organization mode).
const heartbeatPrefix = "heartbeat#"

// HeartbeatTTL is how long a heartbeat item outlives its last write: an
// account that left the organization is forgotten a month later. A pair
// silent that long is expected again from scratch, so its silence is
// reported again once a month.
const HeartbeatTTL = 30 * 24 * time.Hour

// Heartbeat is what the state table knows of one member account and
// region's heartbeats.
type Heartbeat struct {
	Account, Region string
	// LastSeen is the time of the last heartbeat; zero when none came.
	LastSeen time.Time
	// ExpectedSince is when the check first expected the pair's
	// heartbeats; zero until it did.
	ExpectedSince time.Time
	// Alerted names the silence already reported (its episode key), so
	// each silence is alerted once.
	Alerted string
}

// HeartbeatKey is the item key of an account and region's heartbeats.
func HeartbeatKey(account, region string) string {
	return heartbeatPrefix + account + "#" + region
}

// RecordHeartbeat records a heartbeat of the account and region at the
// time the event carries. A heartbeat older than the one recorded (a late
// retry) changes nothing.
func (d *Dynamo) RecordHeartbeat(ctx context.Context, account, region string, at time.Time) error {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       map[string]types.AttributeValue{KeyAttribute: s(HeartbeatKey(account, region))},
		UpdateExpression:          aws.String("SET lastSeen = :at, account = :account, #region = :region, expires = :exp"),
		ConditionExpression:       aws.String("attribute_not_exists(lastSeen) OR lastSeen < :at"),
		ExpressionAttributeNames:  map[string]string{"#region": "region"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": n(at.Unix()), ":account": s(account), ":region": s(region), ":exp": n(d.later(at).Add(HeartbeatTTL).Unix())},
	})
	if errors.As(err, new(*types.ConditionalCheckFailedException)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record heartbeat of %s in %s: %w", account, region, err)
	}
	return nil
}

// later is the later of t and now: an item's expiry counts from whichever
// is later, so a heartbeat stamped in the past still lives its TTL.
func (d *Dynamo) later(t time.Time) time.Time {
	if now := d.now(); now.After(t) {
		return now
	}
	return t
}

// ExpectHeartbeat records that the check expects heartbeats of the account
// and region from now on, unless it did before; it returns since when they
// are expected.
func (d *Dynamo) ExpectHeartbeat(ctx context.Context, account, region string) (time.Time, error) {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	now := d.now()
	out, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       map[string]types.AttributeValue{KeyAttribute: s(HeartbeatKey(account, region))},
		UpdateExpression:          aws.String("SET expectedSince = if_not_exists(expectedSince, :now), account = :account, #region = :region, expires = if_not_exists(expires, :exp)"),
		ExpressionAttributeNames:  map[string]string{"#region": "region"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(now.Unix()), ":account": s(account), ":region": s(region), ":exp": n(now.Add(HeartbeatTTL).Unix())},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("expect heartbeats of %s in %s: %w", account, region, err)
	}
	return unixOf(out.Attributes, "expectedSince"), nil
}

// MarkSilenceAlerted records that the silence named episode was alerted.
func (d *Dynamo) MarkSilenceAlerted(ctx context.Context, account, region, episode string) error {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       map[string]types.AttributeValue{KeyAttribute: s(HeartbeatKey(account, region))},
		UpdateExpression:          aws.String("SET alerted = :e"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": s(episode)},
	})
	if errors.As(err, new(*types.ConditionalCheckFailedException)) {
		return nil // expired meanwhile: the next check starts over
	}
	if err != nil {
		return fmt.Errorf("mark silence of %s in %s alerted: %w", account, region, err)
	}
	return nil
}

// Heartbeats returns every heartbeat item, keyed by HeartbeatKey.
func (d *Dynamo) Heartbeats(ctx context.Context) (map[string]Heartbeat, error) {
	ctx, cancel := d.ctx(ctx)
	defer cancel()
	out := map[string]Heartbeat{}
	var start map[string]types.AttributeValue
	for {
		res, err := d.Client.Scan(ctx, &dynamodb.ScanInput{
			TableName:                 aws.String(d.Table),
			FilterExpression:          aws.String("begins_with(pk, :hb)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":hb": s(heartbeatPrefix)},
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("scan heartbeats: %w", err)
		}
		for _, item := range res.Items {
			key, _ := item[KeyAttribute].(*types.AttributeValueMemberS)
			if key == nil || !strings.HasPrefix(key.Value, heartbeatPrefix) {
				continue
			}
			hb := Heartbeat{
				Account: str(item, "account"), Region: str(item, "region"),
				LastSeen: unixOf(item, "lastSeen"), ExpectedSince: unixOf(item, "expectedSince"), Alerted: str(item, "alerted"),
			}
			out[key.Value] = hb
		}
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		start = res.LastEvaluatedKey
	}
	return out, nil
}

// unixOf reads an epoch-seconds attribute; zero when absent or unreadable.
func unixOf(item map[string]types.AttributeValue, k string) time.Time {
	v, ok := item[k].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	sec, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
