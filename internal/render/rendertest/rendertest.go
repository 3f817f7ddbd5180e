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
// or "www.". Event text must never carry one unbroken.
var Linkish = regexp.MustCompile(`(?i)(https?|ftp|file|mailto|javascript|data|slack):|www\.`)

// consoleURL matches the console links trailwatch builds itself, the only
// links a message may carry.
var consoleURL = regexp.MustCompile(`^https://([a-z0-9-]+\.)*console\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*$`)

// consoleURLInText finds console links inside email text.
var consoleURLInText = regexp.MustCompile(`https://([a-z0-9-]+\.)*console\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*`)

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
//     <!here>, <@U123> or <url|label> link, so a | is only a character;
//   - backticks pair up, so event text cannot open or close a code span;
//   - no control character but the newlines the renderer lays out, and no
//     invisible or direction-changing (Unicode Cf) character;
//   - every mrkdwn object is verbatim (Slack detects no links or mentions)
//     and link unfurling is off;
//   - buttons link only to the AWS console;
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
			if strings.Count(s, "`")%2 != 0 {
				add("unbalanced backticks in Slack text %q", Short(s))
			}
			if r, bad := firstUnsafeRune(s); bad {
				add("character %U in Slack text %q", r, Short(s))
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
	}
	return append(problems, slackLimitProblems(payload)...)
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
//     text add a header such as Bcc);
//   - the body holds no control character but newlines, no invisible or
//     direction-changing character, and no scheme or "www." a mail client
//     would link, apart from trailwatch's own console links.
func EmailProblems(subject, body string) []string {
	var problems []string
	if len(subject) > MaxSubject {
		problems = append(problems, fmt.Sprintf("subject is %d characters, limit %d", len(subject), MaxSubject))
	}
	if i := strings.IndexFunc(subject, func(r rune) bool { return r < 0x20 || r > 0x7e }); i >= 0 {
		problems = append(problems, fmt.Sprintf("subject %q is not printable ASCII at byte %d", Short(subject), i))
	}
	if r, bad := firstUnsafeRune(body); bad {
		problems = append(problems, fmt.Sprintf("character %U in the body", r))
	}
	if m := Linkish.FindString(consoleURLInText.ReplaceAllString(body, "")); m != "" {
		problems = append(problems, fmt.Sprintf("link-like %q in the body:\n%s", m, Short(body)))
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
