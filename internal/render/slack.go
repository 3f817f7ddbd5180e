package render

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
)

var (
	slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	plainEscaper = strings.NewReplacer("<", "‹", ">", "›", "&", "＆")
)

// slackEscape escapes the three characters Slack's mrkdwn parser treats as
// control characters, after Clean and defang: no <!channel>, <@U..> or
// <url|label> can survive, no bare URL can become a link, and no newline can
// start a fake line. The result has at most
// max characters (plus "…"), counted after escaping, because Slack's limits
// apply to what it receives.
func slackEscape(s string, max int) string {
	if slackSafe(s, max) {
		return s // most values need nothing: no pass per step, no copy
	}
	return escapeForSlack(s, max)
}

// escapeForSlack is slackEscape's every step.
func escapeForSlack(s string, max int) string {
	return cutEscaped(slackEscaper.Replace(noBackticks(defang(Clean(s, max)))), max)
}

// slackSafe reports whether slackEscape would return s unchanged: printable
// ASCII of at most max bytes, without &, <, >, backticks, URL schemes or
// "www.". One pass, the common case for names, ARNs and runbooks.
func slackSafe(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case slackUnsafe[c]:
			return false
		case c == ':':
			if endsWithScheme(s[:i]) || strings.HasPrefix(s[i:], "://") {
				return false
			}
		case c|0x20 == 'w':
			if len(s)-i >= 4 && strings.EqualFold(s[i:i+4], "www.") {
				return false
			}
		}
	}
	return true
}

// slackUnsafe marks the bytes slackSafe leaves to the full escaping:
// control characters, non-ASCII, and Slack's and Markdown's specials.
var slackUnsafe = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c >= 0x7f || c == '&' || c == '<' || c == '>' || c == '`'
	}
	return t
}()

// noBackticks swaps ` for U+02CB: outside our own code spans a backtick
// could open a code block that swallows the rest of the message.
func noBackticks(s string) string { return strings.ReplaceAll(s, "`", "ˋ") }

// cutEscaped shortens escaped text to max runes without splitting an entity.
func cutEscaped(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			s = s[:i]
			break
		}
		n++
	}
	if j := strings.LastIndexByte(s, '&'); j >= 0 && !strings.Contains(s[j:], ";") {
		s = s[:j]
	}
	return s + "…"
}

// code shows an untrusted value as an inline code span, where mrkdwn
// formatting and emoji codes do not apply. A backtick would end the span,
// so it becomes U+02CB (modifier letter grave accent); the message's own
// texts avoid that look-alike by turning plain_text (slackWriter.code).
func code(s string, max int) string {
	if s == "" {
		return "none"
	}
	return "`" + slackEscape(s, max) + "`"
}

// slackContext is the start of the context line: the detection's ID and
// its references.
func slackContext(d *detect.Detection) string {
	ctx := "Detection " + code(d.ID, maxName)
	for _, r := range references(d) {
		ctx += " · " + slackEscape(r, maxName)
	}
	return ctx
}

// actionText names what happened: the API call (and that it failed), the
// alarm or the GuardDuty finding type.
func actionText(a alert.Alert) string {
	switch {
	case a.Source == alert.SourceCloudWatch:
		return "CloudWatch alarm"
	case a.Source == alert.SourceGuardDuty:
		return "GuardDuty " + strings.TrimPrefix(a.What.Action, "guardduty:")
	case a.What.Failed:
		return a.What.Action + " (failed)"
	}
	return a.What.Action
}

// resourceText names what it happened to: "S3 bucket acme-prod", the
// instance with its Name tag, or "" when nothing is named.
func resourceText(a alert.Alert) string {
	if isCompute(a) && len(a.Instances) > 0 {
		return "instance " + instanceTitle(a.Instances[0])
	}
	r := a.What.Resource
	if r.Name == "" {
		return ""
	}
	if r.Type == "" {
		return r.Name
	}
	return r.Type + " " + r.Name
}

