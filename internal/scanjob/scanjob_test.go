package scanjob_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/scan"
	"github.com/trailwatch/trailwatch/internal/scanjob"
)

const filters = `{"since": "", "until": "", "principal": "", "minSeverity": "", "detections": [], "accounts": [], "regions": []}`

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     any
		err      string
	}{
		{name: "batch", in: `{"Items": [{"Key": "AWSLogs/a.json.gz", "Size": 12, "Etag": "\"e\"", "LastModified": "x", "StorageClass": "STANDARD", "New": 1}], "BatchInput": {"execution": "e1", "filters": ` + filters + `}}`,
			want: &scanjob.Batch{Items: []scanjob.Item{{Key: "AWSLogs/a.json.gz", Size: 12}}, Execution: "e1", Filters: scan.Filters{Detections: []string{}, Accounts: []string{}, Regions: []string{}}}},
		{name: "summary", in: `{"summarize": true, "execution": "e1", "prefix": "AWSLogs/", "filters": {"since": "2026-09-01T00:00:00Z"}}`,
			want: &scanjob.Summarize{Execution: "e1", Prefix: "AWSLogs/", Filters: scan.Filters{Since: "2026-09-01T00:00:00Z"}}},
		{name: "unknown kind", in: `{"Records": []}`, err: "neither a batch"},
		{name: "both kinds", in: `{"Items": [], "summarize": true}`, err: "both"},
		{name: "lower-case items is not Items", in: `{"items": [], "BatchInput": {}}`, err: "neither a batch"},
		{name: "extra top-level field", in: `{"Items": [], "BatchInput": {"execution": "e", "filters": {}}, "x": 1}`, err: `unknown field "x"`},
		{name: "unknown filter", in: `{"Items": [], "BatchInput": {"execution": "e", "filters": {"sinse": ""}}}`, err: "BatchInput"},
		{name: "no BatchInput", in: `{"Items": []}`, err: "without BatchInput"},
		{name: "no filters", in: `{"Items": [], "BatchInput": {"execution": "e"}}`, err: "needs execution and filters"},
		{name: "summarize false", in: `{"summarize": false, "execution": "e", "prefix": "", "filters": {}}`, err: "summarize true"},
		{name: "summary without prefix", in: `{"summarize": true, "execution": "e", "filters": {}}`, err: "prefix"},
		{name: "items not a list", in: `{"Items": {}, "BatchInput": {"execution": "e", "filters": {}}}`, err: "Items"},
		{name: "not an object", in: `[1]`, err: "event"},
		{name: "null", in: `null`, err: "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanjob.Decode([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Decode() = %v, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode() = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"Items": [{"Key": "k", "Size": 1}], "BatchInput": {"execution": "e1", "filters": ` + filters + `}}`))
	f.Add([]byte(`{"summarize": true, "execution": "e1", "prefix": "AWSLogs/", "filters": ` + filters + `}`))
	f.Add([]byte(`{"Items": null, "BatchInput": null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := scanjob.Decode(data)
		if (ev == nil) == (err == nil) {
			t.Fatalf("Decode() = %v, %v: want an event or an error", ev, err)
		}
		switch ev := ev.(type) {
		case nil:
		case *scanjob.Batch:
			_ = scanjob.BatchID(ev.Items)
			_ = scanjob.CheckExecution(ev.Execution)
		case *scanjob.Summarize:
			_ = scanjob.CheckExecution(ev.Execution)
		default:
			t.Fatalf("Decode() = %T", ev)
		}
	})
}

func TestCheckExecution(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"trailwatch-scan-20261120T0900Z", true}, {"a", true}, {strings.Repeat("x", 80), true}, {"(x)+=@!'_.-", true},
		{"", false}, {strings.Repeat("x", 81), false}, {"a/b", false}, {".", false}, {"..", false}, {"a b", false},
		{"a*", false}, {"a\x00", false}, {"é", false}, {"a:b", false}, {"a#b", false},
	} {
		err := scanjob.CheckExecution(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckExecution(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !utf8.ValidString(err.Error()) {
			t.Errorf("error %q is not valid UTF-8", err)
		}
	}
}

func TestBatchIDIsDeterministic(t *testing.T) {
	a := scanjob.BatchID([]scanjob.Item{{Key: "x"}, {Key: "y"}})
	if b := scanjob.BatchID([]scanjob.Item{{Key: "y", Size: 5}, {Key: "x"}}); a != b {
		t.Errorf("the same keys in another order: %s, %s", a, b)
	}
	// Length prefixes: two keys never hash like one key holding both.
	if c := scanjob.BatchID([]scanjob.Item{{Key: "xy"}}); c == a {
		t.Errorf("[x y] and [xy] share the ID %s", a)
	}
	if len(a) != 32 {
		t.Errorf("ID %q: want 32 hex digits", a)
	}
}
