package render

// SizeHint exposes sizeHint to the external tests.
func SizeHint(m SlackMessage) int { return m.sizeHint() }
