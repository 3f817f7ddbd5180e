// Package rendertest checks rendered messages against the invariants that
// keep attacker-controlled event text inert, whatever the event said. The
// render tests, the pipeline's hostile-input tests (which check the bytes
// that reach a local Slack and SNS) and the CLI's tests share these checks,
// so there is one definition of "safe to send".
//
// The checks are independent of the renderer: they read the payload as
// Slack and the email as SNS and a mail client would, and they restate the
// services' limits rather than importing the renderer's constants.
package rendertest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the services, as their documentation states them.
const (
	// MaxSubject is the longest subject SNS accepts: fewer than 100
	// characters.
	MaxSubject = 99
	// Slack Block Kit limits, in characters.
	slackMaxText        = 40000
	slackMaxBlocks      = 50
	slackMaxSectionText = 3000
	slackMaxHeaderText  = 150
	slackMaxFields      = 10
	slackMaxFieldText   = 2000
)

// Linkish matches what clients turn into links in plain text: a URL scheme
// that clients link without "//", any scheme followed by "://", or "www.".
// Event text must never carry one unbroken.
var Linkish = regexp.MustCompile(`(?i)(https?|ftp|file|mailto|javascript|vbscript|data|slack|tel|sms|sip|news|callto|skype):|:\/\/|www\.`)

// DomainLike matches the start of what a mail client may link as a domain
// name: a name character, a dot (or a full stop IDNA reads as one), and two
// letters ("evil.example", "a.co"). Defanged text reads "evil[.]example".
var DomainLike = regexp.MustCompile(`[\p{L}\p{N}_-][.\x{3002}\x{ff0e}\x{ff61}]\p{L}\p{L}`)

// EmailLike matches the "@" of an email address ("x@evil.example");
// defanged, "x[@]evil[.]example".
var EmailLike = regexp.MustCompile(`[\p{L}\p{N}._%+'-]@[\p{L}\p{N}]`)

// Marker delimits attacker text in the hostile-input tests: they inject
// Marker+text+Marker into event fields, and text between two markers (or
// from a marker to the end of its text, when the value was cut) is checked
// as attacker text wherever it lands.
const Marker = "TWINJ7"

// consoleURL matches the console links trailwatch builds itself, the only
// links a message may carry.
var consoleURL = regexp.MustCompile(`^https://([a-z0-9-]+\.)*console\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*$`)

// consoleURLInText finds console links inside email text.
var consoleURLInText = regexp.MustCompile(`https://([a-z0-9-]+\.)*console\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*`)

// emojiCode matches a Slack emoji code such as ":white_check_mark:" (a
// name holds at least one letter; "03:15:04" is a time).
var emojiCode = regexp.MustCompile(`(?i):[a-z0-9_+'-]*[a-z][a-z0-9_+'-]*:`)

// mention matches a bare mention Slack may parse in text that is not
// verbatim: @here, @channel, @everyone, @name.
var mention = regexp.MustCompile(`(^|[^\p{L}\p{N}])@[\p{L}\p{N}]`)

// SlackTexts returns every string under a "text" key of a Slack payload:
// the top-level text, block text objects, fields and button labels.
func SlackTexts(payload []byte) ([]string, error) {
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return nil, fmt.Errorf("payload is not JSON: %w", err)
	}
	var out []string
	walk(v, func(key string, val any, _ map[string]any) {
		if s, ok := val.(string); ok && key == "text" {
			out = append(out, s)
		}
	})
	return out, nil
}

// walk calls fn for every key of every object in v.
func walk(v any, fn func(key string, val any, obj map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			fn(k, child, x)
			walk(child, fn)
		}
	case []any:
		for _, child := range x {
			walk(child, fn)
		}
	}
}

