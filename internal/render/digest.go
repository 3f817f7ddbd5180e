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
	return formatTime(d.WindowStart) + " to " + formatTime(d.WindowEnd)
}

// repeatsText is "1 more time", "37 more times".
func repeatsText(n int) string {
	if n == 1 {
		return "1 more time"
	}
	return strconv.Itoa(n) + " more times"
}

func digestTitle(d alert.Digest) string {
	return d.Detection.Title + ", " + repeatsText(d.Repeats)
}

// DigestSlackJSON renders a storm digest's webhook payload. As in alerts,
// attacker text (the principal, resources, headlines) is plain_text or a
// code span, and the notification text goes through notifyText and, whole,
// defang (as slackSummary).
func DigestSlackJSON(d alert.Digest) ([]byte, error) {
	text := defang("[" + severityLabel(d.Severity) + " digest] " + notifyText(d.Detection.ID, maxName) + " " + repeatsText(d.Repeats) +
		" by " + notifyText(d.Principal, maxName) + " in account " + notifyText(d.AccountID, maxName) + ", " + notifyText(d.Region, maxName) + ".")
	w := newSlackWriter(1500+2*len(text)+min(len(d.Occurrences), maxDigestLines)*300, text)
	w.header(severityLabel(d.Severity)+" digest: "+digestTitle(d), 149)
	w.plainSection()
	w.lit(severityMarker(d.Severity) + " ")
	w.plain(d.Principal, maxName)
	w.lit(" triggered " + d.Detection.ID + " " + repeatsText(d.Repeats) + " from " + digestWindow(d) + " in account ")
	w.plain(d.AccountID, maxName)
	w.lit(", ")
	w.plain(d.Region, maxName)
	w.lit(". The first was alerted; the repeats were held back so one principal cannot flood this channel.")
	w.endPlainSection()
	if len(d.Occurrences) > 0 {
		// Whole lines only, so the count of those not shown is right.
		w.plainSection()
		w.lit("Held back:")
		shown, size := 0, len("Held back:")
		for i, o := range d.Occurrences {
			if i == maxDigestLines {
				break
			}
			line := "\n• " + plainValue(o.Time, 40) + " " + plainValue(o.Resource, 120) + ": " + plainValue(o.Headline, 200)
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
		w.endPlainSection()
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
	w.line(severityLabel(d.Severity) + " DIGEST: " + emailText(digestTitle(d), maxLine))
	w.line("")
	w.indented(emailText(d.Principal, maxName)+" triggered "+d.Detection.ID+" "+repeatsText(d.Repeats)+" from "+digestWindow(d)+
		". The first was alerted; the repeats were held back so one principal cannot flood the channels.", true)
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
		Subject: subjectLine("[trailwatch] " + severityLabel(d.Severity) + " digest: " + d.Detection.ID + " " + repeatsText(d.Repeats) + " by " + defangAll(d.Principal)),
		Body:    w.b.String(),
	}
}
