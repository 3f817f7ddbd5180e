// Package coverage measures what the catalog's EventBridge patterns cost:
// for a set of events, how many each detection's pattern matches (what
// would invoke a function for it) and how many of those its decision turns
// into a finding. A pattern is a coarse filter (detect.Detection.Pattern);
// matches that end with no finding are invocations paid for nothing.
package coverage

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
)

// Row is one detection's count.
type Row struct {
	ID string
	// Threshold detections' findings are steps towards a count (their
	// decision accepted the event), not alerts.
	Threshold bool
	// Matched is how many events its pattern matched.
	Matched int
	// Found is how many of those its decision reported.
	Found int
}

// Idle is how many matches ended with no finding.
func (r Row) Idle() int { return r.Matched - r.Found }

// Share is the part of the matches that ended with no finding, 0 to 1.
func (r Row) Share() float64 {
	if r.Matched == 0 {
		return 0
	}
	return float64(r.Idle()) / float64(r.Matched)
}

// Report counts events through a catalog.
type Report struct {
	catalog *detect.Catalog
	rows    map[string]*Row
	// Events is how many events were counted; Unmatched how many no
	// pattern matched.
	Events, Unmatched int
	// Errors is how many events the matcher or a decision failed on.
	Errors int
	// Idle, when set, is called for each match that ended with no
	// finding.
	Idle func(d *detect.Detection, ev *event.Event)
}

// New returns an empty report for the catalog (under its settings: see
// detect.Catalog.WithEnv).
func New(c *detect.Catalog) *Report {
	return &Report{catalog: c, rows: map[string]*Row{}}
}

// Add runs the event through every pattern and the decision of each
// detection whose pattern matched it.
func (r *Report) Add(ev *event.Event) error {
	r.Events++
	matched, err := r.catalog.Match(ev)
	if err != nil {
		r.Errors++
		return fmt.Errorf("event %s: %w", ev.ID(), err)
	}
	if len(matched) == 0 {
		r.Unmatched++
		return nil
	}
	findings, err := r.catalog.Evaluate(ev)
	if err != nil {
		// The findings of the other detections still count.
		r.Errors++
	}
	for _, d := range matched {
		row := r.row(d)
		row.Matched++
		if slices.ContainsFunc(findings, func(f detect.Finding) bool { return f.Detection == d }) {
			row.Found++
		} else if r.Idle != nil {
			r.Idle(d, ev)
		}
	}
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID(), err)
	}
	return nil
}

func (r *Report) row(d *detect.Detection) *Row {
	row, ok := r.rows[d.ID]
	if !ok {
		row = &Row{ID: d.ID, Threshold: d.Threshold != nil}
		r.rows[d.ID] = row
	}
	return row
}

// Rows are the detections whose pattern matched something, most idle
// matches first, then by ID.
func (r *Report) Rows() []Row {
	out := make([]Row, 0, len(r.rows))
	for _, row := range r.rows {
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b Row) int {
		if c := cmp.Compare(b.Idle(), a.Idle()); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// Total is every detection's counts added up (ID "total").
func (r *Report) Total() Row {
	t := Row{ID: "total"}
	for _, row := range r.rows {
		t.Matched += row.Matched
		t.Found += row.Found
	}
	return t
}

// Write prints the report as a table.
func (r *Report) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "detection\tmatched\tfound\tno finding\tshare\t\n")
	line := func(row Row) {
		id := row.ID
		if row.Threshold {
			id += " (threshold steps)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f%%\t\n", id, row.Matched, row.Found, row.Idle(), 100*row.Share())
	}
	for _, row := range r.Rows() {
		line(row)
	}
	line(r.Total())
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d events, %d matched by no pattern, %d errors\n", r.Events, r.Unmatched, r.Errors)
	return err
}
