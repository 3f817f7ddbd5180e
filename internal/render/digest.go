package render

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/alert"
)

// maxDigestLines bounds the repeats a digest lists.
const maxDigestLines = 20

// maxDigestText bounds the listed repeats in Slack, in characters: Slack
// takes 3000 per section, and the "… and N more" line must fit after them.
const maxDigestText = 2900

// digestWindow says when the repeats happened.
func digestWindow(d alert.Digest) string {
	return d.WindowStart.UTC().Format("2006-01-02 15:04") + " to " + d.WindowEnd.UTC().Format("15:04 UTC")
}

func digestTitle(d alert.Digest) string {
	return fmt.Sprintf("%d more: %s", d.Repeats, d.Detection.Title)
}

// DigestSlack renders a storm digest as a Block Kit message.
func DigestSlack(d alert.Digest) SlackMessage {
	var blocks []Block
	blocks = append(blocks, header(plainText(fmt.Sprintf("%s digest: %s", severityLabel(d.Severity), digestTitle(d)), 150)))
	intro := fmt.Sprintf("%s %s triggered %s %d more times from %s in account %s, %s. The first was alerted; "+
		"the repeats were held back so one principal cannot flood this channel.",
		severityEmoji(d.Severity), code(d.Principal, maxName), code(d.Detection.ID, maxName), d.Repeats,
		slackEscape(digestWindow(d), maxLine), code(d.AccountID, maxName), code(d.Region, maxName))
	blocks = append(blocks, section(mrkdwn(intro)))
	if len(d.Occurrences) > 0 {
		// Whole lines only: cutting the block's text could split a code
		// span and leave a backtick open.
		var b strings.Builder
		b.WriteString("*Held back*")
		shown, size := 0, b.Len()
		for i, o := range d.Occurrences {
			if i == maxDigestLines {
				break
			}
			line := fmt.Sprintf("\n• %s %s %s", slackEscape(o.Time, 40), code(o.Resource, 120), slackEscape(o.Headline, 200))
			n := utf8.RuneCountInString(line)
			if size+n > maxDigestText {
				break
			}
			b.WriteString(line)
			shown, size = shown+1, size+n
		}
		if rest := d.Repeats - shown; rest > 0 {
			fmt.Fprintf(&b, "\n… and %d more", rest)
		}
		blocks = append(blocks, section(mrkdwn(b.String())))
	}
	refs := append([]string{"Detection " + code(d.Detection.ID, maxName)}, references(d.Detection)...)
	blocks = append(blocks, contextBlock(mrkdwn(strings.Join(refs, " · "))))
	text := slackEscape(fmt.Sprintf("[%s digest] %s by %s in account %s, %s.", severityLabel(d.Severity), digestTitle(d), d.Principal, d.AccountID, d.Region), 1000)
	return SlackMessage{Text: text, Blocks: blocks}
}

// DigestSlackJSON renders the digest's webhook payload as JSON.
func DigestSlackJSON(d alert.Digest) ([]byte, error) {
	return DigestSlack(d).AppendJSON(nil), nil
}

// DigestEmail renders a storm digest as an email.
func DigestEmail(d alert.Digest) Email {
	var w bodyWriter
	w.line(fmt.Sprintf("%s DIGEST: %s", severityLabel(d.Severity), emailText(digestTitle(d), maxLine)))
	w.line("")
	w.indented(emailText(fmt.Sprintf("%s triggered %s %d more times from %s. The first was alerted; "+
		"the repeats were held back so one principal cannot flood the channels.", d.Principal, d.Detection.ID, d.Repeats, digestWindow(d)), 1000), true)
	w.section("WHERE")
	w.field("Account", emailText(d.AccountID, maxName))
	w.field("Region", emailText(d.Region, maxName))
	w.field("Principal", emailText(d.Principal, maxName))
	if len(d.Occurrences) > 0 {
		w.section("HELD BACK")
		for i, o := range d.Occurrences {
			if i == maxDigestLines {
				break
			}
			w.bullet(emailText(o.Time+" "+o.Resource+": "+o.Headline, maxLine))
		}
		if rest := d.Repeats - min(len(d.Occurrences), maxDigestLines); rest > 0 {
			w.line(fmt.Sprintf("  ... and %d more", rest))
		}
	}
	w.section("DETECTION")
	w.field("ID", d.Detection.ID+" ("+d.Detection.Title+")")
	if refs := references(d.Detection); len(refs) > 0 {
		w.field("References", strings.Join(refs, "; "))
	}
	return Email{
		Subject: asciiLine(fmt.Sprintf("[trailwatch] %s digest: %s by %s", severityLabel(d.Severity), digestTitle(d), d.Principal), MaxSubject),
		Body:    w.b.String(),
	}
}
