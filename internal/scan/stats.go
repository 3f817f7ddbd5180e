package scan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/render"
)

// Stats sums up the findings of a scan: per detection and severity, with
// first and last seen and the principals behind them, and per day.
type Stats struct {
	Detections map[string]*DetectionStats `json:"detections"`
	// Days counts findings per UTC day and severity.
	Days map[string]map[string]int `json:"days"`
}

// DetectionStats is one detection's share of a scan.
type DetectionStats struct {
	ID         string         `json:"id"`
	Title      string         `json:"title"`
	Count      int            `json:"count"`
	Severities map[string]int `json:"severities"`
	First      time.Time      `json:"first"`
	Last       time.Time      `json:"last"`
	// Principals counts findings per caller ARN.
	Principals map[string]int `json:"principals"`
}

// Add counts a reported record's findings.
func (s *Stats) Add(rec Record) {
	if rec.Err != nil || rec.Event == nil {
		return
	}
	if s.Detections == nil {
		s.Detections, s.Days = map[string]*DetectionStats{}, map[string]map[string]int{}
	}
	t := eventTime(rec.Event).UTC()
	principal := ""
	if ct := rec.Event.CloudTrail; ct != nil {
		principal = ct.UserIdentity.ARN
	}
	for _, f := range rec.Findings {
		d := s.Detections[f.Detection.ID]
		if d == nil {
			d = &DetectionStats{ID: f.Detection.ID, Title: f.Detection.Title, Severities: map[string]int{}, Principals: map[string]int{}}
			s.Detections[f.Detection.ID] = d
		}
		d.Count++
		d.Severities[f.Severity.String()]++
		if !t.IsZero() && (d.First.IsZero() || t.Before(d.First)) {
			d.First = t
		}
		if t.After(d.Last) {
			d.Last = t
		}
		if principal != "" {
			d.Principals[principal]++
		}
		if !t.IsZero() {
			day := t.Format(time.DateOnly)
			if s.Days[day] == nil {
				s.Days[day] = map[string]int{}
			}
			s.Days[day][f.Severity.String()]++
		}
	}
}

// Merge adds another scan's statistics to s: a distributed scan's
// summary merges its batches' this way. Counts add up, first and last seen
// widen.
func (s *Stats) Merge(o *Stats) {
	if o == nil {
		return
	}
	if s.Detections == nil {
		s.Detections, s.Days = map[string]*DetectionStats{}, map[string]map[string]int{}
	}
	for id, od := range o.Detections {
		if od == nil {
			continue
		}
		d := s.Detections[id]
		if d == nil {
			d = &DetectionStats{ID: id, Title: od.Title, Severities: map[string]int{}, Principals: map[string]int{}}
			s.Detections[id] = d
		}
		if d.Title == "" {
			d.Title = od.Title
		}
		d.Count += od.Count
		addCounts(d.Severities, od.Severities)
		addCounts(d.Principals, od.Principals)
		if !od.First.IsZero() && (d.First.IsZero() || od.First.Before(d.First)) {
			d.First = od.First
		}
		if od.Last.After(d.Last) {
			d.Last = od.Last
		}
	}
	for day, m := range o.Days {
		if s.Days[day] == nil {
			s.Days[day] = map[string]int{}
		}
		addCounts(s.Days[day], m)
	}
}

func addCounts(to, from map[string]int) {
	for k, n := range from {
		to[k] += n
	}
}

