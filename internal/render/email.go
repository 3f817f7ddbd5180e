package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/human"
)

// MaxSubject is the longest email subject: SNS requires fewer than 100
// characters, printable ASCII, no line breaks.
const MaxSubject = 99

// Email is a rendered email.
type Email struct {
	Subject string
	Body    string
}

// Subject is the email subject: severity and headline on one ASCII line,
// with no link of attacker origin (subjectLine).
func Subject(a alert.Alert) string {
	return subjectLine("[trailwatch] " + label(a) + ": " + a.Title)
}

// subjectLine makes s a subject SNS accepts and no mail client links:
// domains, addresses and schemes defanged, printable ASCII only, at most
// MaxSubject bytes.
func subjectLine(s string) string {
	return asciiLine(defangAll(Clean(s, MaxSubject*2)), MaxSubject)
}

// asciiLine keeps printable ASCII only (everything else becomes '?') and
// cuts to max bytes with "...".
func asciiLine(s string, max int) string {
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
// and no scheme, "www.", domain name or email address left for a mail
// client to turn into a link (defangAll).
func emailText(s string, max int) string {
	return defangAll(Clean(s, max))
}

// bodyWriter lays out "  Label:   value" lines, wrapping long values.
type bodyWriter struct{ b strings.Builder }

const (
	labelWidth = 17
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
			cut := tokenCut(word, 3*width)
			w.begin()
			w.b.WriteString(word[:cut])
			w.end()
			word, n = word[cut:], n-utf8.RuneCountInString(word[:cut])
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

// tokenCut is where to cut a word of untrusted text that is too long for
// three lines: after the last separator of JSON, paths or lists (, ; : /
// = & } ]) within max runes, so the pieces read as tokens, or at max runes
// when there is none in the second half.
func tokenCut(word string, max int) int {
	cut, runes, sep := 0, 0, 0
	for cut < len(word) && runes < max {
		r, size := utf8.DecodeRuneInString(word[cut:])
		cut += size
		runes++
		if strings.ContainsRune(",;:/=&}]", r) && runes > max/2 {
			sep = cut
		}
	}
	if sep > 0 && cut < len(word) {
		return sep
	}
	return cut
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

// emailBody lays the body out for a responder reading it on a phone: the
// headline, then a summary of one line per fact (who, what, on which
// resource, account, region, source IP, time, public now), then what
// changed and what to do, then the details, and the long texts (JSON
// evidence, the user agent) last.
func emailBody(a alert.Alert, st *Static) string {
	var w bodyWriter
	w.b.Grow(4096)
	d := a.Primary.Detection
	w.line(label(a) + ": " + emailText(a.Title, maxLine))
	if a.SeverityNote != "" {
		w.line("Severity " + emailText(a.SeverityNote, maxLine))
	}
	w.line("")
	w.summary(a)

	texts, docs := splitEvidence(a.What.Evidence)
	if len(a.What.Changes) > 0 || len(texts) > 0 {
		if isCompute(a) {
			w.section("DETAILS")
		} else {
			w.section("WHAT CHANGED")
		}
		for _, c := range a.What.Changes {
			w.bullet(emailText(changeText(c), maxLine))
		}
		if hasUnknownBefore(a) {
			w.indented("(? = the previous value is not recorded in the event)", false)
		}
		for _, e := range texts {
			// One text, so a label and its colon cannot make a scheme.
			w.bullet(emailText(e.Label+": "+e.Text, maxEvidence))
		}
	}
	if e := a.Exposure; e != nil && len(e.Reasons)+len(e.Warnings) > 0 {
		w.section("PUBLIC RIGHT NOW? " + strings.ToUpper(e.Public))
		for _, r := range e.Reasons {
			w.bullet(emailText(r, maxLine))
		}
		for _, warn := range e.Warnings {
			w.bullet("Warning: " + emailText(warn, maxLine))
		}
	}
	if isCompute(a) {
		w.computeSections(a)
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
	if !isCompute(a) {
		w.whoSection(a)
		if a.Where.SourceNote != "" {
			w.section("WHERE")
			w.field("Source IP", emailText(a.Where.SourceIP, maxName)+" ("+emailText(a.Where.SourceNote, maxLine)+")")
		}
	}
	w.section("WHEN")
	w.field("Event time", formatTime(a.When.EventTime))
	w.field("Seen", delayText(a.When))
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
	if len(docs) > 0 {
		w.section("EVIDENCE")
		for i, e := range docs {
			if i > 0 {
				w.line("")
			}
			w.indented(emailText(e.Label+":", maxLine), true)
			w.jsonDoc(e.Text)
		}
	}
	if a.Who.UserAgent != "" {
		w.section("USER AGENT")
		w.indented(emailText(a.Who.UserAgent, maxUserAgent), true)
	}
	return w.b.String()
}

// summary writes one line per fact, each cut to fit: the details follow
// further down.
func (w *bodyWriter) summary(a alert.Alert) {
	if isCompute(a) {
		if len(a.Instances) > 0 {
			w.oneLine("Instance", instanceTitle(a.Instances[0]))
		}
		w.account(a.Where)
		w.oneLine("Region", a.Where.Region)
		if al := a.Alarm; al != nil {
			// Whole, not cut: the alarm's name is shown here only.
			w.field("Alarm", emailText(al.Name+" ("+stateText(al)+")", maxLine))
		} else {
			w.oneLine("Finding", actionText(a))
		}
		if len(a.Instances) > 0 && a.Instances[0].LaunchedBy != "" {
			w.oneLine("Launched by", a.Instances[0].LaunchedBy)
		}
		w.oneLine("Time", formatTime(a.When.EventTime))
		return
	}
	who := a.Who.Name
	if a.Who.Kind != "" {
		who += " (" + a.Who.Kind + ")"
	}
	if mfa := shortMFA(a.Who.MFA); mfa != "" {
		who += ", MFA " + mfa
	}
	w.oneLine("Who", who)
	w.oneLine("What", a.What.Action+" "+a.What.Outcome)
	if r := resourceText(a); r != "" {
		w.oneLine("Resource", r)
	}
	w.account(a.Where)
	w.oneLine("Region", a.Where.Region)
	if a.Where.SourceIP != "" {
		w.oneLine("Source IP", a.Where.SourceIP)
	}
	w.oneLine("Time", formatTime(a.When.EventTime)+" ("+seenText(a.When)+")")
	if a.Exposure != nil {
		w.oneLine("Public now", exposureHeadline(a.Exposure))
	}
}

// seenText is delayText in a few words: "seen 5 minutes later".
func seenText(w alert.When) string {
	switch {
	case w.Replayed:
		return "replayed"
	case w.Delay < 0:
		return "in the future by " + human.Duration(-w.Delay)
	case w.Delay < time.Second:
		return "seen at once"
	}
	return "seen " + human.Duration(w.Delay) + " later"
}

// shortMFA is the first words of the MFA answer: "yes", "no", "not
// recorded".
func shortMFA(mfa string) string {
	if i := strings.IndexAny(mfa, "(:"); i >= 0 {
		mfa = mfa[:i]
	}
	return strings.TrimSpace(mfa)
}

// oneLine writes a summary field of an untrusted value on one line, cut
// with "…" where it would wrap.
// account is the account's lines: ID and alias, then in organization mode
// its name and OU path.
func (w *bodyWriter) account(where alert.Where) {
	w.oneLine("Account", accountText(where))
	if where.AccountName != "" {
		w.oneLine("Account name", where.AccountName)
	}
	if len(where.OUPath) > 0 {
		w.oneLine("OU", ouPathText(where))
	}
}

func (w *bodyWriter) oneLine(label, value string) {
	width := textWidth - (labelWidth + 3)
	v := emailText(value, maxLine)
	if utf8.RuneCountInString(v) > width {
		v = string([]rune(v)[:width-1]) + "…"
	}
	w.field(label, v)
}

// splitEvidence parts evidence into short texts, shown with what changed,
// and JSON documents, shown pretty-printed at the end.
func splitEvidence(ev []detect.Evidence) (texts, docs []detect.Evidence) {
	for _, e := range ev {
		if isJSONDocument(e.Text) {
			docs = append(docs, e)
		} else {
			texts = append(texts, e)
		}
	}
	return texts, docs
}

func isJSONDocument(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) > 1 && (s[0] == '{' || s[0] == '[') && json.Valid([]byte(s))
}

// maxJSONLines bounds a pretty-printed document in an email.
const maxJSONLines = 150

// jsonDoc writes a JSON document pretty-printed, two spaces per level under
// the section, each line made safe (emailText) and broken only between
// tokens: a member too long for its line puts its value on the next.
func (w *bodyWriter) jsonDoc(doc string) {
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(strings.TrimSpace(doc)), "", "  "); err != nil {
		w.indented(emailText(doc, maxEvidence), true)
		return
	}
	lines := strings.Split(pretty.String(), "\n")
	for i, line := range lines {
		if i == maxJSONLines {
			w.line("  … and " + strconv.Itoa(len(lines)-maxJSONLines) + " more lines")
			break
		}
		body := strings.TrimLeft(line, " ")
		indent := spaces(4 + len(line) - len(body))
		body = emailText(body, maxEvidence)
		if key, value, ok := splitMember(body); ok && len(indent)+utf8.RuneCountInString(body) > textWidth {
			w.line(indent + key)
			w.line(indent + "    " + value)
			continue
		}
		w.line(indent + body)
	}
}

// splitMember parts a pretty-printed member line, `"key": value`, after
// its colon.
func splitMember(line string) (key, value string, ok bool) {
	if !strings.HasPrefix(line, `"`) {
		return "", "", false
	}
	for i := 1; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '"':
			if strings.HasPrefix(line[i+1:], ": ") && len(line) > i+3 {
				return line[:i+2], line[i+3:], true
			}
			return "", "", false
		}
	}
	return "", "", false
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
}

// computeSections describe an alarm or a finding: the alarm's numbers and
// the instances involved.
func (w *bodyWriter) computeSections(a alert.Alert) {
	if a.Alarm != nil {
		w.section("ALARM")
		w.facts(alarmFacts(a.Alarm))
	}
	if a.GuardDuty != nil {
		w.section("FINDING")
		w.facts(guardDutyFacts(a.GuardDuty))
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