// SlackProblems lists how a webhook payload breaks the invariants; none
// means it is safe to post:
//   - no text holds < or >: without them Slack parses no <!channel>,
//     <!here>, <!subteam^..>, <#C..>, <@U123> or <url|label> link;
//   - no control character but the newlines the renderer lays out, and no
//     invisible or direction-changing (Unicode Cf) character;
//   - every mrkdwn object is verbatim (Slack detects no links or mentions),
//     its backticks pair up (event text cannot open or close a code span),
//     and outside its code spans nothing formats: no *, _ or ~ but the
//     bold "*Heading*" the text may start with, no emoji code, no line
//     that starts a quote;
//   - every plain_text object has "emoji": false, so emoji codes in it
//     stay text;
//   - the top-level text, which notifications show and Slack formats and
//     links, holds no formatting character, emoji code, mention, backtick,
//     URL scheme, domain name or email address;
//   - attacker text (see Marker) outside code spans formats nothing and
//     carries no link, in any text;
//   - buttons link only to the AWS console, and link unfurling is off;
//   - Block Kit's size limits hold.
func SlackProblems(payload []byte) []string {
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		return []string{fmt.Sprintf("payload is not JSON: %v", err)}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	walk(v, func(key string, val any, obj map[string]any) {
		s, ok := val.(string)
		switch {
		case !ok:
		case key == "text":
			if strings.ContainsAny(s, "<>") {
				add("< or > in Slack text %q", Short(s))
			}
			if r, bad := firstUnsafeRune(s); bad {
				add("character %U in Slack text %q", r, Short(s))
			}
			switch obj["type"] {
			case "mrkdwn":
				for _, p := range MrkdwnProblems(s) {
					add("%s in mrkdwn text %q", p, Short(s))
				}
			case "plain_text":
				if obj["emoji"] != false {
					add("plain_text %q does not set \"emoji\": false", Short(s))
				}
			}
		case key == "type" && s == "mrkdwn":
			if obj["verbatim"] != true {
				add("mrkdwn text %q is not verbatim", Short(fmt.Sprint(obj["text"])))
			}
		case key == "url":
			if !consoleURL.MatchString(s) {
				add("button links to %q, not the AWS console", Short(s))
			}
		}
	})
	if m, ok := v.(map[string]any); ok {
		for _, k := range []string{"unfurl_links", "unfurl_media"} {
			if m[k] != false {
				add("%s is %v, want false", k, m[k])
			}
		}
		if text, ok := m["text"].(string); ok {
			for _, p := range NotificationProblems(text) {
				add("%s in the top-level text %q", p, Short(text))
			}
		}
	}
	return append(problems, slackLimitProblems(payload)...)
}

// MrkdwnProblems lists what in a verbatim mrkdwn text would format, quote
// or show an emoji outside its code spans, and any link-like attacker text
// there (see Marker).
func MrkdwnProblems(s string) []string {
	var problems []string
	if strings.Count(s, "`")%2 != 0 {
		problems = append(problems, "unbalanced backticks")
	}
	outside := outsideCode(s)
	for i, line := range strings.Split(outside, "\n") {
		rest := line
		if h := heading.FindString(line); h != "" && i == 0 {
			rest = line[len(h):]
		}
		if i := strings.IndexAny(rest, "*_~"); i >= 0 {
			problems = append(problems, fmt.Sprintf("formatting character %q outside a code span", rest[i]))
		}
		if strings.HasPrefix(line, ">") || strings.HasPrefix(line, "&gt;") {
			problems = append(problems, "a quote")
		}
	}
	if m := emojiCode.FindString(outside); m != "" {
		problems = append(problems, fmt.Sprintf("emoji code %q outside a code span", m))
	}
	for _, region := range attackerRegions(outside) {
		if m := linkLike(region); m != "" {
			problems = append(problems, fmt.Sprintf("attacker link %q outside a code span", m))
		}
	}
	return problems
}

// heading matches the bold heading a mrkdwn text may start with: the only
// formatting trailwatch writes.
var heading = regexp.MustCompile(`^\*[^*_~\x60\n]{1,80}\*`)

// NotificationProblems lists what Slack would format, parse or link in a
// message's top-level text: it is not verbatim, and phones show it raw.
func NotificationProblems(s string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if i := strings.IndexAny(s, "*_~`"); i >= 0 {
		add("formatting character %q", s[i])
	}
	if m := emojiCode.FindString(s); m != "" {
		add("emoji code %q", m)
	}
	if m := mention.FindString(s); m != "" {
		add("mention %q", m)
	}
	if m := linkLike(s); m != "" {
		add("link %q", m)
	}
	return problems
}

// linkLike returns the first URL scheme, "www.", domain name or email
// address in s, or "".
func linkLike(s string) string {
	for _, re := range []*regexp.Regexp{Linkish, DomainLike, EmailLike} {
		if m := re.FindString(s); m != "" {
			return m
		}
	}
	return ""
}

