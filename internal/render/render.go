// Package render turns an alert into what each channel sends: a Slack Block
// Kit payload, an email subject and plain-text body, and terminal text. The
// functions are pure, so golden files pin their output.
//
// Every value from the alert is treated as attacker-controlled. Clean makes
// control, invisible and direction-changing characters visible and bounds
// the length; each medium then escapes what is special to it (Slack's
// &, <, > and code-span backticks; URL schemes in email bodies).
package render

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/human"
)

// Clean returns s safe to show as one line of text: invalid UTF-8 becomes
// U+FFFD; newlines, tabs and other control characters, and invisible or
// bidirectional formatting characters (U+202E and friends) become visible
// escapes such as \n or \u202e; the result is cut to max runes with "…".
func Clean(s string, max int) string {
	if clean(s, max) {
		return s // most values need nothing: no copy
	}
	var b strings.Builder
	b.Grow(min(len(s), max*2))
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if n >= max {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(unicode.ReplacementChar)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		n++
	}
	return b.String()
}

// clean reports whether Clean would return s unchanged: valid UTF-8 of at
// most max runes with nothing to escape.
func clean(s string, max int) bool {
	n := 0
	for i := 0; i < len(s); n++ {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r < 0xa0 || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029 {
			return false
		}
		i += size
	}
	return n <= max
}

// severityLabel is the severity in capitals, as alert titles show it.
func severityLabel(s detect.Severity) string { return strings.ToUpper(s.String()) }

// label is the severity in capitals, or RESOLVED for the end of a
// condition.
func label(a alert.Alert) string {
	if a.Resolved {
		return "RESOLVED"
	}
	return severityLabel(a.Severity)
}

// marker is the severity's coloured circle, as Unicode characters: it is
// written into plain_text objects, which do not turn emoji codes into
// emoji (attacker text must not either).
func marker(a alert.Alert) string {
	if a.Resolved {
		return "\u2705" // ✅
	}
	return severityMarker(a.Severity)
}

func severityMarker(s detect.Severity) string {
	switch s {
	case detect.SeverityCritical:
		return "\U0001F534" // 🔴
	case detect.SeverityHigh:
		return "\U0001F7E0" // 🟠
	case detect.SeverityMedium:
		return "\U0001F7E1" // 🟡
	case detect.SeverityLow:
		return "\U0001F535" // 🔵
	}
	return "\u26AA" // ⚪
}

// formatTime is the one date format of every message: RFC 3339 in UTC,
// to the second.
func formatTime(t time.Time) string { return human.Time(t) }

// delayText says when trailwatch saw the event relative to when it happened.
func delayText(w alert.When) string {
	switch {
	case w.Replayed:
		return "replayed from a recorded event"
	case w.Delay < 0:
		return "event time is " + human.Duration(-w.Delay) + " in the future"
	case w.Delay < time.Second:
		return "at once"
	}
	return human.Duration(w.Delay) + " after the event"
}

// references lists the detection's CIS controls and ATT&CK techniques.
func references(d *detect.Detection) []string {
	var out []string
	for _, c := range d.CIS {
		out = append(out, "CIS "+c)
	}
	for _, m := range d.MITRE {
		name := detect.Techniques[m]
		if name != "" {
			out = append(out, "ATT&CK "+m+" "+name)
		} else {
			out = append(out, "ATT&CK "+m)
		}
	}
	return out
}

func changeText(c detect.Change) string {
	if c.Before == "" {
		return c.Setting + ": " + c.After
	}
	return c.Setting + ": " + c.Before + " -> " + c.After
}

// whoLine is the principal in one line: name, kind and detail.
func whoLine(w alert.Who) (name, rest string) {
	rest = w.Kind
	if w.Detail != "" {
		rest += ", " + w.Detail
	}
	return w.Name, rest
}

// accountText is "111122223333 (alias)" or the ID alone.
func accountText(w alert.Where) string {
	if w.AccountAlias != "" {
		return w.AccountID + " (" + w.AccountAlias + ")"
	}
	return w.AccountID
}

// ouPathText is the account's OU path from the root, "Root / Production /
// Payments"; an OU whose name is unknown shows its ID.
func ouPathText(w alert.Where) string {
	var b strings.Builder
	for i, ou := range w.OUPath {
		if i > 0 {
			b.WriteString(" / ")
		}
		if ou.Name != "" {
			b.WriteString(ou.Name)
		} else {
			b.WriteString(ou.ID)
		}
	}
	return b.String()
}

func exposureHeadline(e *alert.Exposure) string {
	switch e.Public {
	case "yes":
		return "YES, the bucket is public right now"
	case "no":
		return "No"
	}
	return "Unknown"
}

// Limits for attacker-controlled values, in runes.
const (
	maxName      = 200
	maxUserAgent = 300
	maxEvidence  = 2500
	maxLine      = 500
)
