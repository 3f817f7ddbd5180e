// Package replay runs recorded events from files through the same pipeline
// as the Lambda function and writes what it would send: alert text, the
// detections as JSON, Slack payloads or emails.
package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/eventfile"
	"github.com/trailwatch/trailwatch/internal/pipeline"
	"github.com/trailwatch/trailwatch/internal/render"
)

// Formats the runner can write.
const (
	FormatText  = "text"
	FormatJSON  = "json"
	FormatSlack = "slack"
	FormatEmail = "email"
)

// Formats lists the valid formats.
var Formats = []string{FormatText, FormatJSON, FormatSlack, FormatEmail}

// Runner replays events.
type Runner struct {
	Pipeline *pipeline.Pipeline
	// Digests, when set, runs at the end of the replay: the storm windows
	// the run filled, which follow the events' own times, are summarized in
	// their order as production would have after they closed. (A replay
	// has no late deliveries: every event reaches its window before the
	// window's digest, whatever the order of the files.)
	Digests *pipeline.Digests
	Format  string
	Out     io.Writer
	// Errs receives one line per unreadable input and per failed delivery.
	Errs io.Writer
}

// Summary counts what a run did.
type Summary struct {
	Events           int
	Alerts           int
	Repeats          int
	Digests          int
	Unreadable       int
	DeliveryFailures int
}

// Detection is one entry of the JSON format's "detections" list.
type Detection struct {
	ID       string          `json:"id"`
	Title    string          `json:"title"`
	Severity detect.Severity `json:"severity"`
	CIS      []string        `json:"cis"`
	MITRE    []string        `json:"mitre"`
	// Resolved marks the end of a condition (an alarm back to OK), never
	// a new one.
	Resolved bool `json:"resolved,omitempty"`
}

// DetectionOf is a finding as the JSON format lists it.
func DetectionOf(f detect.Finding) Detection {
	return Detection{
		ID: f.Detection.ID, Title: f.Detection.Title, Severity: f.Severity,
		CIS: nonNil(f.Detection.CIS), MITRE: nonNil(f.Detection.MITRE), Resolved: f.Resolved,
	}
}

// Line is what the JSON format prints per input event.
type Line struct {
	ID         string      `json:"id"`
	Detections []Detection `json:"detections"`
}

// Run replays every event found under paths. It returns an error only when
// writing output fails; unreadable inputs and failed deliveries are
// reported on Errs and counted in the summary.
func (r *Runner) Run(ctx context.Context, paths []string) (Summary, error) {
	var sum Summary
	err := eventfile.ReadPaths(paths, func(it eventfile.Item) error {
		if it.Err != nil {
			sum.Unreadable++
			// A decode error may quote the input: Clean keeps terminal
			// escapes in it from acting.
			_, err := fmt.Fprintf(r.Errs, "trailwatch: %s: %s\n", render.Clean(it.Where, 300), render.Clean(it.Err.Error(), 1000))
			return err
		}
		sum.Events++
		return r.one(ctx, it, &sum)
	})
	if err != nil || r.Digests == nil {
		return sum, err
	}
	r.Digests.Built = r.printDigest
	n, derr := r.Digests.Run(ctx)
	sum.Digests = n
	if derr != nil {
		sum.DeliveryFailures++
		if _, werr := fmt.Fprintf(r.Errs, "trailwatch: digests: %s\n", render.Clean(derr.Error(), 1000)); werr != nil {
			return sum, werr
		}
	}
	return sum, nil
}

// printDigest writes a digest in the run's format (the JSON format lists
// detections per event and has no digests).
func (r *Runner) printDigest(d alert.Digest) error {
	var err error
	switch r.Format {
	case FormatSlack:
		var b []byte
		if b, err = render.DigestSlackJSON(d); err == nil {
			_, err = fmt.Fprintf(r.Out, "%s\n", b)
		}
	case FormatEmail:
		m := render.DigestEmail(d)
		_, err = fmt.Fprintf(r.Out, "Subject: %s\n\n%s\n%s\n", m.Subject, m.Body, strings.Repeat("-", 76))
	case FormatText:
		m := render.DigestEmail(d)
		_, err = fmt.Fprintf(r.Out, "%s\n%s\n%s\n%s\n", m.Subject, strings.Repeat("=", len(m.Subject)), m.Body, strings.Repeat("-", 76))
	}
	return err
}

func (r *Runner) one(ctx context.Context, it eventfile.Item, sum *Summary) error {
	ev := it.Event
	var res pipeline.Result
	if ev.Known() {
		var err error
		res, err = r.Pipeline.Process(ctx, ev, "")
		if err != nil {
			sum.DeliveryFailures++
			if _, werr := fmt.Fprintf(r.Errs, "trailwatch: %s: event %s: %s\n", render.Clean(it.Where, 300), render.Clean(ev.ID(), 300), render.Clean(err.Error(), 1000)); werr != nil {
				return werr
			}
		}
	}
	if res.Alert != nil {
		sum.Alerts++
	}
	if res.Repeat {
		sum.Repeats++
	}
	switch r.Format {
	case FormatJSON:
		line := Line{ID: ev.ID(), Detections: []Detection{}}
		for i, f := range res.Findings {
			d := DetectionOf(f)
			if i == 0 && res.Alert != nil {
				d.Severity = res.Alert.Severity
			}
			line.Detections = append(line.Detections, d)
		}
		b, err := json.Marshal(line)
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		_, err = fmt.Fprintf(r.Out, "%s\n", b)
		return err
	case FormatSlack:
		if res.Alert == nil {
			return nil
		}
		b, err := render.SlackJSON(*res.Alert)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(r.Out, "%s\n", b)
		return err
	case FormatEmail:
		if res.Alert == nil {
			return nil
		}
		m := render.RenderEmail(*res.Alert)
		_, err := fmt.Fprintf(r.Out, "Subject: %s\n\n%s\n%s\n", m.Subject, m.Body, strings.Repeat("-", 76))
		return err
	default:
		for _, s := range res.Suppressed {
			if _, err := fmt.Fprintf(r.Out, "%s: %s suppressed by allow-list rule %d (%s)\n", render.Clean(it.Where, 300),
				s.Finding.Detection.ID, s.Rule, render.Clean(s.Reason, 300)); err != nil {
				return err
			}
		}
		if res.Repeat {
			_, err := fmt.Fprintf(r.Out, "%s: %s: repeat of an alerted detection, held for the digest\n\n", render.Clean(it.Where, 300), render.Clean(summary(ev), 300))
			return err
		}
		if res.Alert == nil {
			_, err := fmt.Fprintf(r.Out, "%s: %s: no alert\n\n", render.Clean(it.Where, 300), render.Clean(summary(ev), 300))
			return err
		}
		_, err := fmt.Fprintf(r.Out, "%s\n%s\n", render.Text(*res.Alert), strings.Repeat("-", 76))
		return err
	}
}

// summary names an event that raised nothing, in one line.
func summary(ev *event.Event) string {
	rec := ev.CloudTrail
	switch {
	case ev.Alarm != nil:
		return fmt.Sprintf("alarm %s %s -> %s", ev.Alarm.AlarmName, firstNonEmpty(ev.Alarm.PreviousState.Value, "?"), ev.Alarm.State.Value)
	case ev.GuardDuty != nil:
		return "GuardDuty finding " + ev.GuardDuty.Type
	case rec == nil:
		return "unsupported event type " + ev.Envelope.DetailType
	}
	return fmt.Sprintf("%s by %s", rec.EventName, firstNonEmpty(rec.UserIdentity.ARN, rec.UserIdentity.Type, "unknown principal"))
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
