package enrich_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/detect"
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
		if out[i].ID == "i-0a1b2c3d4e5f60718" {
			out[i].Name = "web-1"
		}
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
			wantIDs: []string{"i-0a1b2c3d4e5f60718"}, wantCalls: "", wantUnchecked: "who launched it: not checked (no AWS credentials)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := instanceAlert(t, tt.fixture, &enrich.Enricher{Lookups: enrich.Lookups{Instances: tt.insp}, Offline: tt.offline})
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

// TestUncheckedListsOnlyWhatWasNotLookedUp: a GuardDuty finding describes
// its instance, so an offline alert must not claim the details shown were
// not checked; an alarm names only instance IDs, so there they were not.
func TestUncheckedListsOnlyWhatWasNotLookedUp(t *testing.T) {
	for _, tt := range []struct {
		name, fixture string
		e             *enrich.Enricher
		want          []string
	}{
		{"GuardDuty offline", "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json", &enrich.Enricher{Offline: "offline replay"}, []string{
			"account alias: not checked (offline replay)",
			"current state and security group rules open to the internet, from EC2: not checked (offline replay)",
			"who launched it: not checked (offline replay)",
		}},
		{"GuardDuty without EC2 clients", "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json", &enrich.Enricher{Lookups: enrich.Lookups{Aliases: &aliases{alias: "acme"}}}, []string{
			"current state and security group rules open to the internet, from EC2: not looked up (no EC2 and CloudWatch clients here; trailwatch replay has them only when built with -tags ec2lookup)",
			"who launched it: not looked up (no EC2 and CloudWatch clients here; trailwatch replay has them only when built with -tags ec2lookup)",
		}},
		{"GuardDuty, EC2 fails", "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json",
			&enrich.Enricher{Lookups: enrich.Lookups{Aliases: &aliases{alias: "acme"}, Instances: &inspector{descErr: errors.New("describe instances: timed out after 3 seconds")}}}, []string{
				"current state and security group rules open to the internet, from EC2: describe instances: timed out after 3 seconds",
			}},
		{"CPU alarm offline", "cloudwatch/ec2-cpu-spike-single-metric-alarm.json", &enrich.Enricher{Offline: "offline replay"}, []string{
			"account alias: not checked (offline replay)",
			"instance details from EC2: not checked (offline replay)",
			"who launched it: not checked (offline replay)",
		}},
		{"metric math alarm offline", "cloudwatch/ec2-cpu-spike-metric-math-alarm.json", &enrich.Enricher{Offline: "offline replay"}, []string{
			"account alias: not checked (offline replay)",
			"instance details from EC2: not checked (offline replay)",
			"who launched them: not checked (offline replay)",
		}},
		{"fleet alarm offline", "cloudwatch/ec2-cpu-spike-insights-query-alarm.json", &enrich.Enricher{Offline: "offline replay"}, []string{
			"account alias: not checked (offline replay)",
			"which instances are hot: not checked (offline replay)",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := instanceAlert(t, tt.fixture, tt.e)
			if !slices.Equal(a.Unchecked, tt.want) {
				t.Errorf("unchecked =\n%q\nwant\n%q", a.Unchecked, tt.want)
			}
		})
	}
}

