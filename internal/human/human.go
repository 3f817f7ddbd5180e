// Package human writes durations, times and counts the way alerts show
// them to people: "5 minutes", not "5m0s"; one date format everywhere, RFC
// 3339 in UTC ("2026-11-20T03:15:04Z"). Detections, the enricher and the
// renderers all build text with it, so a headline and the facts below it
// never disagree on units.
//
// Written by hand: the formats are small and fixed, and the libraries that
// humanize durations ("5 minutes ago", locale tables) either round away the
// precision an alert needs or pull in far more than three functions.
package human

import (
	"strconv"
	"strings"
	"time"
)

// Time is t in RFC 3339, UTC, whole seconds: "2026-11-20T03:15:04Z". The
// zero time is "unknown".
func Time(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// units are the ones Duration names, largest first.
var units = []struct {
	size     time.Duration
	one, few string
}{
	{24 * time.Hour, "day", "days"},
	{time.Hour, "hour", "hours"},
	{time.Minute, "minute", "minutes"},
	{time.Second, "second", "seconds"},
}

// Duration says how long d is in at most two units, largest first, rounded
// down to the smaller one: "5 minutes", "1 hour 30 minutes", "2 days 3
// hours", "3 seconds". Durations under a minute keep a decimal: tenths of a
// second from a second ("3.4 seconds"), thousandths below it ("0.8
// seconds", "0.25 seconds"); zero is "0 seconds", and a negative duration is
// written as its length with a leading minus.
func Duration(d time.Duration) string {
	if d < 0 {
		return "-" + Duration(-d)
	}
	if d < time.Minute {
		r := d.Round(time.Millisecond)
		if d >= time.Second {
			r = d.Round(100 * time.Millisecond)
		}
		if r == time.Second {
			return "1 second"
		}
		return strconv.FormatFloat(r.Seconds(), 'f', -1, 64) + " seconds"
	}
	parts := make([]string, 0, 2)
	for i, u := range units {
		if d < u.size {
			continue
		}
		n := int64(d / u.size)
		d -= time.Duration(n) * u.size
		parts = append(parts, Count(int(n), u.one, u.few))
		// The next unit only, and only when it is not zero.
		if i+1 < len(units) {
			if m := int64(d / units[i+1].size); m > 0 {
				parts = append(parts, Count(int(m), units[i+1].one, units[i+1].few))
			}
		}
		break
	}
	return strings.Join(parts, " ")
}

// Count is n with the singular or plural noun: "1 time", "14 times".
func Count(n int, one, many string) string {
	if n == 1 || n == -1 {
		return strconv.Itoa(n) + " " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Percent is v with at most one decimal and a percent sign: "99.1%", "80%".
func Percent(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + "%"
}
