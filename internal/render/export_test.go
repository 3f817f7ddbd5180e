package render

import "github.com/trailwatch/trailwatch/internal/alert"

// SlackSizeHint exposes slackSizeHint to the external tests.
func SlackSizeHint(a alert.Alert) int { return slackSizeHint(a, slackSummary(a)) }
