package render

import (
	"fmt"
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

// codeBlock shows a longer untrusted excerpt; backticks are replaced as in
// code so the block cannot be closed early.
func codeBlock(s string, max int) string {
	return "```" + slackEscape(s, max) + "```"
}

// plainText is for Block Kit plain_text objects (header, buttons), which
// Slack shows without parsing: angle brackets and ampersands are swapped for
// look-alikes, so nothing depends on how a client decodes entities.
func plainText(s string, max int) TextObject {
	return TextObject{Type: plainTextType, Text: plainEscaper.Replace(Clean(s, max)), Emoji: true}
}

// mrkdwn is a text object whose links, mentions and channel names Slack must
// not detect on its own (verbatim).
func mrkdwn(s string) TextObject {
	return TextObject{Type: markdownType, Text: s, Verbatim: true}
}

// header is a header block.
func header(t TextObject) Block { return Block{Type: "header", Text: &t} }

// section is a section block of one text.
func section(t TextObject) Block { return Block{Type: "section", Text: &t} }

// contextBlock is a context block of texts.
func contextBlock(texts ...TextObject) Block { return Block{Type: "context", Texts: texts} }

// Slack renders the alert as a Block Kit message.
func Slack(a alert.Alert) SlackMessage { return slack(a, nil) }

func slack(a alert.Alert, st *Static) SlackMessage {
	d := a.Primary.Detection
	name, rest := whoLine(a.Who)

	blocks := make([]Block, 0, 12)
	blocks = append(blocks, header(plainText(label(a)+": "+d.Title, 150)))
	intro := emoji(a) + " " + slackEscape(a.Title, maxLine)
	if a.SeverityNote != "" {
		intro += "\n_Severity " + slackEscape(a.SeverityNote, maxLine) + "_"
	}
	blocks = append(blocks, section(mrkdwn(intro)))

	who := "*Who*\n" + code(name, maxName) + "\n" + slackEscape(rest, maxLine)
	auth := "*Authentication*\nMFA: " + slackEscape(a.Who.MFA, maxLine) + "\nVia: " + slackEscape(a.Who.Via, maxLine)
	if a.Who.AccessKey != "" {
		auth += "\nKey: " + code(a.Who.AccessKey, maxName)
	}
	if a.Who.InvokedBy != "" {
		auth += "\nInvoked by: " + code(a.Who.InvokedBy, maxName)
	}
	what := "*What*\n" + code(a.What.Action, maxName) + " " + slackEscape(a.What.Outcome, maxLine)
	res := "*Resource*\n" + slackEscape(a.What.Resource.Type, maxName) + " " + code(a.What.Resource.Name, maxName)
	when := "*When*\n" + formatTime(a.When.EventTime) + "\nSeen " + slackEscape(delayText(a.When), maxLine)
	where := "*Where*\nAccount " + code(accountText(a.Where), maxName) + "\nRegion " + code(a.Where.Region, maxName) +
		"\nSource IP " + code(a.Where.SourceIP, maxName)
	if a.Where.SourceNote != "" {
		where += " (" + slackEscape(a.Where.SourceNote, maxLine) + ")"
	}
	fields := []TextObject{mrkdwn(who), mrkdwn(auth), mrkdwn(what), mrkdwn(res), mrkdwn(when), mrkdwn(where)}
	if isCompute(a) {
		// An alarm or a finding has no caller: the source replaces who and
		// how, and there is no source IP.
		src := "*Source*\n" + code(a.Who.Name, maxName) + "\n" + slackEscape(a.Who.Detail, maxLine)
		where = "*Where*\nAccount " + code(accountText(a.Where), maxName) + "\nRegion " + code(a.Where.Region, maxName)
		fields = []TextObject{mrkdwn(src), mrkdwn(what), mrkdwn(res), mrkdwn(when), mrkdwn(where)}
	}
	blocks = append(blocks, Block{Type: "section", Fields: fields})
	if a.Alarm != nil {
		blocks = append(blocks, section(mrkdwn("*Alarm*"+slackFacts(alarmFacts(a.Alarm)))))
	}
	for i, in := range a.Instances {
		if i == maxInstancesShown {
			blocks = append(blocks, contextBlock(mrkdwn(fmt.Sprintf("%d more instances not shown", len(a.Instances)-maxInstancesShown))))
			break
		}
		blocks = append(blocks, section(mrkdwn("*Instance* "+code(instanceTitle(in), maxName)+slackFacts(instanceFacts(in)))))
	}

	if len(a.What.Changes) > 0 {
		var b strings.Builder
		b.WriteString("*What changed*")
		for i, c := range a.What.Changes {
			if i == 5 {
				fmt.Fprintf(&b, "\n… and %d more", len(a.What.Changes)-5)
				break
			}
			b.WriteString("\n• " + code(changeText(c), maxLine))
		}
		if hasUnknownBefore(a) {
			b.WriteString("\n_? = the previous value is not recorded in the event_")
		}
		blocks = append(blocks, section(mrkdwn(b.String())))
	}
	if a.Exposure != nil {
		var b strings.Builder
		b.WriteString("*Public right now?* " + exposureHeadline(a.Exposure))
		for _, r := range a.Exposure.Reasons {
			b.WriteString("\n• " + slackEscape(r, maxLine))
		}
		for _, w := range a.Exposure.Warnings {
			b.WriteString("\n:warning: " + slackEscape(w, maxLine))
		}
		blocks = append(blocks, section(mrkdwn(b.String())))
	}
	for i, e := range a.What.Evidence {
		if i == 3 {
			blocks = append(blocks, contextBlock(mrkdwn(fmt.Sprintf("%d more pieces of evidence not shown", len(a.What.Evidence)-3))))
			break
		}
		blocks = append(blocks, section(mrkdwn(bold(e.Label, 300)+"\n"+codeBlock(e.Text, maxEvidence))))
	}
	blocks = append(blocks, section(mrkdwn(st.runbook(a).slack)))
	if len(a.Links) > 0 {
		buttons := make([]Button, 0, len(a.Links))
		for i, l := range a.Links {
			buttons = append(buttons, Button{Text: plainText(l.Label, 75), ActionID: "link-" + strconv.Itoa(i), URL: l.URL})
		}
		blocks = append(blocks, Block{Type: "actions", BlockID: "links", Buttons: buttons})
	}

	ctx := st.slackContext(d, a)
	if a.EventID != "" {
		ctx += " · event " + code(a.EventID, maxName)
	}
	elems := make([]TextObject, 1, 5)
	elems[0] = mrkdwn(ctx)
	if a.Who.UserAgent != "" {
		elems = append(elems, mrkdwn("User agent "+code(a.Who.UserAgent, maxUserAgent)))
	}
	if len(a.Others) > 0 {
		var others []string
		for _, o := range a.Others {
			others = append(others, o.Detection.ID+" ("+o.Severity.String()+")")
		}
		elems = append(elems, mrkdwn("Also matched: "+slackEscape(strings.Join(others, ", "), 2000)))
	}
	if len(a.Unchecked) > 0 {
		elems = append(elems, mrkdwn("Could not check: "+slackEscape(strings.Join(a.Unchecked, "; "), 2000)))
	}
	for _, n := range a.Notes {
		elems = append(elems, mrkdwn(slackEscape(n, 500)))
	}
	blocks = append(blocks, contextBlock(elems...))

	return SlackMessage{Text: slackSummary(a), Blocks: blocks}
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

// slackFacts renders facts as escaped "\nLabel: value" lines.
func slackFacts(facts []fact) string {
	var b strings.Builder
	for _, f := range facts {
		b.WriteString("\n" + f.Label + ": " + slackEscape(f.Value, maxLine))
	}
	return b.String()
}

func hasUnknownBefore(a alert.Alert) bool {
	for _, c := range a.What.Changes {
		if c.Before == detect.NotRecorded {
			return true
		}
	}
	return false
}

// SlackJSON renders the webhook payload as JSON. HTML escaping is off: the
// text is already escaped for Slack, and \u0026 for every & only makes the
// payload longer and harder to read.
func SlackJSON(a alert.Alert) ([]byte, error) { return (*Static)(nil).SlackJSON(a) }

// SlackJSON is the package's SlackJSON with st's prepared texts.
func (st *Static) SlackJSON(a alert.Alert) ([]byte, error) {
	m := slack(a, st)
	return m.AppendJSON(make([]byte, 0, m.sizeHint())), nil
}