// headline is the header's text: severity, action and resource.
func headline(a alert.Alert) string {
	s := label(a) + ": " + actionText(a)
	if r := resourceText(a); r != "" {
		s += " on " + r
	}
	return s
}

// slackSummary is the top-level text: what Slack shows in notifications and
// where blocks cannot be displayed. It names severity, action, resource,
// principal, account and region. That text is not verbatim and phones show
// it raw, so every value in it goes through notifyText, and the whole
// through defang: a value inert alone can make "www." with the full stop
// after it (a region "WWW").
func slackSummary(a alert.Alert) string {
	var b strings.Builder
	b.Grow(200)
	b.WriteString("[" + label(a) + "] ")
	b.WriteString(notifyText(actionText(a), maxName))
	if r := resourceText(a); r != "" {
		b.WriteString(" on ")
		b.WriteString(notifyText(r, maxName))
	}
	if !isCompute(a) {
		b.WriteString(" by ")
		b.WriteString(notifyText(a.Who.Name, maxName))
		if a.Who.Kind != "" {
			b.WriteString(" (" + notifyText(a.Who.Kind, maxName) + ")")
		}
		if a.Where.SourceIP != "" {
			b.WriteString(" from ")
			b.WriteString(notifyText(a.Where.SourceIP, maxName))
		}
	}
	b.WriteString(" in account ")
	b.WriteString(notifyText(accountText(a.Where), maxName))
	b.WriteString(", ")
	b.WriteString(notifyText(a.Where.Region, maxName))
	b.WriteString(".")
	if a.Exposure != nil && a.Exposure.Public == "yes" {
		b.WriteString(" The bucket is public right now.")
	}
	return defang(b.String())
}

func hasUnknownBefore(a alert.Alert) bool {
	for _, c := range a.What.Changes {
		if c.Before == detect.NotRecorded {
			return true
		}
	}
	return false
}

// SlackJSON renders the alert's webhook payload: a Block Kit message, its
// text escaped for Slack.
func SlackJSON(a alert.Alert) ([]byte, error) { return (*Static)(nil).SlackJSON(a) }

// SlackJSON is the package's SlackJSON with st's prepared texts.
func (st *Static) SlackJSON(a alert.Alert) ([]byte, error) {
	return slackPayload(a, st), nil
}

