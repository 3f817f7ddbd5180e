package enrich_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/enrich"
)

// inspector answers instance look-ups from fixed values and counts calls.
type inspector struct {
	hot      []alert.Instance
	hotErr   error
	descErr  error
	launch   *cloudtrail.Record
	mu       sync.Mutex
	calls    []string
	hotStart time.Time
}

func (f *inspector) called(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
}

// sortedCalls lists the look-ups made; Describe and LaunchEvent run
// concurrently, so their order is not part of the contract.
func (f *inspector) sortedCalls() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := slices.Clone(f.calls)
	slices.Sort(c)
	return strings.Join(c, " ")
}

func (f *inspector) HotInstances(_ context.Context, _ string, start, _ time.Time, _ time.Duration) ([]alert.Instance, error) {
	f.called("hot")
	f.hotStart = start
	return f.hot, f.hotErr
}

func (f *inspector) Describe(_ context.Context, _ string, in []alert.Instance) ([]alert.Instance, error) {
	f.called("describe")
	out := append([]alert.Instance(nil), in...)
	for i := range out {
		out[i].Type = "c5.4xlarge"
	}
	return out, f.descErr
}

func (f *inspector) LaunchEvent(context.Context, string, string) (*cloudtrail.Record, error) {
	f.called("launch")
	return f.launch, nil
}

func instanceAlert(t *testing.T, name string, e *enrich.Enricher) alert.Alert {
	t.Helper()
	ev, fs := findings(t, name)
	a, err := e.Alert(context.Background(), ev, fs)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestInstanceAlerts(t *testing.T) {
	cpu := 99.7
	launch := &cloudtrail.Record{EventName: "RunInstances", SourceIPAddress: "198.51.100.7", EventTime: time.Date(2026, 11, 19, 21, 2, 10, 0, time.UTC),
		UserIdentity: cloudtrail.UserIdentity{Type: "IAMUser", UserName: "deploy-bot"}}
	tests := []struct {
		name, fixture string
		insp          *inspector
		offline       string
		wantIDs       []string
		wantCalls     string
		wantUnchecked string
		wantLaunched  string
	}{
		{name: "fleet alarm asks CloudWatch which instances are hot", fixture: "cloudwatch/ec2-cpu-spike-insights-query-alarm.json",
			insp:    &inspector{hot: []alert.Instance{{ID: "i-0a1b2c3d4e5f60718", CPU: &cpu}}, launch: launch},
			wantIDs: []string{"i-0a1b2c3d4e5f60718"}, wantCalls: "describe hot launch", wantLaunched: "IAM user deploy-bot from 198.51.100.7 at 2026-11-19T21:02:10Z"},
		{name: "single instance alarm needs no ranking", fixture: "cloudwatch/ec2-cpu-spike-single-metric-alarm.json",
			insp:    &inspector{},
			wantIDs: []string{"i-0a1b2c3d4e5f60718"}, wantCalls: "describe launch", wantLaunched: "not in the last 90 days of CloudTrail event history"},
		{name: "metric math alarm lists its instances", fixture: "cloudwatch/ec2-cpu-spike-metric-math-alarm.json",
			insp:    &inspector{},
			wantIDs: []string{"i-0f1e2d3c4b5a69788", "i-07a8b9c0d1e2f3a4b"}, wantCalls: "describe launch launch"},
		{name: "CloudWatch fails: the alert says so", fixture: "cloudwatch/ec2-cpu-spike-insights-query-alarm.json",
			insp:    &inspector{hotErr: errors.New("get metric data: AccessDenied")},
			wantIDs: nil, wantCalls: "hot", wantUnchecked: "which instances are hot: get metric data: AccessDenied"},
		{name: "resolved alarm looks nothing up", fixture: "cloudwatch/ec2-cpu-spike-single-metric-ok.json",
			insp:    &inspector{},
			wantIDs: []string{"i-0a1b2c3d4e5f60718"}, wantCalls: ""},
		{name: "offline replay says what it did not check", fixture: "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json",
			insp: &inspector{}, offline: "no AWS credentials",
			wantIDs: []string{"i-0a1b2c3d4e5f60718"}, wantCalls: "", wantUnchecked: "instance details and who launched it: not checked (no AWS credentials)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := instanceAlert(t, tt.fixture, &enrich.Enricher{Instances: tt.insp, Offline: tt.offline})
			var ids []string
			for _, in := range a.Instances {
				ids = append(ids, in.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("instances = %v, want %v", ids, tt.wantIDs)
			}
			if got := tt.insp.sortedCalls(); got != tt.wantCalls {
				t.Errorf("look-ups = %q, want %q", got, tt.wantCalls)
			}
			if tt.wantUnchecked != "" && !strings.Contains(strings.Join(a.Unchecked, "; "), tt.wantUnchecked) {
				t.Errorf("unchecked = %q, want %q", a.Unchecked, tt.wantUnchecked)
			}
			if tt.wantLaunched != "" && (len(a.Instances) == 0 || a.Instances[0].LaunchedBy != tt.wantLaunched) {
				t.Errorf("launched by = %+v, want %q", a.Instances, tt.wantLaunched)
			}
			if a.Resolved != strings.Contains(tt.fixture, "-ok.json") {
				t.Errorf("Resolved = %t", a.Resolved)
			}
		})
	}
}

// TestHotWindow: the ranking covers the alarm's evaluation window, ending
// when the alarm changed state.
func TestHotWindow(t *testing.T) {
	insp := &inspector{}
	a := instanceAlert(t, "cloudwatch/ec2-cpu-spike-insights-query-alarm.json", &enrich.Enricher{Instances: insp})
	if want := a.When.EventTime.Add(-15 * time.Minute); !insp.hotStart.Equal(want) {
		t.Errorf("window starts %v, want %v (3 datapoints of 5 minutes before %v)", insp.hotStart, want, a.When.EventTime)
	}
}
