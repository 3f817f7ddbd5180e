package render

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file makes attacker text inert for each place it is shown:
//   - defang breaks URL schemes and "www." (every medium);
//   - defangAll also breaks domain names and email addresses, for the
//     media whose clients link them on sight: email (Gmail and Outlook link
//     "evil.example/x" and "x@evil.example") and Slack's notification text;
//   - mrkdwnPlain says whether a value can stand in Slack mrkdwn as it is,
//     without any chance of formatting, emoji, mentions or links;
//   - notifyText neutralizes a value for Slack's top-level text, which
//     phones show and which Slack formats and links.
//
// The scanners are hand-written: no maintained library defangs text, and
// URL finders (mvdan.cc/xurls) match only known top-level domains, while
// defanging must also break names under reserved or new ones
// (evil.example). render's tests hold each scanner to the regular
// expressions of rendertest that state the rules.

// schemes are the URL schemes defang breaks ("https:" becomes "https[:]");
// any other scheme is broken where "://" follows it. Only schemes that
// clients link without "//" are listed: the others are broken by "://"
// (wss:, ssh: and the like), and "aws:" must stay as it is in ARNs.
var schemes = []string{
	"https", "http", "ftp", "file", "mailto", "javascript", "vbscript", "data", "slack",
	"tel", "sms", "sip", "news", "callto", "skype",
}

// schemeEnd marks the last letters of the schemes, lower case: most colons
// (ARNs, times) follow none of them.
var schemeEnd = func() (t [256]bool) {
	for _, s := range schemes {
		t[s[len(s)-1]] = true
	}
	return t
}()

