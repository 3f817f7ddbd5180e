package detect

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Threshold makes a detection count before it alerts: each event its
// Evaluate accepts is one step (its Finding's Counted items), counted per
// principal in windows of event time, and the alert comes once, when a
// window reaches Count. Below it nothing is sent. The counting itself is
// the pipeline's (internal/pipeline, with the state table's atomic
// counters in the functions and memory in replay).
type Threshold struct {
	// Count is how many items a window must hold (default; the
	// deployment may change it, see Env.Thresholds).
	Count int
	// Window is the window's length (default).
	Window time.Duration
	// Distinct counts distinct items (secret names, regions, API names);
	// otherwise each event counts once, by its event ID.
	Distinct bool
	// Noun names what is counted, plural: "secrets", "denied calls".
	Noun string
	// Verb says what the principal did to them: "read", "made".
	Verb string
}

// Threshold limits a deployment may set.
const (
	MinThresholdCount  = 2
	MaxThresholdCount  = 10000
	MaxThresholdWindow = 24 * time.Hour
)

// ThresholdSetting is a deployment's own count and window for a threshold
// detection (trailwatch:thresholds); zero values keep the detection's.
type ThresholdSetting struct {
	Count         int `json:"count,omitempty"`
	WindowMinutes int `json:"windowMinutes,omitempty"`
}

// KindThreshold marks detections that alert on a count (see Threshold).
const KindThreshold Kind = "threshold"

// ThresholdOf is d's count and window, with the deployment's settings.
func (e *Env) ThresholdOf(d *Detection) (count int, window time.Duration) {
	if d == nil || d.Threshold == nil {
		return 0, 0
	}
	count, window = d.Threshold.Count, d.Threshold.Window
	if e == nil {
		return count, window
	}
	if s, ok := e.Thresholds[d.ID]; ok {
		if s.Count > 0 {
			count = s.Count
		}
		if s.WindowMinutes > 0 {
			window = time.Duration(s.WindowMinutes) * time.Minute
		}
	}
	return count, window
}

// CheckThresholds reports settings that name no threshold detection of
// all, or values out of range, each error naming the detection.
func CheckThresholds(settings map[string]ThresholdSetting, all []*Detection) error {
	ids := make([]string, 0, len(settings))
	for id := range settings {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	byID := map[string]*Detection{}
	var known []string
	for _, d := range all {
		byID[d.ID] = d
		if d.Threshold != nil {
			known = append(known, d.ID)
		}
	}
	for _, id := range ids {
		s := settings[id]
		d := byID[id]
		switch {
		case d == nil:
			return fmt.Errorf("%q is not a detection (threshold detections: %s)", id, strings.Join(known, ", "))
		case d.Threshold == nil:
			return fmt.Errorf("%q is not a threshold detection (those are: %s)", id, strings.Join(known, ", "))
		case s.Count != 0 && (s.Count < MinThresholdCount || s.Count > MaxThresholdCount):
			return fmt.Errorf("%s: count %d is out of range (%d to %d)", id, s.Count, MinThresholdCount, MaxThresholdCount)
		case s.WindowMinutes < 0 || time.Duration(s.WindowMinutes)*time.Minute > MaxThresholdWindow:
			return fmt.Errorf("%s: windowMinutes %d is out of range (1 to %d)", id, s.WindowMinutes, int(MaxThresholdWindow/time.Minute))
		case s.Count == 0 && s.WindowMinutes == 0:
			return fmt.Errorf("%s: set count, windowMinutes or both", id)
		}
	}
	return nil
}

// ThresholdHeadline says what crossed a threshold: "arn:... read 40
// distinct secrets within 10 minutes".
func ThresholdHeadline(t *Threshold, principal string, n int, window time.Duration) string {
	noun := t.Noun
	if t.Distinct {
		noun = "distinct " + noun
	}
	return fmt.Sprintf("%s %s %d %s within %s", principal, t.Verb, n, noun, WindowText(window))
}

// WindowText is a window length in words: "10 minutes", "1 hour".
func WindowText(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d >= time.Hour:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
