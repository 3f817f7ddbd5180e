package eventfile_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/eventfile"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// inputs returns an envelope fixture, its raw record and their IDs.
func inputs(t *testing.T) (envelope, record []byte, envID, recID string) {
	t.Helper()
	envelope = fixture.Read(t, "s3/put-bucket-policy-public-read.json")
	var env struct {
		ID     string          `json:"id"`
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		EventID string `json:"eventID"`
	}
	if err := json.Unmarshal(env.Detail, &rec); err != nil {
		t.Fatal(err)
	}
	return envelope, env.Detail, env.ID, rec.EventID
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type got struct {
	ids    []string
	errs   []string
	wheres []string
}

func read(t *testing.T, name string, data []byte) got {
	t.Helper()
	var g got
	err := eventfile.Read(name, bytes.NewReader(data), func(it eventfile.Item) error {
		g.wheres = append(g.wheres, it.Where)
		if it.Err != nil {
			g.errs = append(g.errs, it.Err.Error())
			return nil
		}
		g.ids = append(g.ids, it.Event.ID())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFormats(t *testing.T) {
	envelope, record, envID, recID := inputs(t)
	env, rec := compact(t, envelope), compact(t, record)
	logFile := `{"Records":[` + rec + `,` + rec + `]}`
	for _, tc := range []struct {
		name string
		file string
		data []byte
		ids  []string
	}{
		{"EventBridge event", "e.json", envelope, []string{envID}},
		{"raw CloudTrail record", "r.json", record, []string{recID}},
		{"log file", "trail.json", []byte(logFile), []string{recID, recID}},
		{"gzipped log file", "111122223333_CloudTrail_eu-west-1_20261120T0915Z_abc.json.gz", gz(t, []byte(logFile)), []string{recID, recID}},
		{"gzip detected by content, not name", "events", gz(t, []byte(logFile)), []string{recID, recID}},
		{"array of events and records", "a.json", []byte(`[` + env + `,` + rec + `]`), []string{envID, recID}},
		{"array holding a log file", "a.json", []byte(`[` + logFile + `]`), []string{recID, recID}},
		{"JSON lines", "l.jsonl", []byte(env + "\n\n" + rec + "\n"), []string{envID, recID}},
		{"concatenated objects in a .json file", "c.json", []byte(env + "\n" + rec), []string{envID, recID}},
		{"byte order mark", "bom.json", append([]byte("\xef\xbb\xbf"), envelope...), []string{envID}},
		{"log file with Records not first", "odd.json", []byte(`{"Other":1,"Records":[` + rec + `]}`), []string{recID}},
		{"rule input, as kept by the dead-letter queue", "dlq.json", []byte(`{"detection":"s3-bucket-policy-public","event":` + env + `}`), []string{envID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := read(t, tc.file, tc.data)
			if len(g.errs) > 0 {
				t.Fatalf("errors: %v", g.errs)
			}
			if !slices.Equal(g.ids, tc.ids) {
				t.Errorf("ids = %v, want %v", g.ids, tc.ids)
			}
		})
	}
}

// TestBadItemsDoNotStopTheFile checks that a bad item is reported with its
// position and the items after it still arrive.
func TestBadItemsDoNotStopTheFile(t *testing.T) {
	envelope, record, envID, recID := inputs(t)
	env, rec := compact(t, envelope), compact(t, record)
	huge := `{"eventName":"X","eventSource":"s3.amazonaws.com","eventTime":"2026-01-01T00:00:00Z","pad":"` + strings.Repeat("a", event.MaxSize) + `"}`
	for _, tc := range []struct {
		name     string
		file     string
		data     string
		ids      []string
		errs     []string
		position string
	}{
		{"bad line in JSON lines", "l.jsonl", env + "\n{not json\n" + rec + "\n", []string{envID, recID}, []string{"line 2"}, "l.jsonl#2"},
		{"unknown object in an array", "a.json", `[{"hello":"world"},` + env + `]`, []string{envID}, []string{"neither an EventBridge event"}, "a.json#1"},
		{"record with a wrong type", "a.json", `[{"eventName":7},` + rec + `]`, []string{recID}, []string{`field "eventName"`}, "a.json#1"},
		{"oversized record", "a.json", `[` + huge + `,` + rec + `]`, []string{recID}, []string{"too large"}, "a.json#1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := read(t, tc.file, []byte(tc.data))
			if !slices.Equal(g.ids, tc.ids) {
				t.Errorf("ids = %v, want %v", g.ids, tc.ids)
			}
			if len(g.errs) != len(tc.errs) {
				t.Fatalf("errors = %v, want %d", g.errs, len(tc.errs))
			}
			for i, want := range tc.errs {
				if !strings.Contains(g.errs[i], want) {
					t.Errorf("error %q does not mention %q", g.errs[i], want)
				}
			}
			if !slices.Contains(g.wheres, tc.position) {
				t.Errorf("positions %v lack %q", g.wheres, tc.position)
			}
		})
	}
}

func TestUnreadableFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file, data, want string
	}{
		{"not JSON", "notes.json", "hello", "invalid JSON at offset"},
		{"truncated", "cut.json", `{"Records":[{"eventName":`, "ends in the middle"},
		{"empty", "empty.json", "", "no events in file"},
		{"scalar", "n.json", "42", "not an object or array"},
		{"broken gzip", "x.json.gz", "\x1f\x8b\x08\x00garbage", "gzip"},
		{"Records not a list", "r.json", `{"Records":{}}`, "field Records is not an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := read(t, tc.file, []byte(tc.data))
			if len(g.errs) != 1 || !strings.Contains(g.errs[0], tc.want) {
				t.Fatalf("errors = %v, want one mentioning %q", g.errs, tc.want)
			}
			if g.wheres[0] != tc.file {
				t.Errorf("error names %q, want the file %q", g.wheres[0], tc.file)
			}
		})
	}
}

