package render

import (
	"strings"
	"sync"

	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
)

// Static holds what an alert's rendering takes from its detection alone,
// made once for a catalog so that each alert does not redo it: the
// runbook, escaped for Slack and wrapped for email (a runbook is several
// hundred characters, and its escaping and wrapping were about a twentieth
// of an event's work), and the detection's references (CIS controls and
// ATT&CK techniques, whose "&" always takes Slack's full escaping). Each
// detection's texts are prepared at its first alert, not when the Static
// is made: preparing all of them was a tenth of a function's cold start,
// for a first event that needs one. It is safe for concurrent use, and a
// nil *Static renders everything for each alert.
type Static struct {
	byID map[string]*detectionTexts
}

// detectionTexts are one detection's texts, prepared once (prepare).
type detectionTexts struct {
	detection *detect.Detection
	once      sync.Once
	prepared  preparedTexts
}

// preparedTexts are what detectionTexts prepares.
type preparedTexts struct {
	runbook runbookTexts
	// slackContext starts the Slack message's context line: the
	// detection's ID and references, escaped.
	slackContext string
	// emailReferences is the email's References field, "" for none.
	emailReferences string
}

type runbookTexts struct {
	source, slack, email string
}

// NewStatic prepares the texts of the detections.
func NewStatic(ds []*detect.Detection) *Static {
	st := &Static{byID: make(map[string]*detectionTexts, len(ds))}
	for _, d := range ds {
		st.byID[d.ID] = &detectionTexts{detection: d}
	}
	return st
}

// texts returns the detection's texts, preparing them the first time.
func (t *detectionTexts) texts() *preparedTexts {
	t.once.Do(func() {
		d := t.detection
		t.prepared = preparedTexts{
			runbook:         renderRunbook(d.Runbook),
			slackContext:    slackContext(d),
			emailReferences: strings.Join(references(d), "; "),
		}
	})
	return &t.prepared
}

// texts returns the prepared texts of the alert's detection, or nil when
// there are none for it (no Static, or a detection it was not made for).
func (st *Static) texts(a alert.Alert) *preparedTexts {
	if st == nil || a.Primary.Detection == nil {
		return nil
	}
	if t := st.byID[a.Primary.Detection.ID]; t != nil && t.detection == a.Primary.Detection {
		return t.texts()
	}
	return nil
}

// runbook returns the alert's runbook texts: prepared when the alert
// carries its detection's runbook unchanged, else rendered now.
func (st *Static) runbook(a alert.Alert) runbookTexts {
	if t := st.texts(a); t != nil && t.runbook.source == a.Runbook {
		return t.runbook
	}
	return renderRunbook(a.Runbook)
}

// slackContext returns the start of the Slack context line for the
// alert's detection.
func (st *Static) slackContext(a alert.Alert) string {
	if t := st.texts(a); t != nil {
		return t.slackContext
	}
	return slackContext(a.Primary.Detection)
}

// emailReferences returns the email's References field for the alert's
// detection.
func (st *Static) emailReferences(a alert.Alert) string {
	if t := st.texts(a); t != nil {
		return t.emailReferences
	}
	return strings.Join(references(a.Primary.Detection), "; ")
}

func renderRunbook(runbook string) runbookTexts {
	var w bodyWriter
	w.indented(emailText(runbook, 2500), false)
	return runbookTexts{source: runbook, slack: "What to do: " + plainValue(runbook, 2500), email: w.b.String()}
}
