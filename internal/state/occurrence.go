package state

import (
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// occurrencePrefix starts the name of the attribute that keeps an event of
// a window for its digest; the event's ID follows.
const occurrencePrefix = "occ#"

func occurrenceItem(o Occurrence) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"time": s(o.Time), "resource": s(o.Resource), "headline": s(o.Headline),
	}}
}

// merged returns a map with the entries of both.
func merged(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(a)+len(b))
	maps.Copy(out, a)
	maps.Copy(out, b)
	return out
}

// occurrencesOf returns the events a window keeps for its digest, by event
// ID: one attribute each, the first event's left out, or the one map a
// window written by an earlier version holds.
func occurrencesOf(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	kept := map[string]types.AttributeValue{}
	if occ, ok := item["occurrences"].(*types.AttributeValueMemberM); ok {
		kept = occ.Value
	}
	first := str(item, "firstEvent")
	for name, v := range item {
		if id, ok := strings.CutPrefix(name, occurrencePrefix); ok && id != first {
			kept[id] = v
		}
	}
	return kept
}

// str is the string attribute k of item, or "".
func str(item map[string]types.AttributeValue, k string) string {
	if v, ok := item[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
