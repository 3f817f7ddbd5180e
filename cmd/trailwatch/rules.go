package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/render"
)

// ruleInfo is one catalog entry as `trailwatch rules --format json` shows it.
type ruleInfo struct {
	ID            string          `json:"id"`
	Title         string          `json:"title"`
	Severity      detect.Severity `json:"severity"`
	CIS           []string        `json:"cis"`
	MITRE         []string        `json:"mitre"`
	NeedsReadOnly bool            `json:"needsReadOnly"`
	GlobalService bool            `json:"globalService"`
	Pattern       detect.Pattern  `json:"pattern"`
	// Kind is how the detection decides: go or sigma.
	Kind detect.Kind `json:"kind"`
	// Source is the rule file of a Sigma detection.
	Source string `json:"source,omitempty"`
	// Unfiltered lists what a Sigma rule checks that its EventBridge
	// pattern leaves to the decision, and why.
	Unfiltered []string `json:"unfiltered,omitempty"`
	// Threshold is a threshold detection's count and window, with the
	// --settings file's thresholds.
	Threshold *thresholdInfo `json:"threshold,omitempty"`
}

// thresholdInfo is a threshold detection's count as rules shows it.
type thresholdInfo struct {
	Count         int    `json:"count"`
	WindowMinutes int    `json:"windowMinutes"`
	Distinct      bool   `json:"distinct"`
	Counts        string `json:"counts"`
}

func thresholdOf(d *detect.Detection, env detect.Env) *thresholdInfo {
	if d.Threshold == nil {
		return nil
	}
	count, window := env.ThresholdOf(d)
	return &thresholdInfo{Count: count, WindowMinutes: int(window.Minutes()), Distinct: d.Threshold.Distinct, Counts: d.Threshold.Noun}
}

// thresholdText is "20 distinct secrets within 10 minutes".
func thresholdText(t *thresholdInfo) string {
	noun := t.Counts
	if t.Distinct {
		noun = "distinct " + noun
	}
	return fmt.Sprintf("%d %s within %s", t.Count, noun, detect.WindowText(time.Duration(t.WindowMinutes)*time.Minute))
}

func rulesCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("rules", stderr)
	format := fs.String("format", "table", "output: table, json or markdown (the table in docs/detections.md)")
	sigmaDir := fs.String("sigma", "", sigmaFlagUsage)
	if rest, err := parse(fs, args); err != nil || len(rest) > 0 {
		if err == nil {
			fmt.Fprintf(stderr, "trailwatch rules: unexpected arguments %q\n", rest)
		}
		return exitUsage
	}
	if err := oneOf(*format, []string{"table", "json", "markdown"}); err != nil {
		fmt.Fprintf(stderr, "trailwatch rules: %v\n", err)
		return exitUsage
	}
	catalog, set, refused, err := catalogWith(*sigmaDir, "rules", stderr)
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch rules: %v\n", err)
		return exitUsage
	}
	// Refused Sigma rules were named on stderr; the listing still shows
	// what loaded, and the exit status says some input was unusable.
	done := exitOK
	if refused {
		done = exitUnreadable
	}
	unfiltered := map[string][]string{}
	for _, r := range set.Rules {
		unfiltered[r.Detection.ID] = r.Loose
	}
	var infos []ruleInfo
	for _, d := range catalog.All() {
		infos = append(infos, ruleInfo{
			ID: d.ID, Title: d.Title, Severity: d.Severity, CIS: nonNil(d.CIS), MITRE: nonNil(d.MITRE),
			NeedsReadOnly: d.NeedsReadOnly, GlobalService: d.GlobalService, Pattern: d.Pattern,
			Kind: d.Kind, Source: d.Source, Unfiltered: unfiltered[d.ID], Threshold: thresholdOf(d, catalog.Env()),
		})
	}
	if *format == "markdown" {
		if _, err := io.WriteString(stdout, markdownTable(catalog.All())); err != nil {
			fmt.Fprintf(stderr, "trailwatch rules: %v\n", err)
			return exitDelivery
		}
		return done
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(infos); err != nil {
			fmt.Fprintf(stderr, "trailwatch rules: %v\n", err)
			return exitDelivery
		}
		return done
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if *sigmaDir == "" {
		fmt.Fprintln(tw, "ID\tSEVERITY\tCIS\tATT&CK\tTITLE")
	} else {
		fmt.Fprintln(tw, "ID\tKIND\tSEVERITY\tCIS\tATT&CK\tTITLE\tSOURCE")
	}
	for _, r := range infos {
		if *sigmaDir == "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, dash(r.CIS), dash(r.MITRE), r.Title)
			continue
		}
		// A Sigma rule's title and file name are the rule author's text.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Severity, dash(r.CIS), dash(r.MITRE),
			render.Clean(r.Title, 200), dashString(render.Clean(r.Source, 300)))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "trailwatch rules: %v\n", err)
		return exitDelivery
	}
	return done
}

func dashString(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// markdownTable is the table of detections in docs/detections.md.
func markdownTable(ds []*detect.Detection) string {
	var b strings.Builder
	b.WriteString("| ID | Severity | What it detects | CIS | ATT&CK |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, d := range ds {
		var mitre []string
		for _, m := range d.MITRE {
			mitre = append(mitre, m+" "+detect.Techniques[m])
		}
		title := d.Title
		if t := thresholdOf(d, detect.Env{}); t != nil {
			title += " (threshold: " + thresholdText(t) + ")"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", d.ID, d.Severity, title, dash(d.CIS), strings.Join(mitre, "; "))
	}
	return b.String()
}
