package enrich

import "strings"

// AWS's naming rules, checked by hand: every alert checks several names
// before they may become part of a console URL, and a regular expression
// runs a matching machine for each. names_test.go holds each function to
// the regular expression it replaces.

// isRegion: ^[a-z]{2}(-[a-z]+)+-\d{1,2}$ ("eu-west-1", "us-gov-east-1").
func isRegion(s string) bool {
	if len(s) < 2 || !isLower(s[0]) || !isLower(s[1]) {
		return false
	}
	words := 0
	for i := 2; i < len(s); {
		if s[i] != '-' {
			return false
		}
		i++
		j := i
		for j < len(s) && isLower(s[j]) {
			j++
		}
		if j > i {
			words++
			i = j
			continue
		}
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		return words > 0 && j == len(s) && j-i >= 1 && j-i <= 2
	}
	return false
}

// isEventID: ^[0-9A-Za-z-]{1,64}$.
func isEventID(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && all(s, func(c byte) bool { return isAlnum(c) || c == '-' })
}

// isAccountID: ^[0-9]{12}$.
func isAccountID(s string) bool {
	return len(s) == 12 && all(s, isDigit)
}

// isBucketName: ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$.
func isBucketName(s string) bool {
	edge := func(c byte) bool { return isLower(c) || isDigit(c) }
	return len(s) >= 3 && len(s) <= 63 && edge(s[0]) && edge(s[len(s)-1]) &&
		all(s, func(c byte) bool { return edge(c) || c == '.' || c == '-' })
}

// isIAMName: ^[\w+=,.@-]{1,128}$.
func isIAMName(s string) bool {
	return len(s) >= 1 && len(s) <= 128 && all(s, func(c byte) bool { return isAlnum(c) || strings.IndexByte("_+=,.@-", c) >= 0 })
}

// isInstanceID: ^i-[0-9a-f]{8,17}$.
func isInstanceID(s string) bool {
	return len(s) >= 10 && len(s) <= 19 && strings.HasPrefix(s, "i-") && all(s[2:], isLowerHex)
}

// isAlarmName: ^[A-Za-z0-9 ._-]{1,255}$ (the names trailwatch links to).
func isAlarmName(s string) bool {
	return len(s) >= 1 && len(s) <= 255 && all(s, func(c byte) bool { return isAlnum(c) || strings.IndexByte(" ._-", c) >= 0 })
}

// isFindingID: ^[0-9a-f]{32}$.
func isFindingID(s string) bool { return len(s) == 32 && all(s, isLowerHex) }

// ssoPermissionSet returns the permission set of a role IAM Identity Center
// made (^AWSReservedSSO_(.+)_[0-9a-f]{16}$); ok is false for other roles.
func ssoPermissionSet(role string) (set string, ok bool) {
	const prefix, suffix = "AWSReservedSSO_", 17 // "_" and 16 hex digits
	if !strings.HasPrefix(role, prefix) || len(role) < len(prefix)+1+suffix {
		return "", false
	}
	end := len(role) - suffix
	if role[end] != '_' || !all(role[end+1:], isLowerHex) {
		return "", false
	}
	set = role[len(prefix):end]
	// "." matches anything but a newline.
	return set, strings.IndexByte(set, '\n') < 0
}

// versionPrefix is the version at the start of s:
// ^[0-9][0-9A-Za-z.\-+]{0,30}, or "".
func versionPrefix(s string) string {
	if s == "" || !isDigit(s[0]) {
		return ""
	}
	n := 1
	for n < len(s) && n <= 30 && (isAlnum(s[n]) || s[n] == '.' || s[n] == '-' || s[n] == '+') {
		n++
	}
	return s[:n]
}

// cliCommand names the AWS CLI command a user agent records
// (md/command#([a-z0-9-]+)\.([a-z0-9-]+), the first that matches).
func cliCommand(ua string) string {
	const marker = "md/command#"
	word := func(c byte) bool { return isLower(c) || isDigit(c) || c == '-' }
	for rest := ua; ; {
		i := strings.Index(rest, marker)
		if i < 0 {
			return ""
		}
		rest = rest[i+len(marker):]
		j := 0
		for j < len(rest) && word(rest[j]) {
			j++
		}
		if j > 0 && j < len(rest) && rest[j] == '.' {
			k := j + 1
			for k < len(rest) && word(rest[k]) {
				k++
			}
			if k > j+1 {
				return rest[:j] + " " + rest[j+1:k]
			}
		}
	}
}

func all(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool    { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool    { return isLower(c) || isDigit(c) || (c >= 'A' && c <= 'Z') }
func isLowerHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') }
