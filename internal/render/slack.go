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
			if endsWithScheme(s[:i]) {
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

// bold makes a heading; asterisks inside become U+2217 so text cannot end
// the bold early or start another.
func bold(s string, max int) string {
	return "*" + strings.ReplaceAll(slackEscape(s, max), "*", "∗") + "*"
}

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
// formatting does not apply. A backtick would end the span, so it becomes
// U+02CB (modifier letter grave accent).
func code(s string, max int) string {
	if s == "" {
		return "_none_"
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

// slackSummary is the top-level text: what Slack shows in notifications and
// where blocks cannot be displayed. It names severity, event, resource,
// principal, account and region.
func slackSummary(a alert.Alert) string {
	var s string
	if isCompute(a) {
		s = "[" + label(a) + "] " + a.Title + ". Reported by " + a.Who.Name + " in account " + accountText(a.Where) + ", " + a.Where.Region + "."
		if len(a.Instances) > 0 {
			s += " Instance " + instanceTitle(a.Instances[0]) + "."
		}
	} else {
		s = "[" + label(a) + "] " + a.Title + ". By " + a.Who.Name + " (" + a.Who.Kind + ") from " + a.Where.SourceIP +
			" in account " + accountText(a.Where) + ", " + a.Where.Region + "."
	}
	return slackEscape(s, 1000)
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
func slackPayload(a alert.Alert, st *Static) []byte {
	d := a.Primary.Detection
	summary := slackSummary(a)
	w := newSlackWriter(slackSizeHint(a, summary), summary)
	w.header(label(a)+": "+d.Title, 150)

	w.section()
	w.lit(emoji(a))
	w.lit(" ")
	w.esc(a.Title, maxLine)
	if a.SeverityNote != "" {
		w.lit("\n_Severity ")
		w.esc(a.SeverityNote, maxLine)
		w.lit("_")
	}
	w.endSection()

	w.fields()
	if isCompute(a) {
		// An alarm or a finding has no caller: the source replaces who and
		// how, and there is no source IP.
		w.codeItem("*Source*\n", a.Who.Name, "\n", a.Who.Detail)
	} else {
		name, rest := whoLine(a.Who)
		w.codeItem("*Who*\n", name, "\n", rest)
		w.item()
		w.lit("*Authentication*\nMFA: ")
		w.esc(a.Who.MFA, maxLine)
		w.lit("\nVia: ")
		w.esc(a.Who.Via, maxLine)
		if a.Who.AccessKey != "" {
			w.lit("\nKey: ")
			w.code(a.Who.AccessKey, maxName)
		}
		if a.Who.InvokedBy != "" {
			w.lit("\nInvoked by: ")
			w.code(a.Who.InvokedBy, maxName)
		}
		w.endItem()
	}
	w.codeItem("*What*\n", a.What.Action, " ", a.What.Outcome)
	w.item()
	w.lit("*Resource*\n")
	w.esc(a.What.Resource.Type, maxName)
	w.lit(" ")
	w.code(a.What.Resource.Name, maxName)
	w.endItem()
	w.item()
	w.lit("*When*\n")
	w.lit(formatTime(a.When.EventTime))
	w.lit("\nSeen ")
	w.esc(delayText(a.When), maxLine)
	w.endItem()
	w.item()
	w.lit("*Where*\nAccount ")
	w.code(accountText(a.Where), maxName)
	w.lit("\nRegion ")
	w.code(a.Where.Region, maxName)
	if !isCompute(a) {
		w.lit("\nSource IP ")
		w.code(a.Where.SourceIP, maxName)
		if a.Where.SourceNote != "" {
			w.lit(" (")
			w.esc(a.Where.SourceNote, maxLine)
			w.lit(")")
		}
	}
	w.endItem()
	w.endList()

	if a.Alarm != nil {
		w.section()
		w.lit("*Alarm*")
		w.facts(alarmFacts(a.Alarm))
		w.endSection()
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
		w.lit("*Instance* ")
		w.code(instanceTitle(in), maxName)
		w.facts(instanceFacts(in))
		w.endSection()
	}

	if len(a.What.Changes) > 0 {
		w.section()
		w.lit("*What changed*")
		for i, c := range a.What.Changes {
			if i == 5 {
				w.lit("\n… and " + strconv.Itoa(len(a.What.Changes)-5) + " more")
				break
			}
			w.lit("\n• ")
			w.code(changeText(c), maxLine)
		}
		if hasUnknownBefore(a) {
			w.lit("\n_? = the previous value is not recorded in the event_")
		}
		w.endSection()
	}
	if a.Exposure != nil {
		w.section()
		w.lit("*Public right now?* ")
		w.lit(exposureHeadline(a.Exposure))
		for _, r := range a.Exposure.Reasons {
			w.lit("\n• ")
			w.esc(r, maxLine)
		}
		for _, warn := range a.Exposure.Warnings {
			w.lit("\n:warning: ")
			w.esc(warn, maxLine)
		}
		w.endSection()
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
		w.lit(bold(e.Label, 300))
		w.lit("\n```")
		w.esc(e.Text, maxEvidence)
		w.lit("```")
		w.endSection()
	}
	w.section()
	w.lit(st.runbook(a).slack)
	w.endSection()
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
		w.item()
		w.lit("User agent ")
		w.code(a.Who.UserAgent, maxUserAgent)
		w.endItem()
	}
	if len(a.Others) > 0 {
		others := make([]string, 0, len(a.Others))
		for _, o := range a.Others {
			others = append(others, o.Detection.ID+" ("+o.Severity.String()+")")
		}
		w.item()
		w.lit("Also matched: ")
		w.esc(strings.Join(others, ", "), 2000)
		w.endItem()
	}
	if len(a.Unchecked) > 0 {
		w.item()
		w.lit("Could not check: ")
		w.esc(strings.Join(a.Unchecked, "; "), 2000)
		w.endItem()
	}
	for _, n := range a.Notes {
		w.item()
		w.esc(n, 500)
		w.endItem()
	}
	w.endList()
	return w.done()
}

// codeItem writes an item of a heading, a name as a code span (at most
// maxName characters), a separator and an escaped text (at most maxLine).
func (w *slackWriter) codeItem(heading, name, sep, text string) {
	w.item()
	w.lit(heading)
	w.code(name, maxName)
	w.lit(sep)
	w.esc(text, maxLine)
	w.endItem()
}

// facts writes facts as escaped "\nLabel: value" lines.
func (w *slackWriter) facts(facts []fact) {
	for _, f := range facts {
		w.lit("\n" + f.Label + ": ")
		w.esc(f.Value, maxLine)
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
