package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/trailwatch/trailwatch/internal/detect"
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
}

func rulesCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("rules", stderr)
	format := fs.String("format", "table", "output: table, json or markdown (the table in docs/detections.md)")
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
	catalog, err := detect.Builtin()
	if err != nil {
		fmt.Fprintf(stderr, "trailwatch: catalog: %v\n", err)
		return exitUsage
	}
	var infos []ruleInfo
	for _, d := range catalog.All() {
		infos = append(infos, ruleInfo{
			ID: d.ID, Title: d.Title, Severity: d.Severity, CIS: nonNil(d.CIS), MITRE: nonNil(d.MITRE),
			NeedsReadOnly: d.NeedsReadOnly, GlobalService: d.GlobalService, Pattern: d.Pattern,
		})
	}
	if *format == "markdown" {
		if _, err := io.WriteString(stdout, markdownTable(catalog.All())); err != nil {
			fmt.Fprintf(stderr, "trailwatch rules: %v\n", err)
			return exitDelivery
		}
		return exitOK
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(infos); err != nil {
			fmt.Fprintf(stderr, "trailwatch rules: %v\n", err)
			return exitDelivery
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tCIS\tATT&CK\tTITLE")
	for _, r := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, dash(r.CIS), dash(r.MITRE), r.Title)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "trailwatch rules: %v\n", err)
		return exitDelivery
	}
	return exitOK
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
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", d.ID, d.Severity, d.Title, dash(d.CIS), strings.Join(mitre, "; "))
	}
	return b.String()
}
