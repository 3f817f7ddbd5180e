package render

import (
	"strconv"
	"strings"
)

// slackWriter writes a Block Kit webhook payload straight into its JSON,
// text by text, with no message value in between: most of a message's
// text is literal labels around escaped values, and building each text as
// a string first, then encoding it, copied it twice.
//
// Texts are written in pieces (lit for trusted text, esc, code and bold
// for untrusted values); each piece is valid UTF-8, so encoding the pieces
// one by one gives the bytes encoding their concatenation would. The
// elements of context and actions blocks escape <, > and & as \u003c,
// \u003e and \u0026, as the slack-go types this package once used did.
type slackWriter struct {
	b []byte
	// blocks and items count what was written at the current level, for
	// the commas between them; html is set inside context and actions
	// elements.
	blocks, items int
	html          bool
	// obj is the mrkdwn text being written (a section's text or a field
	// or context element), kept also as plain text: a value with a
	// backtick cannot be a code span (Slack has no escape for it), so an
	// object holding one is written again as plain_text, which shows the
	// value exactly as it is, to read and to copy.
	obj struct {
		open    bool
		start   int    // where the object starts in b
		plain   []byte // the object's text as plain text
		tainted bool   // it holds a value with a backtick
	}
}

// begin starts a mrkdwn object whose JSON starts at b[start:].
func (w *slackWriter) begin(start int) {
	w.obj.open, w.obj.start, w.obj.plain, w.obj.tainted = true, start, w.obj.plain[:0], false
}

// end closes the open mrkdwn object with suffix, or, when it holds a value
// with a backtick, writes it again as a plain_text object; prefix is what
// opens a plain_text object in its place, plainSuffix what closes it.
func (w *slackWriter) end(suffix, prefix, plainSuffix string) {
	w.obj.open = false
	if !w.obj.tainted {
		w.b = append(w.b, suffix...)
		return
	}
	w.b = append(w.b[:w.obj.start], prefix...)
	w.b = appendJSONChars(w.b, string(w.obj.plain), w.html)
	w.b = append(w.b, plainSuffix...)
}

// newSlackWriter starts a payload of about size bytes with its
// notification text (already escaped).
func newSlackWriter(size int, text string) *slackWriter {
	w := &slackWriter{b: make([]byte, 0, size)}
	w.b = append(w.b, `{"text":`...)
	w.b = appendJSONString(w.b, text, false)
	w.b = append(w.b, `,"blocks":[`...)
	return w
}

// done ends the payload and returns it.
func (w *slackWriter) done() []byte {
	return append(w.b, `],"unfurl_links":false,"unfurl_media":false}`...)
}

func (w *slackWriter) block(typ string) {
	if w.blocks > 0 {
		w.b = append(w.b, ',')
	}
	w.blocks++
	w.items = 0
	w.b = append(w.b, `{"type":"`...)
	w.b = append(w.b, typ...)
	w.b = append(w.b, '"')
}

// header writes a header block of plain text.
func (w *slackWriter) header(text string, max int) {
	w.block("header")
	w.b = append(w.b, `,"text":`...)
	w.plainText(text, max)
	w.b = append(w.b, '}')
}

// plainText writes a plain_text object of untrusted text (see
// plainValue).
func (w *slackWriter) plainText(s string, max int) {
	w.b = append(w.b, `{"type":"plain_text","text":`...)
	w.b = appendJSONString(w.b, plainValue(s, max), w.html)
	w.b = append(w.b, `,"emoji":false}`...)
}

// plainSection opens a section block of one plain_text text, which the
// pieces after it (plit for trusted text, plain for untrusted values) make
// up; endPlainSection closes it. Slack shows plain text as it is: no
// formatting, no mentions, no links, and with "emoji": false no emoji
// codes, which is how attacker text must be shown when it cannot be a
// code span.
func (w *slackWriter) plainSection() {
	w.block("section")
	w.b = append(w.b, `,"text":{"type":"plain_text","text":"`...)
}

func (w *slackWriter) endPlainSection() { w.b = append(w.b, `","emoji":false}}`...) }

// plainItem opens a plain_text element of a context block or a field;
// endPlainItem closes it.
func (w *slackWriter) plainItem() {
	if w.items > 0 {
		w.b = append(w.b, ',')
	}
	w.items++
	w.b = append(w.b, `{"type":"plain_text","text":"`...)
}

func (w *slackWriter) endPlainItem() { w.b = append(w.b, `","emoji":false}`...) }

// plain writes an untrusted value into an open plain_text object.
func (w *slackWriter) plain(s string, max int) { w.lit(plainValue(s, max)) }

