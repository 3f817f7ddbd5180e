package s3access

import (
	"strings"
	"testing"
)

func TestRoleSessionsLength(t *testing.T) {
	for v, want := range map[string]bool{
		"AROAABC:*":                              false,
		"AROAABCD:*":                             true,
		"AROA" + strings.Repeat("X", 128) + ":*": true,
		"AROA" + strings.Repeat("X", 129) + ":*": false,
		"AROAEXAMPLEROLEID123:session":           false,
		"AROAexample:*":                          false,
		"AIDAEXAMPLEUSERID123:*":                 false,
	} {
		if got := isRoleSessions(v); got != want {
			t.Errorf("isRoleSessions(%q) = %v, want %v", v, got, want)
		}
	}
}