// outsideCode returns s with its code spans (`...` and ```...```)
// replaced by a space each.
func outsideCode(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		fence := "`"
		if strings.HasPrefix(s[i:], "```") {
			fence = "```"
		}
		j := strings.Index(s[i+len(fence):], fence)
		if j < 0 {
			b.WriteString(s[i:]) // unbalanced: reported on its own
			return b.String()
		}
		b.WriteByte(' ')
		s = s[i+len(fence)+j+len(fence):]
	}
}

// attackerRegions returns the parts of s between two Markers, and from an
// unpaired Marker to the end.
func attackerRegions(s string) []string {
	parts := strings.Split(s, Marker)
	var out []string
	for i := 1; i < len(parts); i += 2 {
		out = append(out, parts[i])
	}
	return out
}

func slackLimitProblems(payload []byte) []string {
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type   string `json:"type"`
			Text   *struct{ Text string }
			Fields []struct{ Text string }
		} `json:"blocks"`
	}
	if err := json.Unmarshal(payload, &msg); err != nil {
		return []string{fmt.Sprintf("payload does not have Slack's shape: %v", err)}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if n := utf8.RuneCountInString(msg.Text); n > slackMaxText {
		add("text is %d characters, limit %d", n, slackMaxText)
	}
	if len(msg.Blocks) > slackMaxBlocks {
		add("%d blocks, limit %d", len(msg.Blocks), slackMaxBlocks)
	}
	for i, b := range msg.Blocks {
		limit := slackMaxSectionText
		if b.Type == "header" {
			limit = slackMaxHeaderText
		}
		if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > limit {
			add("block %d (%s) text is %d characters, limit %d", i, b.Type, utf8.RuneCountInString(b.Text.Text), limit)
		}
		if len(b.Fields) > slackMaxFields {
			add("block %d has %d fields, limit %d", i, len(b.Fields), slackMaxFields)
		}
		for _, f := range b.Fields {
			if n := utf8.RuneCountInString(f.Text); n > slackMaxFieldText {
				add("block %d field is %d characters, limit %d", i, n, slackMaxFieldText)
			}
		}
	}
	return problems
}

// EmailProblems lists how an email breaks the invariants; none means it is
// safe to publish:
//   - the subject is one line of printable ASCII of at most MaxSubject
//     characters (SNS refuses anything else; a CR or LF would let event
//     text add a header such as Bcc), and holds no URL scheme, "www.",
//     domain name or email address;
//   - the body holds no control character but newlines, no invisible or
//     direction-changing character, and no scheme or "www." a mail client
//     would link, apart from trailwatch's own console links;
//   - attacker text (see Marker) in the body holds no domain name or email
//     address either.
func EmailProblems(subject, body string) []string {
	var problems []string
	if len(subject) > MaxSubject {
		problems = append(problems, fmt.Sprintf("subject is %d characters, limit %d", len(subject), MaxSubject))
	}
	if i := strings.IndexFunc(subject, func(r rune) bool { return r < 0x20 || r > 0x7e }); i >= 0 {
		problems = append(problems, fmt.Sprintf("subject %q is not printable ASCII at byte %d", Short(subject), i))
	}
	if m := linkLike(subject); m != "" {
		problems = append(problems, fmt.Sprintf("link-like %q in the subject %q", m, subject))
	}
	if r, bad := firstUnsafeRune(body); bad {
		problems = append(problems, fmt.Sprintf("character %U in the body", r))
	}
	text := consoleURLInText.ReplaceAllString(body, "")
	if m := Linkish.FindString(text); m != "" {
		problems = append(problems, fmt.Sprintf("link-like %q in the body:\n%s", m, Short(body)))
	}
	for _, region := range attackerRegions(text) {
		if m := linkLike(region); m != "" {
			problems = append(problems, fmt.Sprintf("attacker link %q in the body:\n%s", m, Short(region)))
		}
	}
	return problems
}

// firstUnsafeRune finds a control character other than '\n', an invisible
// or direction-changing format character (Cf: U+200B, U+202E, ...), a line
// or paragraph separator, or invalid UTF-8.
func firstUnsafeRune(s string) (rune, bool) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return r, true
		case r == '\n':
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == 0x2028, r == 0x2029:
			return r, true
		}
	}
	return 0, false
}

// Short keeps messages about huge values readable: the first 300 bytes and
// the length.
func Short(s string) string {
	const n = 300
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes)", len(s))
}
