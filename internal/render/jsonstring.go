package render

import (
	"unicode/utf8"
)

// Package render's JSON strings: Slack payloads are written without
// encoding/json (see slackWriter).

const hexDigits = "0123456789abcdef"

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

// appendJSONString appends s as a JSON string exactly as encoding/json
// does: invalid UTF-8 becomes \ufffd, U+2028 and U+2029 are escaped, and
// with html so are <, > and &.
func appendJSONString(dst []byte, s string, html bool) []byte {
	dst = append(dst, '"')
	dst = appendJSONChars(dst, s, html)
	return append(dst, '"')
}

// appendJSONChars appends s escaped as the contents of a JSON string. The
// escaping is per character, so text written in pieces that are each valid
// UTF-8 comes out as its concatenation would.
func appendJSONChars(dst []byte, s string, html bool) []byte {
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
	return append(dst, s[start:]...)
}
