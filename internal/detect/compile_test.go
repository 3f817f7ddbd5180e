package detect

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// TestBuiltinCompilesWhenFirstMatched: the built-in catalog, and the same
// under settings that narrow patterns, compile only when they first match
// (a function builds both and matches with the second only), and every
// built-in pattern compiles.
func TestBuiltinCompilesWhenFirstMatched(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := c.WithEnv(Env{OwnPrefixes: []string{"Trailwatch-"}, OwnNames: []string{"trailwatch-alerts"}, TrailBuckets: []string{"org-trail-logs"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.m.c != nil || deployed.m.c != nil {
		t.Fatal("a catalog compiled its patterns before matching")
	}
	ev, err := event.Decode([]byte(`{"version":"0","id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","account":"111122223333","time":"2026-11-20T09:00:00Z","region":"eu-west-1","resources":[],"detail":{"eventSource":"s3.amazonaws.com","eventName":"DeleteBucketPolicy","eventTime":"2026-11-20T09:00:00Z","requestParameters":{"bucketName":"b"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deployed.Match(ev); err != nil {
		t.Fatal(err)
	}
	if deployed.m.c == nil {
		t.Error("matching did not compile the patterns")
	}
	if err := c.Compile(); err != nil {
		t.Errorf("the built-in patterns: %v", err)
	}
}

// TestNewRefusesPatternsAtOnce: New, for detections from outside the
// package (users' rules), compiles at once and names every pattern the
// matcher does not understand.
func TestNewRefusesPatternsAtOnce(t *testing.T) {
	bad := func(id string) *Detection {
		d := *builtin[0]
		d.ID = id
		d.Pattern = Pattern{Source: []any{map[string]any{"numeric": []any{">", 1}}}}
		return &d
	}
	_, err := New(bad("bad-one"), bad("bad-two"))
	if err == nil || !strings.Contains(err.Error(), `"bad-one"`) || !strings.Contains(err.Error(), `"bad-two"`) {
		t.Errorf("New() error = %v, want one naming both detections", err)
	}
}