// plainValue is an untrusted value for a plain_text object: Clean, URL
// schemes broken, and angle brackets and ampersands swapped for
// look-alikes, so nothing depends on how a client decodes entities; at
// most max characters (plus "…") after all that.
func plainValue(s string, max int) string {
	if mrkdwnPlain(s, max) {
		return s
	}
	return cutEscaped(plainEscaper.Replace(defang(Clean(s, max))), max)
}

// section opens a section block of one mrkdwn text, which the pieces
// after it make up; endSection closes it.
func (w *slackWriter) section() {
	w.block("section")
	w.begin(len(w.b))
	w.b = append(w.b, `,"text":{"type":"mrkdwn","text":"`...)
}

func (w *slackWriter) endSection() {
	w.end(`","verbatim":true}}`, `,"text":{"type":"plain_text","text":"`, `","emoji":false}}`)
}

// fields opens a section block of mrkdwn fields, context a context block
// of mrkdwn elements: each is an item, closed by endItem; endList closes
// the block.
func (w *slackWriter) fields() {
	w.block("section")
	w.b = append(w.b, `,"fields":[`...)
}

func (w *slackWriter) context() {
	w.block("context")
	w.b = append(w.b, `,"elements":[`...)
	w.html = true
}

func (w *slackWriter) item() {
	if w.items > 0 {
		w.b = append(w.b, ',')
	}
	w.items++
	w.begin(len(w.b))
	w.b = append(w.b, `{"type":"mrkdwn","text":"`...)
}

func (w *slackWriter) endItem() {
	w.end(`","verbatim":true}`, `{"type":"plain_text","text":"`, `","emoji":false}`)
}

func (w *slackWriter) endList() {
	w.b = append(w.b, "]}"...)
	w.html = false
}

// links writes an actions block of link buttons.
func (w *slackWriter) links(labels, urls []string) {
	w.block("actions")
	w.b = append(w.b, `,"block_id":"links","elements":[`...)
	w.html = true
	for i := range labels {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, `{"type":"button","text":`...)
		w.plainText(labels[i], 75)
		w.b = append(w.b, `,"action_id":"link-`...)
		w.b = strconv.AppendInt(w.b, int64(i), 10)
		w.b = append(w.b, '"')
		if urls[i] != "" {
			w.b = append(w.b, `,"url":`...)
			w.b = appendJSONString(w.b, urls[i], true)
		}
		w.b = append(w.b, '}')
	}
	w.endList()
}

// lit writes trusted text (labels, escaped values) into the open text.
func (w *slackWriter) lit(s string) {
	w.b = appendJSONChars(w.b, s, w.html)
	if w.obj.open {
		w.obj.plain = append(w.obj.plain, s...)
	}
}

// mark writes mrkdwn markup of the open text, which its plain version
// leaves out.
func (w *slackWriter) mark(s string) { w.b = append(w.b, s...) }

// label writes a bold label ("*Who*"), plain "Who" in the plain version.
func (w *slackWriter) label(s string) {
	w.mark("*")
	w.lit(s)
	w.mark("*")
}

// value writes an untrusted value into an open mrkdwn text: as it is when
// it cannot format, mention or link anything there (mrkdwnPlain), else as
// a code span.
func (w *slackWriter) value(s string, max int) {
	if mrkdwnPlain(s, max) {
		w.lit(s)
		return
	}
	w.code(s, max)
}

// code writes an untrusted value as an inline code span (see code). A
// value with a backtick makes the open text plain_text (see obj).
func (w *slackWriter) code(s string, max int) {
	if s == "" {
		w.lit("none")
		return
	}
	w.mark("`")
	w.b = appendJSONChars(w.b, slackEscape(s, max), w.html)
	w.mark("`")
	w.plainOf(s, max)
}

// codeBlock writes an untrusted text as a code block on lines of its own.
func (w *slackWriter) codeBlock(s string, max int) {
	w.lit("\n")
	w.mark("```")
	w.b = appendJSONChars(w.b, slackEscape(s, max), w.html)
	w.mark("```")
	w.plainOf(s, max)
}

// plainOf adds an untrusted value to the plain version of the open text,
// and taints the text when the value holds a backtick.
func (w *slackWriter) plainOf(s string, max int) {
	if !w.obj.open {
		return
	}
	v := plainValue(s, max)
	w.obj.plain = append(w.obj.plain, v...)
	if strings.IndexByte(v, '`') >= 0 {
		w.obj.tainted = true
	}
}
