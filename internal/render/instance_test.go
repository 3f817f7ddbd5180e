package render

import (
	"reflect"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
)

func TestAlarmFacts(t *testing.T) {
	threshold := 80.0
	at := func(m int) time.Time { return time.Date(2026, 11, 20, 3, m, 0, 0, time.UTC) }
	for _, tt := range []struct {
		name string
		in   alert.Alarm
		want []fact
	}{
		{"datapoints with times, period in words", alert.Alarm{
			Name: "Trailwatch-Cpu-i-0a1b2c3d4e5f60718", State: "ALARM", PreviousState: "OK", Shape: "single metric",
			Metric: "AWS/EC2 CPUUtilization", Threshold: &threshold, Statistic: "Average", Period: 5 * time.Minute,
			Reason:     "Threshold Crossed: 2 out of the last 2 datapoints [99.1 (20/11/26 03:05:00), 97.9 (20/11/26 03:00:00)]",
			Datapoints: []alert.Datapoint{{Time: at(0), Value: 97.9}, {Time: at(5), Value: 99.1}},
		}, []fact{
			{"Threshold", "80%"},
			{"Datapoints", "97.9% at 2026-11-20T03:00:00Z, 99.1% at 2026-11-20T03:05:00Z (Average per 5 minutes)"},
			{"Metric", "AWS/EC2 CPUUtilization (single metric)"},
		}},
		{"no datapoints: CloudWatch's reason instead", alert.Alarm{
			Name: "web-cpu", State: "ALARM", Query: "SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", InstanceId)",
			Reason: "Threshold Crossed: no datapoints were received",
		}, []fact{
			{"Reason", "Threshold Crossed: no datapoints were received"},
			{"Query", "SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", InstanceId)"},
		}},
		{"a reason of someone's own beside the datapoints", alert.Alarm{
			Name: "a", State: "ALARM", Reason: "testing the pager, ignore", Datapoints: []alert.Datapoint{{Value: 1}},
		}, []fact{
			{"Datapoints", "1"},
			{"Reason", "testing the pager, ignore"},
		}},
		{"values without times", alert.Alarm{
			Name: "a", State: "ALARM", Period: time.Hour, Datapoints: []alert.Datapoint{{Value: 1}, {Value: 2.5}},
		}, []fact{
			{"Datapoints", "1, 2.5 (per 1 hour)"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := alarmFacts(&tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("alarmFacts =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestGuardDutyFacts(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   alert.GuardDuty
		want []fact
	}{
		{"DNS query", alert.GuardDuty{
			Type: "CryptoCurrency:EC2/BitcoinTool.B!DNS", Score: 8, Level: "High", Count: 14, Activity: "DNS_REQUEST",
			FirstSeen: time.Date(2026, 11, 20, 2, 58, 40, 0, time.UTC), LastSeen: time.Date(2026, 11, 20, 3, 12, 18, 0, time.UTC),
			Domain: "pool.minexmr.example", Protocol: "UDP",
		}, []fact{
			{"GuardDuty score", "8 (High)"},
			{"First seen", "2026-11-20T02:58:40Z"},
			{"Last seen", "2026-11-20T03:12:18Z"},
			{"Count", "14"},
			{"Remote", "domain pool.minexmr.example"},
			{"Connection", "DNS query over UDP"},
			{"Blocked", "no"},
		}},
		{"blocked connection", alert.GuardDuty{
			Score: 5.5, Level: "Medium", Activity: "NETWORK_CONNECTION", Direction: "outbound", Protocol: "TCP", Blocked: true,
			Remote: &alert.Remote{IP: "198.51.100.94", Port: 3333, PortName: "Unknown", ASN: "64501", Org: "Example Hosting BV", Country: "Netherlands", City: "Amsterdam"},
		}, []fact{
			{"GuardDuty score", "5.5 (Medium)"},
			{"Remote", "198.51.100.94 port 3333, AS64501 Example Hosting BV, Amsterdam, Netherlands"},
			{"Connection", "outbound TCP"},
			{"Blocked", "yes"},
		}},
		{"runtime process", alert.GuardDuty{
			Score: 9.2, Level: "Critical", Activity: "RUNTIME", Process: "/tmp/.cache/xmrig", ProcessSHA256: "5f0b",
		}, []fact{
			{"GuardDuty score", "9.2 (Critical)"},
			{"Process", "/tmp/.cache/xmrig (SHA-256 5f0b)"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := guardDutyFacts(&tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("guardDutyFacts =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestInstanceNetworkFacts(t *testing.T) {
	in := alert.Instance{ID: "i-0f1e2d3c4b5a69788", PrivateIP: "10.20.7.19", VPC: "vpc-0a1b", Subnet: "subnet-0e1f",
		SecurityGroups: []alert.SecurityGroup{{ID: "sg-0a9b", Name: "batch-workers"}, {ID: "sg-0d4e"}},
		LaunchTime:     time.Date(2026, 11, 2, 9, 15, 40, 0, time.FixedZone("CET", 3600))}
	want := []fact{
		{"Launched", "2026-11-02T08:15:40Z"},
		{"Private IP", "10.20.7.19"},
		{"VPC", "vpc-0a1b"},
		{"Subnet", "subnet-0e1f"},
		{"Security groups", "sg-0a9b (batch-workers), sg-0d4e"},
	}
	if got := instanceFacts(in); !reflect.DeepEqual(got, want) {
		t.Errorf("instanceFacts =\n%q\nwant\n%q", got, want)
	}
}
