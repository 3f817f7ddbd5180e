// Package scantest builds CloudTrail log files from the recorded events,
// for the tests of the local and the distributed scan.
package scantest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/fixture"
)

// LogFile returns a gzip CloudTrail log file ({"Records": [...]}) of the
// CloudTrail records of the fixtures names, the i-th with eventID
// "<at>-i" and eventTime at plus i seconds.
func LogFile(t testing.TB, at time.Time, names ...string) []byte {
	t.Helper()
	var records []json.RawMessage
	for i, n := range names {
		var env struct {
			Detail map[string]any `json:"detail"`
		}
		if err := json.Unmarshal(fixture.Read(t, n), &env); err != nil {
			t.Fatal(err)
		}
		env.Detail["eventID"] = fmt.Sprintf("%s-%d", at.Format("20060102T1504"), i)
		env.Detail["eventTime"] = at.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		b, err := json.Marshal(env.Detail)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, b)
	}
	body, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
