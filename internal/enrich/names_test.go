package enrich

import (
	"regexp"
	"testing"
)

// The regular expressions the hand-written checks in names.go replace.
var (
	regionRe     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	eventIDRe    = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)
	bucketRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	iamNameRe    = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	instanceIDRe = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	alarmNameRe  = regexp.MustCompile(`^[A-Za-z0-9 ._-]{1,255}$`)
	findingIDRe  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	ssoRoleRe    = regexp.MustCompile(`^AWSReservedSSO_(.+)_[0-9a-f]{16}$`)
	versionRe    = regexp.MustCompile(`^[0-9][0-9A-Za-z.\-+]{0,30}`)
	cliCommandRe = regexp.MustCompile(`md/command#([a-z0-9-]+)\.([a-z0-9-]+)`)
)

var nameSeeds = []string{
	"eu-west-1", "us-gov-east-1", "ap-southeast-22", "eu-west-123", "eu-1", "eu-west", "EU-west-1", "eu--west-1", "eu-west-1-",
	"my-bucket.logs", "a.b", "ab", "-bucket", "bucket-", "Bucket", "fb1e38bd-9dc6-8e79-9790-66aaec689aa4", "",
	"user+ops@example.com", "role_name=x,y", "i-0123456789abcdef0", "i-0123abcd", "i-0123ABCD01", "Trailwatch-Cpu-Fleet",
	"0123456789abcdef0123456789abcdef", "AWSReservedSSO_Admin_0123456789abcdef", "AWSReservedSSO__0123456789abcdef",
	"AWSReservedSSO_a\nb_0123456789abcdef", "AWSReservedSSO_x_y_0123456789abcdef",
	"2.15.30 Python/3.11", "1.0.0-rc.1+build.5 more", "aws-cli/2.15 md/command#s3api.put-bucket-policy",
	"md/command#s3. md/command#iam.create-user", "md/command#.x md/command#a.b",
}

func FuzzNames(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			name string
			re   *regexp.Regexp
			fn   func(string) bool
		}{
			{"isRegion", regionRe, isRegion}, {"isEventID", eventIDRe, isEventID}, {"isBucketName", bucketRe, isBucketName},
			{"isIAMName", iamNameRe, isIAMName}, {"isInstanceID", instanceIDRe, isInstanceID}, {"isAlarmName", alarmNameRe, isAlarmName},
			{"isFindingID", findingIDRe, isFindingID},
		} {
			if got, want := c.fn(s), c.re.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the regular expression says %v", c.name, s, got, want)
			}
		}
		set, ok := ssoPermissionSet(s)
		if m := ssoRoleRe.FindStringSubmatch(s); (m != nil) != ok || (ok && m[1] != set) {
			t.Errorf("ssoPermissionSet(%q) = %q, %v; the regular expression says %q", s, set, ok, m)
		}
		if got, want := versionPrefix(s), versionRe.FindString(s); got != want {
			t.Errorf("versionPrefix(%q) = %q, want %q", s, got, want)
		}
		want := ""
		if m := cliCommandRe.FindStringSubmatch(s); m != nil {
			want = m[1] + " " + m[2]
		}
		if got := cliCommand(s); got != want {
			t.Errorf("cliCommand(%q) = %q, want %q", s, got, want)
		}
	})
}