func TestReadPaths(t *testing.T) {
	envelope, record, envID, recID := inputs(t)
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b/record.json", record)
	write("a/event.json", envelope)
	write("a/README.md", []byte("not an event file, skipped"))
	write(".hidden/skip.json", []byte("not read"))
	write("c/broken.json", []byte("{"))

	var ids, errs []string
	err := eventfile.ReadPaths([]string{dir, filepath.Join(dir, "missing.json")}, func(it eventfile.Item) error {
		if it.Err != nil {
			errs = append(errs, filepath.Base(it.Where)+": "+it.Err.Error())
			return nil
		}
		ids = append(ids, it.Event.ID())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{envID, recID}) {
		t.Errorf("ids = %v, want the event then the record (sorted paths)", ids)
	}
	if len(errs) != 2 || !strings.HasPrefix(errs[0], "broken.json: ") || !strings.Contains(errs[1], "no such file") {
		t.Errorf("errors = %q; want broken.json and the missing path, each with its reason", errs)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventName":"A","eventSource":"s3.amazonaws.com","eventTime":"2026-01-01T00:00:00Z"}]}`), false)
	f.Add([]byte(`[{"detail-type":"x","source":"y"}]`), true)
	f.Add([]byte("{\"a\":1}\n[1,2]\n"), true)
	f.Add([]byte(`{"Records":[{"detail-type":"x","source":"y","eventName":"A"},{"Records":[]},{"eventName":1},7]}`), false)
	f.Fuzz(func(t *testing.T, data []byte, lines bool) {
		name := "fuzz.json"
		if lines {
			name = "fuzz.jsonl"
		}
		var read, lazy []string
		_ = eventfile.Read(name, bytes.NewReader(data), func(it eventfile.Item) error {
			if it.Err == nil && it.Event == nil {
				t.Fatal("item with neither event nor error")
			}
			read = append(read, itemText(it))
			return nil
		})
		_ = eventfile.ReadLazy(name, bytes.NewReader(data), func(it eventfile.Item) error {
			it.Decode()
			lazy = append(lazy, itemText(it))
			return nil
		})
		if !slices.Equal(read, lazy) {
			t.Fatalf("Read %q\nReadLazy then Decode %q", read, lazy)
		}
	})
}

// itemText is what an item says: where, then its event's ID or its error.
func itemText(it eventfile.Item) string {
	if it.Err != nil {
		return it.Where + " error " + it.Err.Error()
	}
	return it.Where + " event " + it.Event.ID() + " " + it.Event.Envelope.DetailType
}

func BenchmarkReadLogFile(b *testing.B) {
	raw := fixture.Read(b, "s3/put-bucket-policy-public-read.json")
	var env struct {
		Detail json.RawMessage `json:"detail"`
	}
	_ = json.Unmarshal(raw, &env)
	var buf bytes.Buffer
	buf.WriteString(`{"Records":[`)
	for i := range 100 {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(env.Detail)
	}
	buf.WriteString(`]}`)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		_ = eventfile.Read("bench.json", bytes.NewReader(data), func(eventfile.Item) error { n++; return nil })
		if n != 100 {
			b.Fatalf("read %d records", n)
		}
	}
}

// TestSplitRecordsCorruption covers what the Records splitter meets: the
// file-level failures end the file once, a record over 256 KB is refused
// by position and the records after it still decode.
func TestSplitRecordsCorruption(t *testing.T) {
	_, record, _, recID := inputs(t)
	rec := compact(t, record)
	huge := `{"eventName":"x","pad":"` + strings.Repeat("a", 10<<20) + `"}`
	full := gz(t, []byte(`{"Records":[`+rec+`,`+rec+`]}`))
	for _, tc := range []struct {
		name, file string
		data       []byte
		ids        []string
		errs       []string
	}{
		{"truncated gzip", "t.json.gz", full[:len(full)/2], nil, []string{"gzip"}},
		{"truncated JSON", "t.json", []byte(`{"Records":[` + rec + `,{"eventName":"a`), []string{recID}, []string{"ends in the middle"}},
		{"mismatched bracket", "t.json", []byte(`{"Records":[{"eventName":"a"]]}`), nil, []string{"invalid json at offset"}},
		{"Records not an array", "t.json", []byte(`{"Records": {"eventName":"a"}}`), nil, []string{"field records is not an array"}},
		{"escaped quotes and braces", "t.json", []byte(`{"Records":[{"eventName":"a\"}]","eventSource":"s","eventTime":"2026-01-01T00:00:00Z"},` + rec + `]}`), nil, nil},
		{"huge record", "t.json", []byte(`{"Records":[` + rec + `,` + huge + `,` + rec + `]}`), []string{recID, recID}, []string{"too large"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := read(t, tc.file, tc.data)
			if tc.ids != nil && !slices.Equal(g.ids, tc.ids) {
				t.Errorf("ids = %v, want %v", g.ids, tc.ids)
			}
			if tc.errs == nil {
				if len(g.errs) != 0 || len(g.ids) != 2 {
					t.Errorf("ids %v errs %v, want two events", g.ids, g.errs)
				}
				return
			}
			if len(g.errs) != len(tc.errs) {
				t.Fatalf("errors = %q, want %q", g.errs, tc.errs)
			}
			for i, e := range tc.errs {
				if !strings.Contains(strings.ToLower(g.errs[i]), e) {
					t.Errorf("error %q lacks %q", g.errs[i], e)
				}
			}
		})
	}
}
