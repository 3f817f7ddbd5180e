package render

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/alert"
)

// MaxSubject is the longest email subject: SNS requires fewer than 100
// characters, printable ASCII, no line breaks.
const MaxSubject = 99

// Email is a rendered email.
type Email struct {
	Subject string
	Body    string
}

// Subject is the email subject: severity and headline on one ASCII line.
func Subject(a alert.Alert) string {
	return asciiLine(fmt.Sprintf("[trailwatch] %s: %s", label(a), a.Title), MaxSubject)
}

// asciiLine keeps printable ASCII only (everything else becomes '?') and
// cuts to max bytes with "...".
func asciiLine(s string, max int) string {
	s = Clean(s, max*2)
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b = append(b, byte(r))
		} else {
			b = append(b, '?')
		}
	}
	if len(b) > max {
		b = append(b[:max-3], "..."...)
	}
	return string(b)
}

// emailText makes an untrusted value safe in a plain-text body: one line,
// and no scheme or www. left for a mail client to turn into a link.
func emailText(s string, max int) string {
	return defang(Clean(s, max))
}

// bodyWriter lays out "  Label:   value" lines, wrapping long values.
type bodyWriter struct{ b strings.Builder }

const (
	labelWidth = 15
	textWidth  = 76
)

func (w *bodyWriter) section(title string) {
	if w.b.Len() > 0 {
		w.b.WriteString("\n")
	}
	w.b.WriteString(title + "\n")
}

// field writes a labelled value that is already safe for the body.
func (w *bodyWriter) field(label, value string) {
	prefix := "  " + label
	if label != "" {
		prefix += ":"
	}
	prefix += strings.Repeat(" ", max(1, labelWidth+3-len(prefix)))
	indent := strings.Repeat(" ", len(prefix))
	for i, line := range wrap(value, textWidth-len(prefix), true) {
		if i == 0 {
			w.b.WriteString(prefix + line + "\n")
		} else {
			w.b.WriteString(indent + line + "\n")
		}
	}
}

func (w *bodyWriter) line(s string) { w.b.WriteString(s + "\n") }

// bullet writes an indented list item, wrapped under its first word.
func (w *bodyWriter) bullet(value string) {
	for i, l := range wrap(value, textWidth-4, true) {
		if i == 0 {
			w.line("  - " + l)
		} else {
			w.line("    " + l)
		}
	}
}

