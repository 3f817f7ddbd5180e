package detect_test

import (
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
	}
	events, where := corpusEvents(t)
	if events == nil {
		t.Log("no recorded corpus beside the repository: fixtures only")
	}
	for i, ev := range events {
		check(where[i], ev)
	}
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
