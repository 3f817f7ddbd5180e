package route_test

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/route"
)

const (
	root    = "r-ab12"
	prodOU  = "ou-ab12-11111111"
	webOU   = "ou-ab12-33333333" // below prod
	sandbox = "ou-ab12-22222222"
)

var table = route.Table{
	{Name: "prod", OUs: []string{prodOU}, MinSeverity: "medium", SlackSecretName: "trailwatch/slack-prod"},
	{Name: "web", OUs: []string{webOU}, Emails: []string{"web-sec@example.com"}},
	{Name: "sandbox", OUs: []string{sandbox}, MinSeverity: "high"},
	{Name: "payments", Accounts: []string{"444455556666"}, SlackSecretName: "trailwatch/slack-payments"},
	{Name: "everyone", OUs: []string{root}, MinSeverity: "low"},
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name    string
		account string
		path    []string
		sev     detect.Severity
		want    route.Decision
	}{
		{"prod account, medium", "111111111111", []string{root, prodOU}, detect.SeverityMedium,
			route.Decision{Route: "prod", Why: "OU " + prodOU}},
		{"prod account below the floor", "111111111111", []string{root, prodOU}, detect.SeverityLow,
			route.Decision{Route: "prod", Held: true, Why: "OU " + prodOU}},
		{"the deepest OU wins", "222222222222", []string{root, prodOU, webOU}, detect.SeverityLow,
			route.Decision{Route: "web", Why: "OU " + webOU}},
		{"sandbox only from high", "333333333333", []string{root, sandbox}, detect.SeverityMedium,
			route.Decision{Route: "sandbox", Default: true, Held: true, Why: "OU " + sandbox}},
		{"sandbox high goes to the default channels", "333333333333", []string{root, sandbox}, detect.SeverityHigh,
			route.Decision{Route: "sandbox", Default: true, Why: "OU " + sandbox}},
		{"an account route beats its OU", "444455556666", []string{root, prodOU}, detect.SeverityLow,
			route.Decision{Route: "payments", Why: "account 444455556666"}},
		{"an account route without a known path", "444455556666", nil, detect.SeverityInfo,
			route.Decision{Route: "payments", Why: "account 444455556666"}},
		{"the root route takes the rest", "555555555555", []string{root, "ou-ab12-44444444"}, detect.SeverityInfo,
			route.Decision{Route: "everyone", Default: true, Held: true, Why: "OU " + root}},
		{"unknown path: default channels", "555555555555", nil, detect.SeverityInfo, route.Decision{Default: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := table.Decide(tc.account, tc.path, tc.sev); got != tc.want {
				t.Errorf("Decide() = %+v, want %+v", got, tc.want)
			}
		})
	}
	if got := (route.Table{}).Decide("111111111111", []string{root}, detect.SeverityCritical); got != (route.Decision{Default: true}) {
		t.Errorf("empty table: %+v", got)
	}
}

func TestValidate(t *testing.T) {
	if err := table.Validate(); err != nil {
		t.Fatalf("the example table: %v", err)
	}
	for _, tc := range []struct {
		name string
		t    route.Table
		want []string
	}{
		{"no selector", route.Table{{Name: "a"}}, []string{`route "a"`, "no ous or accounts"}},
		{"bad name", route.Table{{Name: "Prod OU", Accounts: []string{"111111111111"}}}, []string{"name must be"}},
		{"no name", route.Table{{Accounts: []string{"111111111111"}}}, []string{"route 1: name must be"}},
		{"twice", route.Table{{Name: "a", Accounts: []string{"111111111111"}}, {Name: "a", Accounts: []string{"222222222222"}}}, []string{"used twice"}},
		{"bad ids", route.Table{{Name: "a", OUs: []string{"prod"}, Accounts: []string{"1234"}}}, []string{`"prod" is neither an OU ID`, `"1234" is not a 12-digit`}},
		{"same OU in two routes", route.Table{{Name: "a", OUs: []string{prodOU}}, {Name: "b", OUs: []string{prodOU}}}, []string{`also in route "a"`}},
		{"severity", route.Table{{Name: "a", Accounts: []string{"111111111111"}, MinSeverity: "urgent"}}, []string{"minSeverity", `unknown severity "urgent"`}},
		{"webhook URL", route.Table{{Name: "a", Accounts: []string{"111111111111"}, SlackSecretName: "https://hooks.slack.com/services/T/B/X"}}, []string{"looks like a webhook URL"}},
		{"email", route.Table{{Name: "a", Accounts: []string{"111111111111"}, Emails: []string{"Sec <sec@example.com>"}}}, []string{"not a plain email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.t.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			if strings.Contains(err.Error(), "hooks.slack.com") {
				t.Errorf("the error echoes a webhook URL: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
