package detect_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/eventfile"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

func TestGuardOf(t *testing.T) {
	tests := []struct {
		name, pattern, guard string
		ok                   bool
	}{
		{"exact values only: one step", `{"source":["aws.iam"],"detail":{"eventName":["CreateUser"]}}`, "", false},
		{"prefix is cheap", `{"source":[{"prefix":"aws."}],"detail":{"eventName":[{"prefix":"Create"}]}}`, "", false},
		{"exists:false and wildcards leave their exact siblings",
			`{"source":[{"prefix":"aws."}],"detail":{"sourceIPAddress":[{"wildcard":"*.*.*.*"}],"userIdentity":{"invokedBy":[{"exists":false}],"type":["AssumedRole"]}}}`,
			`{"detail":{"userIdentity":{"type":["AssumedRole"]}},"source":[{"prefix":"aws."}]}`, true},
		{"an object left empty goes",
			`{"detail":{"eventName":["PutBucketLogging"],"requestParameters":{"BucketLoggingStatus":{"LoggingEnabled":[{"exists":false}]}}}}`,
			`{"detail":{"eventName":["PutBucketLogging"]}}`, true},
		{"a leaf with one costly matcher goes whole",
			`{"detail":{"eventName":["GetObject"],"errorCode":[{"prefix":"AccessDenied"},{"wildcard":"*Unauthorized*"}]}}`,
			`{"detail":{"eventName":["GetObject"]}}`, true},
		{"nothing selective left: one step",
			`{"source":[{"prefix":"aws."}],"detail-type":["AWS API Call via CloudTrail"],"detail":{"errorCode":[{"wildcard":"*UnauthorizedOperation"}]}}`, "", false},
		{"prefix under detail is not selective enough",
			`{"detail":{"eventName":[{"prefix":"Get"}],"userIdentity":{"invokedBy":[{"exists":false}]}}}`, "", false},
		{"anything-but and numeric are costly",
			`{"detail":{"eventType":[{"anything-but":["AwsServiceEvent"]}],"n":[{"numeric":[">",1]}],"userIdentity":{"type":["Root"]}}}`,
			`{"detail":{"userIdentity":{"type":["Root"]}}}`, true},
		{"a prefix of equals-ignore-case is costly",
			`{"detail":{"eventName":[{"prefix":{"equals-ignore-case":"get"}}],"userIdentity":{"type":["Root"]}}}`,
			`{"detail":{"userIdentity":{"type":["Root"]}}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			guard, ok, err := detect.GuardOf(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if guard != tt.guard || ok != tt.ok {
				t.Errorf("guardOf = %s, %v; want %s, %v", guard, ok, tt.guard, tt.ok)
			}
		})
	}
	if _, _, err := detect.GuardOf(`{"detail":{"a":[{"exists":false}]`); err == nil {
		t.Error("guardOf of a broken pattern: no error")
	}
}

// TestGuardedMatchIsPlain: matching costly patterns in two steps finds
// exactly what one matcher of all the patterns finds, on every fixture
// and, when the machine has it, every record of the recorded corpus.
func TestGuardedMatchIsPlain(t *testing.T) {
	c := builtin(t)
	plain := detect.Unguarded(c)
	check := func(name string, ev *event.Event) {
		t.Helper()
		got, want := matchedIDs(t, c, ev), matchedIDs(t, plain, ev)
		if !slices.Equal(got, want) {
			t.Errorf("%s: matched %v in two steps, %v by one matcher", name, got, want)
		}
	}
	for _, name := range fixture.All(t) {
		check(name, decodeFixture(t, name))
		// The same call from other services: a pattern split at its
		// top-level leaves (splitTop) must still need both.
		for _, source := range []string{"aws.ecs", "aws.iam", "aws.s3"} {
			check(name+" from "+source, withSource(t, fixture.Read(t, name), source))
		}
	}
	events, where := corpusEvents(t)
	if events == nil {
		t.Log("no recorded corpus beside the repository: fixtures only")
	}
	for i, ev := range events {
		check(where[i], ev)
	}
}

// withSource returns the event with its source replaced.
func withSource(t *testing.T, b []byte, source string) *event.Event {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["source"], _ = json.Marshal(source)
	return detect.EventOf(t, m)
}

// corpusEvents returns the records of the recorded corpus beside the
// repository (../shared), nil when the machine has none.
func corpusEvents(t testing.TB) (events []*event.Event, where []string) {
	t.Helper()
	corpus := filepath.Join("..", "..", "..", "shared", "corpus", "invictus-aws-dataset", "CloudTrail")
	if _, err := os.Stat(corpus); err != nil {
		return nil, nil
	}
	err := eventfile.ReadPaths([]string{corpus}, func(it eventfile.Item) error {
		if it.Err == nil {
			events = append(events, it.Event)
			where = append(where, it.Where)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 1000 {
		t.Fatalf("read %d corpus records, want the whole corpus", len(events))
	}
	return events, where
}

// FuzzGuardedMatch: on any record, two steps match what one does.
func FuzzGuardedMatch(f *testing.F) {
	for _, name := range fixture.All(f) {
		f.Add(fixture.Read(f, name))
	}
	c := builtin(f)
	plain := detect.Unguarded(c)
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := event.Decode(b)
		if err != nil {
			return
		}
		got, err1 := c.Match(ev)
		want, err2 := plain.Match(ev)
		if (err1 == nil) != (err2 == nil) || !slices.Equal(got, want) {
			t.Errorf("two steps %v (%v), one matcher %v (%v)", got, err1, want, err2)
		}
	})
}

// BenchmarkMatchCostly matches the recorded corpus (the fixtures when the
// machine has none: nearly all of them match a pattern, so guards save
// little there) with the costly patterns in two steps and with one
// matcher, side by side.
func BenchmarkMatchCostly(b *testing.B) {
	c := builtin(b)
	events, _ := corpusEvents(b)
	if events == nil {
		for _, name := range fixture.All(b) {
			events = append(events, decodeFixture(b, name))
		}
	}
	for _, m := range []struct {
		name string
		c    *detect.Catalog
	}{{"guards+jsonflat", c}, {"one-matcher", detect.Unguarded(c)}} {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				for _, ev := range events {
					if _, err := m.c.Match(ev); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
		})
	}
}

// BenchmarkCompile compiles the built-in catalog's patterns as a cold
// function does at its first event: in two steps, and in one matcher.
func BenchmarkCompile(b *testing.B) {
	c := builtin(b)
	for _, m := range []struct {
		name string
		fast bool
	}{{"two-steps", true}, {"one-matcher", false}} {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := detect.CompileAgain(c, m.fast); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSplitTop(t *testing.T) {
	names := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf("Call%d", i)
		}
		return s
	}
	sources := func(n int) []any {
		s := make([]any, n)
		for i := range s {
			s[i] = fmt.Sprintf("aws.s%d", i)
		}
		return s
	}
	apiCall := []string{event.DetailTypeAPICall}
	tests := []struct {
		name      string
		p         detect.Pattern
		rest, top string
		ok        bool
	}{
		{"many names of many services: sources second",
			detect.Pattern{Source: sources(8), DetailType: apiCall, Detail: map[string]any{"eventName": names(6)}},
			`{"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":["Call0","Call1","Call2","Call3","Call4","Call5"]}}`,
			`{"source":["aws.s0","aws.s1","aws.s2","aws.s3","aws.s4","aws.s5","aws.s6","aws.s7"]}`, true},
		{"few branches: one step",
			detect.Pattern{Source: sources(5), DetailType: apiCall, Detail: map[string]any{"eventName": names(9)}}, "", "", false},
		{"one service: one step",
			detect.Pattern{Source: sources(1), DetailType: apiCall, Detail: map[string]any{"eventName": names(200)}}, "", "", false},
		{"nothing in detail to make the first step selective",
			detect.Pattern{Source: sources(50), DetailType: []string{"A", "B"}}, "", "", false},
		{"one value in detail: one step",
			detect.Pattern{Source: sources(60), Detail: map[string]any{"eventName": names(1)}}, "", "", false},
		{"detail-types and resources, alternatives counted by the largest",
			detect.Pattern{DetailType: []string{"A", "B"}, Resources: []any{"arn:1", "arn:2", "arn:3"}, Detail: map[string]any{
				"$or": []any{map[string]any{"a": []string{"x"}}, map[string]any{"b": names(8)}}}},
			`{"detail":{"$or":[{"a":["x"]},{"b":["Call0","Call1","Call2","Call3","Call4","Call5","Call6","Call7"]}]}}`,
			`{"detail-type":["A","B"],"resources":["arn:1","arn:2","arn:3"]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest, top, ok := detect.SplitTop(tt.p)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			r, err := rest.JSON()
			if err != nil {
				t.Fatal(err)
			}
			tp, err := top.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if r != tt.rest || tp != tt.top {
				t.Errorf("split into\n%s\n%s\nwant\n%s\n%s", r, tp, tt.rest, tt.top)
			}
		})
	}
}