// sorted lists the detections most severe first, then by count.
func (s *Stats) sorted() []*DetectionStats {
	out := slices.Collect(maps.Values(s.Detections))
	slices.SortFunc(out, func(a, b *DetectionStats) int {
		if c := cmp.Compare(worst(b), worst(a)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func worst(d *DetectionStats) detect.Severity {
	w := detect.Severity(0)
	for name := range d.Severities {
		if sev, err := detect.ParseSeverity(name); err == nil && sev > w {
			w = sev
		}
	}
	return w
}

// severityText is "2 critical, 5 high".
func severityText(m map[string]int) string {
	var parts []string
	for sev := detect.SeverityCritical; sev >= detect.SeverityInfo; sev-- {
		if n := m[sev.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	return strings.Join(parts, ", ")
}

// top is the n principals with the most findings: "arn (12), arn (3)".
func top(m map[string]int, n int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s (%d)", k, m[k])
	}
	return out
}

// Table writes the summary for a terminal. Principals are attacker
// controlled: control characters are taken out (render.Clean).
func (s *Stats) Table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DETECTION\tFINDINGS\tSEVERITY\tFIRST SEEN\tLAST SEEN\tTOP PRINCIPALS")
	for _, d := range s.sorted() {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.Count, severityText(d.Severities), stamp(d.First), stamp(d.Last),
			render.Clean(strings.Join(top(d.Principals, 3), ", "), 300))
	}
	if len(s.Detections) == 0 {
		fmt.Fprintln(tw, "(no findings)\t\t\t\t\t")
	}
	return tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// Report is what --report writes: the summary, the statistics and where
// the scan looked.
type Report struct {
	Inputs  []string `json:"inputs"`
	Summary Summary  `json:"summary"`
	Stats   *Stats   `json:"stats"`
}

// WriteJSON writes the report as JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// mdText makes attacker-controlled text inert in a Markdown table cell:
// no pipes, no markup, no links, no HTML.
func mdText(s string) string {
	s = render.Clean(s, 300)
	return strings.NewReplacer("|", "\\|", "`", "'", "<", "&lt;", ">", "&gt;", "[", "\\[", "]", "\\]", "*", "\\*", "_", "\\_",
		"http://", "http[:]//", "https://", "https[:]//").Replace(s)
}

// WriteMarkdown writes the report as Markdown, with a table of findings
// per day by severity.
func (r Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# trailwatch scan\n\n")
	fmt.Fprintf(&b, "%s.\n\nInputs: %s\n\n", r.Summary.String(), mdText(strings.Join(r.Inputs, ", ")))
	b.WriteString("## Findings by detection\n\n| Detection | Findings | Severity | First seen | Last seen | Top principals |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, d := range r.Stats.sorted() {
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s | %s | %s |\n", d.ID, d.Count, severityText(d.Severities), stamp(d.First), stamp(d.Last),
			mdText(strings.Join(top(d.Principals, 3), ", ")))
	}
	b.WriteString("\n## Findings per day\n\n| Day | Critical | High | Medium | Low | Info |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, day := range slices.Sorted(maps.Keys(r.Stats.Days)) {
		m := r.Stats.Days[day]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d |\n", day, m["critical"], m["high"], m["medium"], m["low"], m["info"])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// dayBar is one day of the HTML chart: a stacked bar per severity.
type dayBar struct {
	Day      string
	Segments []segment
	Total    int
}

type segment struct {
	Severity string
	Count    int
	Y, H     float64
	Color    string
}

var severityColors = map[string]string{"critical": "#7f1d1d", "high": "#dc2626", "medium": "#f59e0b", "low": "#3b82f6", "info": "#9ca3af"}

var reportHTML = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trailwatch scan</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}code{font-size:.9em}</style>
</head><body>
<h1>trailwatch scan</h1>
<p>{{.Summary}}</p>
<p>Inputs: {{range $i, $in := .Inputs}}{{if $i}}, {{end}}<code>{{$in}}</code>{{end}}</p>
<h2>Findings per day</h2>
<svg width="{{.Width}}" height="240" role="img" aria-label="Findings per day by severity">
{{range $i, $d := .Bars}}<g transform="translate({{$d.X}},0)">{{range $d.Segments}}<rect x="0" y="{{.Y}}" width="{{$.BarWidth}}" height="{{.H}}" fill="{{.Color}}"><title>{{$d.Day}}: {{.Count}} {{.Severity}}</title></rect>{{end}}<text x="0" y="235" font-size="9">{{$d.Label}}</text></g>
{{end}}</svg>
<p>{{range .Legend}}<span style="color:{{.Color}}">&#9632;</span> {{.Severity}} {{end}}</p>
<h2>Findings by detection</h2>
<table><tr><th>Detection</th><th>Findings</th><th>Severity</th><th>First seen</th><th>Last seen</th><th>Top principals</th></tr>
{{range .Rows}}<tr><td><code>{{.ID}}</code></td><td>{{.Count}}</td><td>{{.Severity}}</td><td>{{.First}}</td><td>{{.Last}}</td><td>{{.Principals}}</td></tr>
{{end}}</table>
</body></html>
`))

// WriteHTML writes the report as one HTML page with an SVG chart of
// findings per day by severity; html/template escapes every value.
func (r Report) WriteHTML(w io.Writer) error {
	days := slices.Sorted(maps.Keys(r.Stats.Days))
	maxTotal := 1
	for _, d := range days {
		t := 0
		for _, n := range r.Stats.Days[d] {
			t += n
		}
		maxTotal = max(maxTotal, t)
	}
	const height, barWidth, gap = 210.0, 14.0, 4.0
	type bar struct {
		dayBar
		X     float64
		Label string
	}
	var bars []bar
	for i, d := range days {
		b := bar{dayBar: dayBar{Day: d}, X: float64(i) * (barWidth + gap)}
		if i%7 == 0 {
			b.Label = d[5:]
		}
		y := height
		for sev := detect.SeverityInfo; sev <= detect.SeverityCritical; sev++ {
			n := r.Stats.Days[d][sev.String()]
			if n == 0 {
				continue
			}
			h := height * float64(n) / float64(maxTotal)
			y -= h
			b.Segments = append(b.Segments, segment{Severity: sev.String(), Count: n, Y: y, H: h, Color: severityColors[sev.String()]})
			b.Total += n
		}
		bars = append(bars, b)
	}
	type row struct {
		ID, Severity, First, Last, Principals string
		Count                                 int
	}
	var rows []row
	for _, d := range r.Stats.sorted() {
		rows = append(rows, row{ID: d.ID, Count: d.Count, Severity: severityText(d.Severities), First: stamp(d.First), Last: stamp(d.Last),
			Principals: render.Clean(strings.Join(top(d.Principals, 3), ", "), 300)})
	}
	var legend []segment
	for sev := detect.SeverityCritical; sev >= detect.SeverityInfo; sev-- {
		legend = append(legend, segment{Severity: sev.String(), Color: severityColors[sev.String()]})
	}
	return reportHTML.Execute(w, map[string]any{
		"Summary": r.Summary.String(), "Inputs": r.Inputs, "Bars": bars, "Rows": rows, "Legend": legend,
		"Width": max(200, float64(len(days))*(barWidth+gap)), "BarWidth": barWidth,
	})
}

// Add adds another scan's counts to s: a distributed scan's summary adds
// up its batches'. Duration becomes the time the batches took together,
// not the wall time; Interrupted is set when any batch was.
func (s *Summary) Add(o Summary) {
	s.Objects += o.Objects
	s.Records += o.Records
	s.Bytes += o.Bytes
	s.Flagged += o.Flagged
	s.Unreadable += o.Unreadable
	s.OutOfRange += o.OutOfRange
	s.Filtered += o.Filtered
	s.Duplicates += o.Duplicates
	s.Counted += o.Counted
	s.Duration += o.Duration
	s.Interrupted = s.Interrupted || o.Interrupted
}
