package human_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/trailwatch/trailwatch/internal/human"
)

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0 seconds"},
		{200 * time.Millisecond, "0.2 seconds"},
		{time.Second, "1 second"},
		{3 * time.Second, "3 seconds"},
		{3*time.Second + 400*time.Millisecond, "3.4 seconds"},
		{3*time.Second + 440*time.Millisecond, "3.4 seconds"},
		{800 * time.Millisecond, "0.8 seconds"},
		{1234567 * time.Microsecond, "1.2 seconds"},
		{1040 * time.Millisecond, "1 second"},
		{250400 * time.Microsecond, "0.25 seconds"},
		{400 * time.Microsecond, "0 seconds"},
		{59*time.Second + 940*time.Millisecond, "59.9 seconds"},
		{time.Minute, "1 minute"},
		{5 * time.Minute, "5 minutes"},
		{15 * time.Minute, "15 minutes"},
		{90 * time.Second, "1 minute 30 seconds"},
		{time.Hour, "1 hour"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{6*time.Hour + time.Minute + 7*time.Second, "6 hours 1 minute"},
		{6*time.Hour + 7*time.Second, "6 hours"},
		{24 * time.Hour, "1 day"},
		{51*time.Hour + 59*time.Minute, "2 days 3 hours"},
		{-5 * time.Minute, "-5 minutes"},
	} {
		if got := human.Duration(tt.in); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTime(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tt := range []struct {
		in   time.Time
		want string
	}{
		{time.Time{}, "unknown"},
		{time.Date(2026, 11, 20, 3, 15, 4, 0, time.UTC), "2026-11-20T03:15:04Z"},
		{time.Date(2026, 11, 20, 3, 15, 4, 517_000_000, time.UTC), "2026-11-20T03:15:04Z"},
		{time.Date(2026, 11, 20, 4, 15, 4, 0, paris), "2026-11-20T03:15:04Z"},
	} {
		if got := human.Time(tt.in); got != tt.want {
			t.Errorf("Time(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCountAndPercent(t *testing.T) {
	if got := human.Count(1, "time", "times"); got != "1 time" {
		t.Errorf("Count(1) = %q", got)
	}
	if got := human.Count(14, "time", "times"); got != "14 times" {
		t.Errorf("Count(14) = %q", got)
	}
	for in, want := range map[float64]string{80: "80%", 99.1: "99.1%", 97.25: "97.2%", 99.96: "100%", 0: "0%"} {
		if got := human.Percent(in); got != want {
			t.Errorf("Percent(%v) = %q, want %q", in, got, want)
		}
	}
}

func ExampleDuration() {
	fmt.Println(human.Duration(5 * time.Minute))
	fmt.Println(human.Duration(3 * 5 * time.Minute))
	fmt.Println(human.Duration(90 * time.Minute))
	// Output:
	// 5 minutes
	// 15 minutes
	// 1 hour 30 minutes
}
