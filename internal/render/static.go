package render

import (
	"github.com/trailwatch/trailwatch/internal/alert"
	"github.com/trailwatch/trailwatch/internal/detect"
)

// Static holds what an alert's rendering takes from its detection alone,
// made once for a catalog so that each alert does not redo it: the
// runbook, escaped for Slack and wrapped for email (a runbook is several
// hundred characters, and its escaping and wrapping were about a twentieth
// of an event's work). It is read-only once made, and a nil *Static renders
// everything for each alert.
type Static struct {
	byID map[string]runbookTexts
}

type runbookTexts struct {
	source, slack, email string
}

// NewStatic prepares the texts of the detections.
func NewStatic(ds []*detect.Detection) *Static {
	st := &Static{byID: make(map[string]runbookTexts, len(ds))}
	for _, d := range ds {
		st.byID[d.ID] = renderRunbook(d.Runbook)
	}
	return st
}

// runbook returns the alert's runbook texts: prepared when the alert
// carries its detection's runbook unchanged, else rendered now.
func (st *Static) runbook(a alert.Alert) runbookTexts {
	if st != nil && a.Primary.Detection != nil {
		if t, ok := st.byID[a.Primary.Detection.ID]; ok && t.source == a.Runbook {
			return t
		}
	}
	return renderRunbook(a.Runbook)
}

func renderRunbook(runbook string) runbookTexts {
	var w bodyWriter
	w.indented(emailText(runbook, 2500), false)
	return runbookTexts{source: runbook, slack: "*Runbook*\n" + slackEscape(runbook, 2500), email: w.b.String()}
}