// TestCulpritFirst: once looked up, the title names the instance and what
// it did; the alarm's name and states are in a.Alarm only.
func TestCulpritFirst(t *testing.T) {
	cpu1, cpu2 := 99.72, 97.25
	named := &inspector{}
	for _, tt := range []struct {
		name, fixture string
		e             *enrich.Enricher
		want          string
	}{
		{"single instance alarm", "cloudwatch/ec2-cpu-spike-single-metric-alarm.json", &enrich.Enricher{Lookups: enrich.Lookups{Instances: named}},
			"Instance i-0a1b2c3d4e5f60718 (web-1) at 99.1% CPU for 15 minutes (threshold 80%)"},
		{"single instance alarm offline", "cloudwatch/ec2-cpu-spike-single-metric-alarm.json", &enrich.Enricher{Offline: "x"},
			"Instance i-0a1b2c3d4e5f60718 at 99.1% CPU for 15 minutes (threshold 80%)"},
		{"fleet alarm, hot instances found", "cloudwatch/ec2-cpu-spike-insights-query-alarm.json",
			&enrich.Enricher{Lookups: enrich.Lookups{Instances: &inspector{hot: []alert.Instance{{ID: "i-0a1b2c3d4e5f60718", CPU: &cpu1}, {ID: "i-07a8b9c0d1e2f3a4b", CPU: &cpu2}}}}},
			"Instance i-0a1b2c3d4e5f60718 (web-1) at 99.7% CPU for 15 minutes (threshold 80%), the hottest of 2"},
		{"fleet alarm offline keeps the alarm's headline", "cloudwatch/ec2-cpu-spike-insights-query-alarm.json", &enrich.Enricher{Offline: "x"},
			"CPU alarm Trailwatch-Cpu-Fleet: CPU at 99.8% for 15 minutes (threshold 80%)"},
		{"metric math over two instances", "cloudwatch/ec2-cpu-spike-metric-math-alarm.json", &enrich.Enricher{Offline: "x"},
			"Instances i-0f1e2d3c4b5a69788, i-07a8b9c0d1e2f3a4b: CPU at 96% for 15 minutes (threshold 80%)"},
		{"resolved", "cloudwatch/ec2-cpu-spike-single-metric-ok.json", &enrich.Enricher{Offline: "x"},
			"Instance i-0a1b2c3d4e5f60718 back below the CPU threshold of 80%"},
		{"GuardDuty DNS", "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json", &enrich.Enricher{Offline: "x"},
			"Instance i-0a1b2c3d4e5f60718 (web-1) queried bitcoin domain pool.minexmr.example (GuardDuty CryptoCurrency:EC2/BitcoinTool.B!DNS)"},
		{"GuardDuty connection", "guardduty/guardduty-crypto-mining-bitcoin-tool-connection.json", &enrich.Enricher{Offline: "x"},
			"Instance i-0f1e2d3c4b5a69788 (batch-7) connected to 198.51.100.94 port 3333 (GuardDuty CryptoCurrency:EC2/BitcoinTool.B)"},
		{"GuardDuty runtime", "guardduty/guardduty-crypto-mining-runtime-miner-executed.json", &enrich.Enricher{Offline: "x"},
			"Instance i-0a1b2c3d4e5f60718 (web-1) ran /tmp/.cache/xmrig (GuardDuty Impact:Runtime/CryptoMinerExecuted)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := instanceAlert(t, tt.fixture, tt.e)
			if a.Title != tt.want {
				t.Errorf("title = %q, want %q", a.Title, tt.want)
			}
			if a.Alarm != nil && strings.Contains(a.Title, "OK") && !a.Resolved {
				t.Errorf("title %q repeats the alarm state", a.Title)
			}
			if a.Primary.Headline == a.Title && len(a.Instances) > 0 {
				t.Errorf("the finding's headline %q was not rewritten culprit first", a.Primary.Headline)
			}
		})
	}
}

// TestAlarmNamedOnce: an alarm alert carries the alarm's name in
// a.Alarm.Name only, and its state change in a.Alarm only.
func TestAlarmNamedOnce(t *testing.T) {
	for _, fixture := range []string{"cloudwatch/ec2-cpu-spike-single-metric-alarm.json", "cloudwatch/ec2-cpu-spike-insights-query-alarm.json"} {
		t.Run(fixture, func(t *testing.T) {
			cpu := 99.7
			a := instanceAlert(t, fixture, &enrich.Enricher{Lookups: enrich.Lookups{Instances: &inspector{hot: []alert.Instance{{ID: "i-0a1b2c3d4e5f60718", CPU: &cpu}}}}})
			name := a.Alarm.Name
			carried := strings.Join([]string{a.Title, a.Who.Name, a.Who.Detail, a.What.Action, a.What.Outcome, a.What.Resource.Name, fmt.Sprint(a.What.Changes), fmt.Sprint(a.What.Evidence)}, "\n")
			if strings.Contains(carried, name) {
				t.Errorf("the alarm name %q is repeated outside a.Alarm:\n%s", name, carried)
			}
			if strings.Contains(carried, "OK -> ALARM") || strings.Contains(carried, "ALARM") {
				t.Errorf("the alarm state is repeated outside a.Alarm:\n%s", carried)
			}
			if a.Alarm.PreviousState != "OK" || a.Alarm.State != "ALARM" || a.Alarm.Period != 5*time.Minute {
				t.Errorf("alarm = %+v", a.Alarm)
			}
			if len(a.Alarm.Datapoints) != 3 || a.Alarm.Datapoints[0].Time.IsZero() || !a.Alarm.Datapoints[0].Time.Before(a.Alarm.Datapoints[2].Time) {
				t.Errorf("datapoints = %+v, want three with times, oldest first", a.Alarm.Datapoints)
			}
		})
	}
}