// wrap breaks a line at spaces to width runes. A word longer than a line
// stays whole (ARNs and commands must copy cleanly), but in untrusted text
// (hard) a word over three lines is cut so no line grows without bound.
func wrap(s string, width int, hard bool) []string {
	width = max(width, 20)
	var lines []string
	cur, curLen := "", 0
	for _, word := range strings.Fields(s) {
		r := []rune(word)
		for hard && len(r) > 3*width {
			if cur != "" {
				lines = append(lines, cur)
				cur, curLen = "", 0
			}
			lines = append(lines, string(r[:3*width]))
			r = r[3*width:]
		}
		switch {
		case len(r) == 0:
		case cur == "":
			cur, curLen = string(r), len(r)
		case curLen+1+len(r) <= width:
			cur, curLen = cur+" "+string(r), curLen+1+len(r)
		default:
			lines = append(lines, cur)
			cur, curLen = string(r), len(r)
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// EmailBody is the plain-text body: who, what, when, where, what to do.
func EmailBody(a alert.Alert) string {
	var w bodyWriter
	d := a.Primary.Detection
	w.line(fmt.Sprintf("%s: %s", label(a), emailText(a.Title, maxLine)))
	if a.SeverityNote != "" {
		w.line("Severity " + emailText(a.SeverityNote, maxLine))
	}

	if isCompute(a) {
		w.computeSections(a)
	} else {
		w.whoSection(a)
	}

	w.section("WHAT")
	w.field("Action", emailText(a.What.Action+" ("+a.What.Outcome+")", maxLine))
	w.field("Resource", emailText(a.What.Resource.Type+" "+a.What.Resource.Name, maxName))
	for i, c := range a.What.Changes {
		label := ""
		if i == 0 {
			label = "Changed"
		}
		w.field(label, emailText(changeText(c), maxLine))
	}
	if hasUnknownBefore(a) {
		w.field("", "(? = the previous value is not recorded in the event)")
	}
	if e := a.Exposure; e != nil {
		w.field("Public now", exposureHeadline(e))
		for _, r := range e.Reasons {
			w.field("", "- "+emailText(r, maxLine))
		}
		for _, warn := range e.Warnings {
			w.field("", "! "+emailText(warn, maxLine))
		}
	}
	for _, e := range a.What.Evidence {
		w.field("Evidence", emailText(e.Label, maxLine))
		w.field("", emailText(e.Text, maxEvidence))
	}

	w.section("WHEN")
	w.field("Event time", formatTime(a.When.EventTime))
	w.field("Seen", delayText(a.When))

	w.section("WHERE")
	w.field("Account", emailText(accountText(a.Where), maxName))
	w.field("Region", emailText(a.Where.Region, maxName))
	src := emailText(a.Where.SourceIP, maxName)
	if a.Where.SourceNote != "" {
		src += " (" + emailText(a.Where.SourceNote, maxLine) + ")"
	}
	if !isCompute(a) {
		w.field("Source IP", src)
	}

	w.section("WHAT TO DO")
	for _, l := range wrap(emailText(a.Runbook, 2500), textWidth-2, false) {
		w.line("  " + l)
	}
	if len(a.Links) > 0 {
		w.section("LINKS")
		for _, l := range a.Links {
			// Links are built by enrich from validated names only.
			w.line("  " + Clean(l.Label, 50) + ": " + l.URL)
		}
	}
	if len(a.Unchecked) > 0 {
		w.section("COULD NOT CHECK")
		for _, u := range a.Unchecked {
			w.bullet(emailText(u, maxLine))
		}
	}
	if len(a.Notes) > 0 {
		w.section("NOTES")
		for _, n := range a.Notes {
			for _, l := range wrap(emailText(n, maxLine), textWidth-2, true) {
				w.line("  " + l)
			}
		}
	}
	w.section("DETECTION")
	w.field("ID", d.ID+" ("+d.Title+")")
	if refs := references(d); len(refs) > 0 {
		w.field("References", strings.Join(refs, "; "))
	}
	for _, o := range a.Others {
		w.field("Also matched", o.Detection.ID+" ("+o.Severity.String()+"): "+emailText(o.Headline, maxLine))
	}
	if a.EventID != a.EnvelopeID {
		w.field("Event ID", emailText(a.EventID, maxName))
	}
	if a.EnvelopeID != "" {
		w.field("EventBridge ID", emailText(a.EnvelopeID, maxName))
	}
	return w.b.String()
}

// RenderEmail renders subject and body.
func RenderEmail(a alert.Alert) Email {
	return Email{Subject: Subject(a), Body: EmailBody(a)}
}

// Text renders the alert for a terminal: the subject line, then the body.
func Text(a alert.Alert) string {
	subject := Subject(a)
	return subject + "\n" + strings.Repeat("=", len(subject)) + "\n" + EmailBody(a)
}

// whoSection is the caller of an API call and how they authenticated.
func (w *bodyWriter) whoSection(a alert.Alert) {
	w.section("WHO")
	name, rest := whoLine(a.Who)
	w.field("Principal", emailText(name, maxName))
	w.field("", emailText(rest, maxLine))
	if a.Who.ARN != "" {
		w.field("ARN", emailText(a.Who.ARN, maxName))
	}
	w.field("MFA", emailText(a.Who.MFA, maxLine))
	if a.Who.AccessKey != "" {
		w.field("Access key", emailText(a.Who.AccessKey, maxName))
	}
	w.field("Client", emailText(a.Who.Via, maxLine))
	if a.Who.InvokedBy != "" {
		w.field("Invoked by", emailText(a.Who.InvokedBy, maxName))
	}
	if a.Who.UserAgent != "" {
		w.field("User agent", emailText(a.Who.UserAgent, maxUserAgent))
	}
}

// computeSections describe an alarm or a finding: its source, the alarm's
// numbers and the instances involved.
func (w *bodyWriter) computeSections(a alert.Alert) {
	w.section("SOURCE")
	w.field("Reported by", emailText(a.Who.Name+", "+a.Who.Detail, maxLine))
	if a.Alarm != nil {
		w.section("ALARM")
		w.facts(alarmFacts(a.Alarm))
	}
	if len(a.Instances) == 0 {
		return
	}
	w.section("INSTANCES")
	for i, in := range a.Instances {
		if i == maxInstancesShown {
			w.line(fmt.Sprintf("  ... and %d more instances", len(a.Instances)-maxInstancesShown))
			break
		}
		w.field("Instance", emailText(instanceTitle(in), maxName))
		w.facts(instanceFacts(in))
	}
}

func (w *bodyWriter) facts(facts []fact) {
	for _, f := range facts {
		w.field(f.Label, emailText(f.Value, maxLine))
	}
}
