package render

import (
	"fmt"
	"strings"
	"unicode/utf8"

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
	return asciiLine("[trailwatch] "+label(a)+": "+a.Title, MaxSubject)
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
	prefix := 2 + len(label)
	colon := ""
	if label != "" {
		colon = ":"
		prefix++
	}
	pad := max(1, labelWidth+3-prefix)
	writeWrapped(&w.b, value, textWidth-prefix-pad, true, label, colon, pad, prefix+pad)
}

func (w *bodyWriter) line(s string) {
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

// bullet writes an indented list item, wrapped under its first word.
func (w *bodyWriter) bullet(value string) {
	writeWrapped(&w.b, value, textWidth-4, true, "- ", "", 0, 4)
}

// indented writes text wrapped to the body's width, indented by two.
func (w *bodyWriter) indented(value string, hard bool) {
	writeWrapped(&w.b, value, textWidth-2, hard, "", "", 0, 2)
}

// spaces returns n spaces.
func spaces(n int) string {
	const s = "                                        "
	if n <= len(s) {
		return s[:n]
	}
	return strings.Repeat(" ", n)
}

// writeWrapped writes s broken at spaces into lines of at most width runes
// (at least 20), each ended by a newline. The first line starts with "  ",
// head, tail and pad1 spaces; the others with pad2 spaces. A word longer
// than a line stays whole (ARNs and commands must copy cleanly), but in
// untrusted text (hard) a word over three lines is cut so no line grows
// without bound. Text without words makes one empty line.
func writeWrapped(b *strings.Builder, s string, width int, hard bool, head, tail string, pad1, pad2 int) {
	width = max(width, 20)
	w := wrapper{b: b, head: head, tail: tail, pad1: pad1, pad2: pad2}
	if oneLine(s, width) {
		// Most values: one line as it is, no word to split.
		w.begin()
		b.WriteString(s)
		w.end()
		return
	}
	w.words(s, width, hard)
}

// words is writeWrapped for text that needs splitting into words.
func (w *wrapper) words(s string, width int, hard bool) {
	curLen := 0
	// ASCII text (most of it) is split on its bytes, a word's length its
	// byte count; other text by strings.Fields, as Unicode spaces go.
	ascii := isASCII(s)
	var unicodeWords []string
	if !ascii {
		unicodeWords = strings.Fields(s)
	}
	for i, k := 0, 0; ; k++ {
		var word string
		var n int
		if ascii {
			for i < len(s) && asciiSpace[s[i]] {
				i++
			}
			if i == len(s) {
				break
			}
			j := i
			for j < len(s) && !asciiSpace[s[j]] {
				j++
			}
			word, n, i = s[i:j], j-i, j
		} else {
			if k == len(unicodeWords) {
				break
			}
			if word = unicodeWords[k]; !utf8.ValidString(word) {
				word = string([]rune(word)) // as the runes of the word would be written
			}
			n = utf8.RuneCountInString(word)
		}
		for hard && n > 3*width {
			if w.open {
				w.end()
			}
			cut := 0
			for i := 0; i < 3*width; i++ {
				_, size := utf8.DecodeRuneInString(word[cut:])
				cut += size
			}
			w.begin()
			w.b.WriteString(word[:cut])
			w.end()
			word, n = word[cut:], n-3*width
		}
		switch {
		case n == 0:
		case !w.open:
			w.begin()
			w.b.WriteString(word)
			curLen = n
		case curLen+1+n <= width:
			w.b.WriteByte(' ')
			w.b.WriteString(word)
			curLen += 1 + n
		default:
			w.end()
			w.begin()
			w.b.WriteString(word)
			curLen = n
		}
	}
	if w.open || w.lines == 0 {
		if !w.open {
			w.begin()
		}
		w.end()
	}
}

// oneLine reports whether writeWrapped would write s unchanged on one
// line: printable ASCII of at most width bytes that starts and ends with a
// word and has single spaces between words.
func oneLine(s string, width int) bool {
	if len(s) == 0 || len(s) > width || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == ' ' && s[i+1] == ' ' {
			return false
		}
	}
	return true
}

// asciiSpace marks the ASCII bytes unicode.IsSpace reports.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// wrapper is the state of writeWrapped: how many lines were written and
// whether one is open.
type wrapper struct {
	b          *strings.Builder
	head, tail string
	pad1, pad2 int
	lines      int
	open       bool
}

func (w *wrapper) begin() {
	if w.lines == 0 {
		w.b.WriteString("  ")
		w.b.WriteString(w.head)
		w.b.WriteString(w.tail)
		w.b.WriteString(spaces(w.pad1))
	} else {
		w.b.WriteString(spaces(w.pad2))
	}
	w.open = true
}

func (w *wrapper) end() {
	w.b.WriteByte('\n')
	w.lines++
	w.open = false
}

// EmailBody is the plain-text body: who, what, when, where, what to do.
func EmailBody(a alert.Alert) string { return emailBody(a, nil) }

func emailBody(a alert.Alert, st *Static) string {
	var w bodyWriter
	w.b.Grow(4096)
	d := a.Primary.Detection
	w.line(label(a) + ": " + emailText(a.Title, maxLine))
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
	w.b.WriteString(st.runbook(a).email)
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
			w.indented(emailText(n, maxLine), true)
		}
	}
	w.section("DETECTION")
	w.field("ID", d.ID+" ("+d.Title+")")
	if refs := st.emailReferences(a); refs != "" {
		w.field("References", refs)
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
func RenderEmail(a alert.Alert) Email { return (*Static)(nil).RenderEmail(a) }

// RenderEmail is the package's RenderEmail with st's prepared texts.
func (st *Static) RenderEmail(a alert.Alert) Email {
	return Email{Subject: Subject(a), Body: emailBody(a, st)}
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