// slackPayload renders the alert's webhook payload (see slackWriter).
//
// Attacker text never reaches mrkdwn where it could format: a value is
// written as it is only when it holds nothing mrkdwn formats, mentions or
// links (mrkdwnPlain); names and identifiers are code spans; free text
// (headlines, reasons, errors, user agents, runbooks) is plain_text with
// "emoji": false.
func slackPayload(a alert.Alert, st *Static) []byte {
	summary := slackSummary(a)
	w := newSlackWriter(slackSizeHint(a, summary), summary)
	w.header(headline(a), 149) // Clean adds "…" to what it cuts

	// The first section: the headline, why its severity is what it is, and
	// whether the bucket is public right now.
	w.plainSection()
	w.lit(marker(a))
	w.lit(" ")
	w.plain(a.Title, maxLine)
	if a.SeverityNote != "" {
		w.lit("\nSeverity ")
		w.plain(a.SeverityNote, maxLine)
	}
	if a.Exposure != nil {
		w.lit("\nPublic right now? ")
		w.lit(exposureHeadline(a.Exposure))
	}
	w.endPlainSection()

	w.fields()
	if isCompute(a) {
		// An alarm or a finding has no caller: the source replaces who and
		// how, and there is no source IP.
		w.item()
		w.label("Source")
		w.lit("\n")
		w.value(a.Who.Name, maxName)
		if a.Who.Detail != "" {
			w.lit("\n")
			w.value(a.Who.Detail, maxLine)
		}
		w.endItem()
	} else {
		w.item()
		w.label("Who")
		w.lit("\n")
		w.code(a.Who.Name, maxName)
		w.lit("\n")
		w.value(a.Who.Kind, maxName)
		if a.Who.Detail != "" {
			w.lit("\n")
			w.value(a.Who.Detail, maxLine)
		}
		w.endItem()
		w.item()
		w.label("Authentication")
		w.lit("\nMFA: ")
		w.value(a.Who.MFA, maxLine)
		w.lit("\nVia: ")
		w.value(a.Who.Via, maxLine)
		if a.Who.AccessKey != "" {
			w.lit("\nKey: ")
			w.code(a.Who.AccessKey, maxName)
		}
		if a.Who.InvokedBy != "" {
			w.lit("\nInvoked by: ")
			w.code(a.Who.InvokedBy, maxName)
		}
		w.endItem()
		w.item()
		w.label("What")
		w.lit("\n")
		w.code(a.What.Action, maxName)
		w.lit(" ")
		w.value(a.What.Outcome, maxLine)
		w.endItem()
	}
	w.item()
	w.label("Resource")
	w.lit("\n")
	if a.What.Resource.Type != "" {
		w.value(a.What.Resource.Type, maxName)
		w.lit(" ")
	}
	w.code(a.What.Resource.Name, maxName)
	w.endItem()
	w.item()
	w.label("When")
	w.lit("\n")
	w.lit(formatTime(a.When.EventTime))
	w.lit("\nSeen ")
	w.lit(delayText(a.When))
	w.endItem()
	w.item()
	w.label("Where")
	w.lit("\nAccount ")
	w.code(accountText(a.Where), maxName)
	if a.Where.AccountName != "" {
		w.lit("\nAccount name ")
		w.code(a.Where.AccountName, maxName)
	}
	if len(a.Where.OUPath) > 0 {
		w.lit("\nOU ")
		w.code(ouPathText(a.Where), maxLine)
	}
	w.lit("\nRegion ")
	w.code(a.Where.Region, maxName)
	if !isCompute(a) {
		w.lit("\nSource IP ")
		w.code(a.Where.SourceIP, maxName)
		if a.Where.SourceNote != "" {
			w.lit(" (")
			w.value(a.Where.SourceNote, maxLine)
			w.lit(")")
		}
	}
	w.endItem()
	w.endList()

	if al := a.Alarm; al != nil {
		w.section()
		w.label("Alarm")
		w.lit(" ")
		w.code(al.Name, maxName)
		w.lit(" ")
		if al.PreviousState != "" {
			w.value(al.PreviousState, maxName)
			w.lit(" → ")
		}
		w.value(al.State, maxName)
		w.facts(alarmFacts(al))
		w.endSection()
	}
	if g := a.GuardDuty; g != nil {
		if facts := guardDutyFacts(g); len(facts) > 0 {
			w.section()
			w.label("GuardDuty finding")
			w.facts(facts)
			w.endSection()
		}
	}
	for i, in := range a.Instances {
		if i == maxInstancesShown {
			w.context()
			w.item()
			w.lit(strconv.Itoa(len(a.Instances)-maxInstancesShown) + " more instances not shown")
			w.endItem()
			w.endList()
			break
		}
		w.section()
		w.label("Instance")
		w.lit(" ")
		w.code(instanceTitle(in), maxName)
		w.facts(instanceFacts(in))
		w.endSection()
	}

	if len(a.What.Changes) > 0 {
		w.section()
		w.label("What changed")
		for i, c := range a.What.Changes {
			if i == 5 {
				w.lit("\n… and " + strconv.Itoa(len(a.What.Changes)-5) + " more")
				break
			}
			w.lit("\n• ")
			w.code(changeText(c), maxLine)
		}
		if hasUnknownBefore(a) {
			w.lit("\n? = the previous value is not recorded in the event")
		}
		w.endSection()
	}
	if e := a.Exposure; e != nil && len(e.Reasons)+len(e.Warnings) > 0 {
		w.plainSection()
		w.lit("Public access, checked now:")
		for _, r := range e.Reasons {
			w.lit("\n• ")
			w.plain(r, maxLine)
		}
		for _, warn := range e.Warnings {
			w.lit("\n\u26a0 ")
			w.plain(warn, maxLine)
		}
		w.endPlainSection()
	}
	for i, e := range a.What.Evidence {
		if i == 3 {
			w.context()
			w.item()
			w.lit(strconv.Itoa(len(a.What.Evidence)-3) + " more pieces of evidence not shown")
			w.endItem()
			w.endList()
			break
		}
		w.section()
		w.heading(e.Label, 300)
		w.codeBlock(e.Text, maxEvidence)
		w.endSection()
	}
	w.plainSection()
	w.lit(st.runbook(a).slack)
	w.endPlainSection()
	if len(a.Links) > 0 {
		labels, urls := make([]string, len(a.Links)), make([]string, len(a.Links))
		for i, l := range a.Links {
			labels[i], urls[i] = l.Label, l.URL
		}
		w.links(labels, urls)
	}

	w.context()
	w.item()
	w.lit(st.slackContext(a))
	if a.EventID != "" {
		w.lit(" · event ")
		w.code(a.EventID, maxName)
	}
	w.endItem()
	if a.Who.UserAgent != "" {
		w.plainItem()
		w.lit("User agent: ")
		w.plain(a.Who.UserAgent, maxUserAgent)
		w.endPlainItem()
	}
	if len(a.Others) > 0 {
		others := make([]string, 0, len(a.Others))
		for _, o := range a.Others {
			others = append(others, o.Detection.ID+" ("+o.Severity.String()+")")
		}
		w.plainItem()
		w.lit("Also matched: ")
		w.plain(strings.Join(others, ", "), 2000)
		w.endPlainItem()
	}
	if len(a.Unchecked) > 0 {
		w.plainItem()
		w.lit("Could not check: ")
		w.plain(strings.Join(a.Unchecked, "; "), 2000)
		w.endPlainItem()
	}
	for _, n := range a.Notes {
		w.plainItem()
		w.plain(n, 500)
		w.endPlainItem()
	}
	w.endList()
	return w.done()
}

