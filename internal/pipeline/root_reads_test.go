package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/state"
)

// TestRootReadStormIsOneAlertAndADigest: root-account-used receives
// read-only events (CIS 4.3: any use of root), and a root console session
// makes them by the hundred. Within a storm window they are one alert and
// one digest of the rest, whatever the calls, not one alert per read.
func TestRootReadStormIsOneAlertAndADigest(t *testing.T) {
	rec := &recorder{name: "slack"}
	p := newPipeline(t, rec)
	if d, ok := p.Catalog.Get("root-account-used"); !ok || !d.NeedsReadOnly {
		t.Fatal("root-account-used must receive read-only events (NeedsReadOnly)")
	}
	store := state.NewMemory()
	p.Storms, p.Ledger = store, store
	p.Now = func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	base := time.Date(2026, 11, 21, 8, 1, 0, 0, time.UTC)
	const reads = 240
	names := []string{"DescribeInstances", "DescribeVpcs", "DescribeSecurityGroups", "DescribeVolumes"}
	for i := range reads {
		ev := at(t, "ec2/root-account-used-read-describe-instances-console.json", fmt.Sprintf("root-read-%d", i),
			base.Add(time.Duration(i)*time.Second))
		ev.CloudTrail.EventName = names[i%len(names)]
		res, err := p.Process(context.Background(), ev, "root-account-used")
		if err != nil {
			t.Fatal(err)
		}
		if res.Repeat != (i > 0) {
			t.Fatalf("read %d: Repeat = %v, want %v", i, res.Repeat, i > 0)
		}
	}
	if len(rec.sent) != 1 {
		t.Fatalf("%d alerts for %d root reads, want 1", len(rec.sent), reads)
	}
	a := rec.sent[0]
	if a.Primary.Detection.ID != "root-account-used" || a.Primary.Severity.String() != "medium" {
		t.Errorf("alert %s %s, want root-account-used medium", a.Primary.Detection.ID, a.Primary.Severity)
	}
	if len(a.Notes) != 1 || !strings.Contains(a.Notes[0], "summarized in one digest") {
		t.Errorf("notes %q, want the digest announced", a.Notes)
	}
	due, err := store.Due(context.Background())
	if err != nil || len(due) != 1 || due[0].Repeats != reads-1 {
		t.Fatalf("due = %+v, %v; want one digest of %d repeats", due, err, reads-1)
	}
	d, _ := p.Catalog.Get(due[0].Window.Detection)
	if _, err := p.SendDigest(context.Background(), alert.Digest{Detection: d, Repeats: due[0].Repeats}, due[0].Window.Key()); err != nil {
		t.Fatal(err)
	}
	if len(rec.digests) != 1 || rec.digests[0].Repeats != reads-1 {
		t.Errorf("digests %+v, want one of %d repeats", rec.digests, reads-1)
	}
}
