package detect

import (
	"unicode/utf8"
)

// matchable returns the event's JSON rewritten, without changing what it
// means, so that quamina v1.5.1 can read every string of it; ok is false
// when nothing needed rewriting. Two inputs make that version of quamina
// fail on a field a pattern names, and so fail the whole match (an
// evasion: no detection would run on the event):
//   - a \uXXXX escape directly followed by another escape that is not
//     \u ("\u001b\\", the terminal escape that ends an OSC-8 link): its
//     UTF-16 reader backs up one byte too few and reads the second escape
//     from its backslash's partner. Such short escapes are rewritten as
//     \u00XX, which it reads with the escape before;
//   - bytes that are not UTF-8 inside strings, which it refuses and
//     encoding/json reads as U+FFFD: they are written as \ufffd.
//
// The event was decoded before (event.Decode), so it is valid JSON; the
// scan only tracks strings and escapes.
func matchable(b []byte) (out []byte, ok bool) {
	out = make([]byte, 0, len(b)+64)
	inString := false
	afterU := false // the last thing written in this string was a \u escape
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case !inString:
			if c == '"' {
				inString, afterU = true, false
			}
			out = append(out, c)
			i++
		case c == '"':
			inString = false
			out = append(out, c)
			i++
		case c == '\\' && i+1 < len(b):
			e := b[i+1]
			if e == 'u' && i+6 <= len(b) {
				out = append(out, b[i:i+6]...)
				i += 6
				afterU = true
				continue
			}
			if afterU {
				if r, known := shortEscapes[e]; known {
					out = append(out, '\\', 'u', '0', '0', hexDigit[r>>4], hexDigit[r&0xf])
					ok = true
					i += 2
					continue
				}
			}
			out = append(out, c, e)
			i += 2
			afterU = false
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
			afterU = false
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, `\ufffd`...)
				ok = true
				i++
				afterU = true
				continue
			}
			out = append(out, b[i:i+size]...)
			i += size
			afterU = false
		}
	}
	return out, ok
}

// shortEscapes are JSON's two-character escapes and the bytes they stand
// for.
var shortEscapes = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

const hexDigit = "0123456789abcdef"
