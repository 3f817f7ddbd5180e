package render

import (
	"unicode/utf8"
)

// SlackMessage is an incoming-webhook payload.
type SlackMessage struct {
	// Text is the notification and fallback text.
	Text        string
	Blocks      []Block
	UnfurlLinks bool
	UnfurlMedia bool
}

// Block is one Block Kit layout block: "header" and "section" blocks
// have Text (a section may have Fields instead), "context" blocks have
// Texts and "actions" blocks Buttons.
type Block struct {
	Type    string
	BlockID string
	Text    *TextObject
	Fields  []TextObject
	Texts   []TextObject
	Buttons []Button
}

// TextObject is a Block Kit text object: plain_text (with Emoji) or mrkdwn
// (with Verbatim).
type TextObject struct {
	Type     string
	Text     string
	Emoji    bool
	Verbatim bool
}

// Button is a link button of an actions block.
type Button struct {
	Text     TextObject
	ActionID string
	URL      string
}

const (
	plainTextType = "plain_text"
	markdownType  = "mrkdwn"
)

// MarshalJSON encodes the payload as Slack reads it; see AppendJSON.
func (m SlackMessage) MarshalJSON() ([]byte, error) {
	return m.AppendJSON(make([]byte, 0, 4096)), nil
}

// AppendJSON appends the payload's JSON to dst without reflection. The
// output is byte for byte what encoding/json made of the slack-go types
// this package used before (Encoder with SetEscapeHTML(false)): context
// and actions elements were marshalled by slack-go with HTML escaping, so
// their strings escape <, > and & as \u003c, \u003e and \u0026, and the
// rest do not.
func (m SlackMessage) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"text":`...)
	dst = appendJSONString(dst, m.Text, false)
	dst = append(dst, `,"blocks":`...)
	if m.Blocks == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range m.Blocks {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = m.Blocks[i].appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"unfurl_links":`...)
	dst = appendBool(dst, m.UnfurlLinks)
	dst = append(dst, `,"unfurl_media":`...)
	dst = appendBool(dst, m.UnfurlMedia)
	return append(dst, '}')
}

func (b *Block) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendJSONString(dst, b.Type, false)
	switch b.Type {
	case "context", "actions":
		if b.BlockID != "" {
			dst = append(dst, `,"block_id":`...)
			dst = appendJSONString(dst, b.BlockID, false)
		}
		dst = append(dst, `,"elements":`...)
		n := len(b.Texts)
		if b.Type == "actions" {
			n = len(b.Buttons)
		}
		if n == 0 {
			return append(dst, "null}"...)
		}
		dst = append(dst, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if b.Type == "actions" {
				dst = b.Buttons[i].appendJSON(dst)
			} else {
				dst = b.Texts[i].appendJSON(dst, true)
			}
		}
		return append(dst, "]}"...)
	}
	// header and section
	if b.Text != nil {
		dst = append(dst, `,"text":`...)
		dst = b.Text.appendJSON(dst, false)
	}
	if b.BlockID != "" {
		dst = append(dst, `,"block_id":`...)
		dst = appendJSONString(dst, b.BlockID, false)
	}
	if len(b.Fields) > 0 {
		dst = append(dst, `,"fields":[`...)
		for i := range b.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = b.Fields[i].appendJSON(dst, false)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func (t *TextObject) appendJSON(dst []byte, html bool) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendJSONString(dst, t.Type, html)
	dst = append(dst, `,"text":`...)
	dst = appendJSONString(dst, t.Text, html)
	if t.Type != markdownType {
		dst = append(dst, `,"emoji":`...)
		dst = appendBool(dst, t.Emoji)
	}
	if t.Verbatim {
		dst = append(dst, `,"verbatim":true`...)
	}
	return append(dst, '}')
}

// appendJSON encodes a button; it only occurs in actions blocks, so with
// HTML escaping.
func (b *Button) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":"button","text":`...)
	dst = b.Text.appendJSON(dst, true)
	if b.ActionID != "" {
		dst = append(dst, `,"action_id":`...)
		dst = appendJSONString(dst, b.ActionID, true)
	}
	if b.URL != "" {
		dst = append(dst, `,"url":`...)
		dst = appendJSONString(dst, b.URL, true)
	}
	return append(dst, '}')
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// does: invalid UTF-8 becomes \ufffd, U+2028 and U+2029 are escaped, and
// with html so are <, > and &.
// jsonSafe and jsonSafeHTML mark the bytes appendJSONString copies as they
// are: printable ASCII but the quote and backslash (and, for HTML, <, >
// and &).
var jsonSafe, jsonSafeHTML = func() (plain, html [256]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		plain[b] = b != '"' && b != '\\'
		html[b] = plain[b] && b != '<' && b != '>' && b != '&'
	}
	return plain, html
}()

func appendJSONString(dst []byte, s string, html bool) []byte {
	dst = append(dst, '"')
	safe := &jsonSafe
	if html {
		safe = &jsonSafeHTML
	}
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && safe[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && (!html || (b != '<' && b != '>' && b != '&')) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// sizeHint is about the length of the message's JSON, a little over for
// escapes, so AppendJSON writes it without growing its buffer.
func (m SlackMessage) sizeHint() int {
	const text, block, button = 60, 40, 110 // JSON around each
	n := 80 + len(m.Text)
	for i := range m.Blocks {
		b := &m.Blocks[i]
		n += block + len(b.BlockID)
		if b.Text != nil {
			n += text + len(b.Text.Text)
		}
		for _, t := range b.Fields {
			n += text + len(t.Text)
		}
		for _, t := range b.Texts {
			n += text + len(t.Text)
		}
		for _, bt := range b.Buttons {
			n += button + len(bt.Text.Text) + len(bt.ActionID) + len(bt.URL)
		}
	}
	return n + n/8
}