// defang breaks URL schemes, "://" and "www." in untrusted text
// ("https://evil" becomes "https[:]//evil", case ignored) so no client
// turns it into a link.
func defang(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		for i < len(s) && s[i] != ':' && s[i]|0x20 != 'w' {
			i++
		}
		if i == len(s) {
			break
		}
		switch {
		case s[i] == ':' && (endsWithScheme(s[:i]) || strings.HasPrefix(s[i:], "://")):
			b.WriteString(s[last:i])
			b.WriteString("[:]")
			i++
			last = i
		case s[i] != ':' && len(s)-i >= 4 && strings.EqualFold(s[i:i+4], "www."):
			b.WriteString(s[last : i+3])
			b.WriteString("[.]")
			i += 4
			last = i
		default:
			i++
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func endsWithScheme(s string) bool {
	if len(s) < 2 || !schemeEnd[s[len(s)-1]|0x20] {
		return false
	}
	for _, sc := range schemes {
		if len(s) >= len(sc) && strings.EqualFold(s[len(s)-len(sc):], sc) {
			return true
		}
	}
	return false
}

// defangAll is defang that also breaks domain names and email addresses:
// in a run of name characters and dots where a dot is followed by two
// letters ("evil.example", "a.b.co", "pool.xn--p1ai"), every dot between
// name characters becomes "[.]", and an "@" between a name character and a
// letter or digit becomes "[@]". IP addresses and version numbers
// ("203.0.113.7", "2.22.4") stay as they are. The full stops that IDNA
// reads as dots (U+3002, U+FF0E, U+FF61) count as dots.
//
// It makes one pass over s, byte by byte through ASCII that can start
// nothing (most of a CloudTrail event), and copies s only from its first
// change: every email passes the whole event through it (BenchmarkDefangAll:
// about five times faster than defang followed by a rune-by-rune pass).
func defangAll(s string) string {
	var b strings.Builder
	last := 0 // s[last:] is not written yet
	emit := func(upTo int, with string) {
		if b.Cap() == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[last:upTo])
		b.WriteString(with)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && !linkStart[c] {
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case r == ':' && (endsWithScheme(s[:i]) || strings.HasPrefix(s[i:], "://")):
			emit(i, "[:]")
			last = i + 1
		case r|0x20 == 'w' && len(s)-i >= 4 && strings.EqualFold(s[i:i+4], "www."):
			emit(i+3, "[.]")
			last = i + 4
			size = 4
		case r == '@' && i > 0 && i+1 < len(s):
			prev, _ := utf8.DecodeLastRuneInString(s[:i])
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if !unicode.IsSpace(prev) && prev != '[' && (unicode.IsLetter(next) || unicode.IsNumber(next)) {
				emit(i, "[@]")
				last = i + 1
			}
		case dotRune(r) && domainDot(s, last, i, size):
			// The dot makes its run of name characters and dots a domain
			// name: the run, from its start after what was written, has
			// its inner dots broken.
			start := i
			for start > last {
				p, n := utf8.DecodeLastRuneInString(s[last:start])
				if !nameRune(p) && !dotRune(p) {
					break
				}
				start -= n
			}
			end := i
			for end < len(s) {
				n, w := rune(s[end]), 1
				if n >= utf8.RuneSelf {
					n, w = utf8.DecodeRuneInString(s[end:])
				}
				if !nameRune(n) && !dotRune(n) {
					break
				}
				end += w
				if n == '.' && end-i >= 4 && strings.EqualFold(s[end-4:end-1], "www") {
					break // defang ends a run at the dot of "www."
				}
			}
			emit(start, "")
			writeDomainRun(&b, s[start:end])
			last = end
			size = end - i
		}
		i += size
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// linkStart marks the ASCII bytes where defangAll may have to change
// something: a colon (a scheme), "w" ("www."), "@" and ".".
var linkStart = func() (t [utf8.RuneSelf]bool) {
	for _, c := range ":wW@." {
		t[c] = true
	}
	return t
}()

// domainDot reports whether the dot s[i:i+size] follows a name character
// (written after last) and comes before two letters.
func domainDot(s string, last, i, size int) bool {
	if i == last {
		return false
	}
	if p, _ := utf8.DecodeLastRuneInString(s[last:i]); !nameRune(p) {
		return false
	}
	a, n := utf8.DecodeRuneInString(s[i+size:])
	c, _ := utf8.DecodeRuneInString(s[i+size+n:])
	return unicode.IsLetter(a) && unicode.IsLetter(c)
}

// writeDomainRun writes a run of name characters and dots that is a domain
// name: a dot between name characters becomes "[.]", and so does the dot
// of "www." that ends it (as defang breaks it).
func writeDomainRun(b *strings.Builder, run string) {
	var prev rune
	last := 0
	for i := 0; i < len(run); {
		r, size := utf8.DecodeRuneInString(run[i:])
		if dotRune(r) {
			next, _ := utf8.DecodeRuneInString(run[i+size:])
			if nameRune(prev) && i+size < len(run) && nameRune(next) || r == '.' && i >= 3 && strings.EqualFold(run[i-3:i], "www") {
				b.WriteString(run[last:i])
				b.WriteString("[.]")
				last = i + size
			}
		}
		prev = r
		i += size
	}
	b.WriteString(run[last:])
}

// nameRune is a character of a host name label, or of a name around one.
func nameRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r|0x20 && r|0x20 <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

func dotRune(r rune) bool { return r == '.' || r == '\u3002' || r == '\uff0e' || r == '\uff61' }

// mrkdwnPlain reports whether s can be written into verbatim Slack mrkdwn
// as it is and reads only as itself: printable ASCII letters, digits,
// spaces and punctuation that mrkdwn does not format (no * _ ~ ` > < & | @
// #), no colon pair that could be an emoji code (":x:"), no URL scheme,
// "www.", domain name or email address, and at most max bytes. Anything
// else is shown as a code span or plain text.
func mrkdwnPlain(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	// An emoji code is a colon, a name of letters, digits, + - ' (and _,
	// refused anyway) with at least one letter, and a colon: colon is the
	// last colon while such a name could still follow it.
	colon, letter := -1, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch mrkdwnClass[c] {
		case nameByte:
			continue
		case letterByte:
			letter = true
			continue
		case refusedByte:
			return false
		case separatorByte:
			colon = -1
			continue
		}
		switch {
		case c == ':':
			if colon >= 0 && letter || endsWithScheme(s[:i]) {
				return false
			}
			colon, letter = i, false
		case c == '.':
			if i > 0 && i+2 < len(s) && nameRune(rune(s[i-1])) && isLetter(s[i+1]) && isLetter(s[i+2]) {
				return false
			}
			colon = -1
		default: // w or W
			letter = true
			if len(s)-i >= 4 && strings.EqualFold(s[i:i+4], "www.") {
				return false
			}
		}
	}
	return true
}

// Classes of bytes for mrkdwnPlain.
const (
	nameByte      = iota // digits and + - ', which an emoji name may hold
	letterByte           // letters but w
	refusedByte          // control, non-ASCII, and what mrkdwn formats or parses
	separatorByte        // punctuation no emoji name holds
	checkByte            // ':', '.', 'w' and 'W', which need a closer look
)

var mrkdwnClass = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case c < 0x20 || c >= 0x7f || strings.ContainsRune("*_~`><&|@#\\[]{}^", rune(c)):
			t[c] = refusedByte
		case c == ':' || c == '.' || c == 'w' || c == 'W':
			t[c] = checkByte
		case 'a' <= c|0x20 && c|0x20 <= 'z':
			t[c] = letterByte
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '\'':
			t[c] = nameByte
		default:
			t[c] = separatorByte
		}
	}
	return t
}()

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// notifyEscaper swaps the characters Slack's notification text would
// format or parse for look-alikes: the top-level text is shown by phones
// and is not verbatim, so no code span or escape keeps them inert there.
var notifyEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"*", "\u2217", // ∗ asterisk operator
	"_", "\u02cd", // ˍ modifier letter low macron
	"~", "\u223c", // ∼ tilde operator
	"`", "\u02cb", // ˋ modifier letter grave accent
	":", "\ua789", // ꞉ modifier letter colon
	"@", "\uff20", // ＠ fullwidth commercial at
	"#", "\uff03", // ＃ fullwidth number sign
	"|", "\u2223", // ∣ divides
)

// notifyText makes an untrusted value inert in Slack's top-level text:
// Clean, then every character Slack formats or parses there swapped for a
// look-alike, then domains and "www." defanged (last, because some
// look-alikes are letters: "ˋ.co" must be broken too).
func notifyText(s string, max int) string {
	if mrkdwnPlain(s, max) && !strings.ContainsRune(s, ':') {
		return s
	}
	return defangAll(notifyEscaper.Replace(Clean(s, max)))
}
