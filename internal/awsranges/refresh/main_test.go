package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/awsranges"
)

const published = `{"syncToken": "1757117862", "createDate": "2026-09-06-00-17-42",
 "prefixes": [{"ip_prefix": "52.95.110.0/24", "region": "us-east-1", "service": "AMAZON"}],
 "ipv6_prefixes": [{"ipv6_prefix": "2600:1f18::/32", "region": "us-east-1", "service": "EC2"}]}`

func readBack(t *testing.T, path string) (*awsranges.Set, awsranges.Info) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, info, err := awsranges.Parse(f)
	if err != nil {
		t.Fatalf("parse what refresh wrote: %v", err)
	}
	return set, info
}

func TestRefreshFetches(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ip-ranges.json" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, published)
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "ranges.txt")
	if err := run(context.Background(), []string{"-url", srv.URL + "/ip-ranges.json", "-out", out}, srv.Client(), io.Discard); err != nil {
		t.Fatal(err)
	}
	set, info := readBack(t, out)
	if info.SyncToken != "1757117862" || info.CreateDate != "2026-09-06-00-17-42" {
		t.Errorf("info = %+v", info)
	}
	if in, _ := set.Lookup("52.95.110.9"); !in {
		t.Error("52.95.110.9 not in the refreshed set")
	}
	if in, _ := set.Lookup("2600:1f18::9"); !in {
		t.Error("2600:1f18::9 not in the refreshed set")
	}

	// A failed download leaves the file as it was.
	before, _ := os.ReadFile(out)
	err := run(context.Background(), []string{"-url", srv.URL + "/missing", "-out", out}, srv.Client(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("run with a missing file: err = %v, want a 404", err)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Error("a failed refresh changed the file")
	}
}

func TestRefreshFromFiles(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "ip-ranges.json")
	cdn := filepath.Join(dir, "sources_data.json")
	os.WriteFile(in, []byte(published), 0o644)
	os.WriteFile(cdn, []byte(`{"cdn": {}, "cloud": {"aws": ["52.95.110.0/25", "52.95.110.128/25", "2600:1f18::/32"], "google": ["34.80.0.0/15"]}}`), 0o644)
	out := filepath.Join(dir, "ranges.txt")

	if err := run(context.Background(), []string{"-in", in, "-out", out}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, info := readBack(t, out); info.SyncToken != "1757117862" || info.Source != in {
		t.Errorf("-in: info = %+v", info)
	}

	if err := run(context.Background(), []string{"-cdncheck", cdn, "-date", "2026-09-06-00-17-42", "-source", "cdncheck v1.3.0", "-out", out}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	set, info := readBack(t, out)
	if info.Source != "cdncheck v1.3.0" || info.CreateDate != "2026-09-06-00-17-42" {
		t.Errorf("-cdncheck: info = %+v", info)
	}
	if v4, v6 := set.Len(); v4 != 1 || v6 != 1 {
		t.Errorf("-cdncheck: %d IPv4 and %d IPv6 prefixes, want the halves merged into 1 and 1", v4, v6)
	}
	if in, _ := set.Lookup("34.80.0.1"); in {
		t.Error("-cdncheck took another cloud's prefixes")
	}

	os.WriteFile(cdn, []byte(`{"cloud": {"google": ["34.80.0.0/15"]}}`), 0o644)
	if err := run(context.Background(), []string{"-cdncheck", cdn, "-out", out}, nil, io.Discard); err == nil {
		t.Error("-cdncheck without aws prefixes succeeded")
	}
}