// stateText is an alarm's state change, "OK -> ALARM", or its state.
func stateText(al *alert.Alarm) string {
	if al.PreviousState != "" {
		return al.PreviousState + " -> " + al.State
	}
	return al.State
}

// maxHeading bounds a bold heading: a longer text is no heading (it is
// shown as a code span, of at most max bytes).
const maxHeading = 80

// heading writes a bold heading when the text is plain and short, else a
// code span.
func (w *slackWriter) heading(s string, max int) {
	if mrkdwnPlain(s, min(max, maxHeading)) {
		w.label(s)
		return
	}
	w.code(s, max)
}

// facts writes facts as "\nLabel: value" lines.
func (w *slackWriter) facts(facts []fact) {
	for _, f := range facts {
		w.lit("\n" + f.Label + ": ")
		w.value(f.Value, maxLine)
	}
}

// slackSizeHint is about the length of the alert's payload, a little
// over, so the writer rarely grows its buffer.
func slackSizeHint(a alert.Alert, summary string) int {
	n := 1800 + 2*len(summary) + len(a.Runbook) + len(a.Who.UserAgent) + len(a.Who.ARN) + len(a.What.Resource.Name)
	for _, e := range a.What.Evidence {
		n += 80 + len(e.Label) + len(e.Text) + len(e.Text)/8
	}
	for _, c := range a.What.Changes {
		n += 40 + len(c.Setting) + len(c.Before) + len(c.After)
	}
	for _, l := range a.Links {
		n += 120 + len(l.Label) + len(l.URL)
	}
	for _, in := range a.Instances {
		n += 400 + len(in.Name)
	}
	for _, s := range a.Notes {
		n += 60 + len(s)
	}
	return n + n/8
}