// TestGuardDutyFacts: the finding's activity, times and network.
func TestGuardDutyFacts(t *testing.T) {
	a := instanceAlert(t, "guardduty/guardduty-crypto-mining-bitcoin-tool-connection.json", &enrich.Enricher{Offline: "x"})
	g := a.GuardDuty
	want := &alert.GuardDuty{
		FindingID: "c7d0a2f3b4e5d6c7b8a91f2e3d4c5b6a", Type: "CryptoCurrency:EC2/BitcoinTool.B", Score: 8, Level: "High",
		FirstSeen: time.Date(2026, 11, 21, 13, 2, 11, 0, time.UTC), LastSeen: time.Date(2026, 11, 21, 14, 31, 57, 0, time.UTC), Count: 212,
		Activity: "NETWORK_CONNECTION", Direction: "outbound", Protocol: "TCP",
		Remote: &alert.Remote{IP: "198.51.100.94", Port: 3333, PortName: "Unknown", ASN: "64501", Org: "Example Hosting BV", Country: "Netherlands", City: "Amsterdam"},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("GuardDuty =\n%+v %+v\nwant\n%+v %+v", g, g.Remote, want, want.Remote)
	}
	in := a.Instances[0]
	if in.PrivateIP != "10.20.7.19" || in.VPC != "vpc-0a1b2c3d4e5f6a7b8" || in.Subnet != "subnet-0e1f2a3b4c5d6e7f8" ||
		!slices.Equal(in.SecurityGroups, []alert.SecurityGroup{{ID: "sg-0a9b8c7d6e5f4a3b2", Name: "batch-workers"}, {ID: "sg-0d4e5f6a7b8c9d0e1", Name: "egress-any"}}) {
		t.Errorf("instance network = %+v", in)
	}
	dns := instanceAlert(t, "guardduty/guardduty-crypto-mining-bitcoin-tool-dns.json", &enrich.Enricher{Offline: "x"}).GuardDuty
	if dns.Domain != "pool.minexmr.example" || dns.Protocol != "UDP" || dns.Blocked || dns.Remote != nil || dns.Count != 14 {
		t.Errorf("DNS finding = %+v", dns)
	}
	for _, e := range a.What.Evidence {
		if strings.Contains(e.Text, "198.51.100.94 port") || e.Label == "Seen" {
			t.Errorf("evidence %q repeats what a.GuardDuty holds", e.Label)
		}
	}
}

// TestHotWindow: the ranking covers the alarm's evaluation window, ending
// when the alarm changed state.
func TestHotWindow(t *testing.T) {
	insp := &inspector{}
	a := instanceAlert(t, "cloudwatch/ec2-cpu-spike-insights-query-alarm.json", &enrich.Enricher{Lookups: enrich.Lookups{Instances: insp}})
	if want := a.When.EventTime.Add(-15 * time.Minute); !insp.hotStart.Equal(want) {
		t.Errorf("window starts %v, want %v (3 datapoints of 5 minutes before %v)", insp.hotStart, want, a.When.EventTime)
	}
}

// TestRaisedSeverityIsExplained: the decision's note on a raised severity
// reaches the alert.
func TestRaisedSeverityIsExplained(t *testing.T) {
	a := instanceAlert(t, "guardduty/guardduty-crypto-mining-bitcoin-domain-reputation.json", &enrich.Enricher{Offline: "x"})
	if a.Severity != detect.SeverityHigh || a.SeverityNote != "raised from medium: crypto-mining findings are at least high (trailwatch:miningMinSeverity)" {
		t.Errorf("severity %s, note %q", a.Severity, a.SeverityNote)
	}
	if a.GuardDuty.Score != 5 || a.GuardDuty.Level != "Medium" {
		t.Errorf("GuardDuty's own score = %v %s, want 5 Medium", a.GuardDuty.Score, a.GuardDuty.Level)
	}
}
