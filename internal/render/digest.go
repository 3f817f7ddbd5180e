package render

import (
	"fmt"
	"strconv"
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
	return strconv.Itoa(d.Repeats) + " more: " + d.Detection.Title
}

// DigestSlackJSON renders a storm digest's webhook payload.
func DigestSlackJSON(d alert.Digest) ([]byte, error) {
	text := slackEscape("["+severityLabel(d.Severity)+" digest] "+digestTitle(d)+" by "+d.Principal+
		" in account "+d.AccountID+", "+d.Region+".", 1000)
	w := newSlackWriter(1500+2*len(text)+min(len(d.Occurrences), maxDigestLines)*300, text)
	w.header(severityLabel(d.Severity)+" digest: "+digestTitle(d), 150)
	w.section()
	w.lit(severityEmoji(d.Severity) + " ")
	w.code(d.Principal, maxName)
	w.lit(" triggered ")
	w.code(d.Detection.ID, maxName)
	w.lit(" " + strconv.Itoa(d.Repeats) + " more times from ")
	w.esc(digestWindow(d), maxLine)
	w.lit(" in account ")
	w.code(d.AccountID, maxName)
	w.lit(", ")
	w.code(d.Region, maxName)
	w.lit(". The first was alerted; the repeats were held back so one principal cannot flood this channel.")
	w.endSection()
	if len(d.Occurrences) > 0 {
		// Whole lines only: cutting the block's text could split a code
		// span and leave a backtick open.
		w.section()
		w.lit("*Held back*")
		shown, size := 0, len("*Held back*")
		for i, o := range d.Occurrences {
			if i == maxDigestLines {
				break
			}
			line := "\n• " + slackEscape(o.Time, 40) + " " + code(o.Resource, 120) + " " + slackEscape(o.Headline, 200)
			n := utf8.RuneCountInString(line)
			if size+n > maxDigestText {
				break
			}
			w.lit(line)
			shown, size = shown+1, size+n
		}
		if rest := d.Repeats - shown; rest > 0 {
			w.lit("\n… and " + strconv.Itoa(rest) + " more")
		}
		w.endSection()
	}
	w.context()
	w.item()
	w.lit(slackContext(d.Detection))
	w.endItem()
	w.endList()
	return w.done(), nil
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
