package enrich

import (
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/alert"
)

// TestAlarmTitleUnits: a CPU alarm speaks of CPU in percent; an alarm the
// user listed on another metric keeps that metric's own numbers.
func TestAlarmTitleUnits(t *testing.T) {
	threshold := 1e6
	points := []alert.Datapoint{{Value: 2.5e6}, {Value: 3e6}}
	in := []alert.Instance{{ID: "i-0a1b2c3d4e5f60718", Name: "web-1"}}
	for _, tt := range []struct {
		name string
		al   alert.Alarm
		want string
	}{
		{"network alarm", alert.Alarm{State: "ALARM", Metric: "AWS/EC2 NetworkOut", Threshold: &threshold, Period: time.Minute, Datapoints: points},
			"Instance i-0a1b2c3d4e5f60718 (web-1) at 3000000 AWS/EC2 NetworkOut for 2 minutes (threshold 1000000)"},
		{"network alarm resolved", alert.Alarm{State: "OK", Metric: "AWS/EC2 NetworkOut", Threshold: &threshold},
			"Instance i-0a1b2c3d4e5f60718 (web-1) back below the AWS/EC2 NetworkOut threshold of 1000000"},
		{"CPU alarm without datapoints", alert.Alarm{State: "ALARM", Metric: "AWS/EC2 CPUUtilization"},
			"Instance i-0a1b2c3d4e5f60718 (web-1) above the CPU threshold"},
		{"CPU alarm without data", alert.Alarm{State: "INSUFFICIENT_DATA", Metric: "AWS/EC2 CPUUtilization"},
			"Instance i-0a1b2c3d4e5f60718 (web-1) sends no CPU data (stopped or terminated, or metrics missing)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := alarmTitle(&tt.al, in); got != tt.want {
				t.Errorf("alarmTitle = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGuardDutyTitleBlockedAndInbound(t *testing.T) {
	in := alert.Instance{ID: "i-0a1b2c3d4e5f60718"}
	for _, tt := range []struct {
		g    alert.GuardDuty
		want string
	}{
		{alert.GuardDuty{Type: "CryptoCurrency:EC2/BitcoinTool.B!DNS", Domain: "pool.example", Blocked: true},
			"Instance i-0a1b2c3d4e5f60718 tried to query bitcoin domain pool.example (blocked) (GuardDuty CryptoCurrency:EC2/BitcoinTool.B!DNS)"},
		{alert.GuardDuty{Type: "CryptoCurrency:EC2/BitcoinTool.B", Remote: &alert.Remote{IP: "198.51.100.9", Port: 3333}, Direction: "outbound", Blocked: true},
			"Instance i-0a1b2c3d4e5f60718 tried to connect to 198.51.100.9 port 3333 (blocked) (GuardDuty CryptoCurrency:EC2/BitcoinTool.B)"},
		{alert.GuardDuty{Type: "CryptoCurrency:EC2/BitcoinTool.B", Remote: &alert.Remote{IP: "198.51.100.9"}, Direction: "inbound"},
			"Instance i-0a1b2c3d4e5f60718 was reached from 198.51.100.9 (GuardDuty CryptoCurrency:EC2/BitcoinTool.B)"},
		{alert.GuardDuty{Type: "Impact:Runtime/CryptoMinerExecuted", Activity: "RUNTIME"},
			"Instance i-0a1b2c3d4e5f60718 ran a crypto-currency miner (GuardDuty Impact:Runtime/CryptoMinerExecuted)"},
		{alert.GuardDuty{Type: "CryptoCurrency:Lambda/BitcoinTool.B", Activity: "NETWORK_CONNECTION"},
			"Instance i-0a1b2c3d4e5f60718: GuardDuty CryptoCurrency:Lambda/BitcoinTool.B"},
	} {
		if got := guardDutyTitle(&tt.g, in); got != tt.want {
			t.Errorf("guardDutyTitle = %q, want %q", got, tt.want)
		}
	}
}
