package detect

import (
	"slices"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// selfDefenseEvents maps each detection of tampering with trailwatch to the
// event names its decision handles (Lambda's without the API version).
var selfDefenseEvents = map[string][]string{
	"trailwatch-rule-tampered": {"DisableRule", "DeleteRule", "RemoveTargets", "PutRule", "PutTargets"},
	"trailwatch-function-tampered": {"UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2",
		"DeleteFunction20150331", "PutFunctionConcurrency20171031", "RemovePermission20150331v2"},
	"trailwatch-delivery-tampered": {"DeleteTopic", "Unsubscribe", "SetTopicAttributes", "DeleteQueue", "PurgeQueue",
		"SetQueueAttributes", "DeleteTable", "DeleteSecret", "PutSecretValue", "UpdateSecret", "DeleteAlarms", "DisableAlarmActions"},
}

// deployedEnv is what infra/ puts in the settings of the Trailwatch stack
// with a forwarder in us-east-1 and the Slack secret of the fixtures.
var deployedEnv = Env{
	OwnPrefixes: []string{"Trailwatch-", "TrailwatchForwarder-"},
	OwnNames:    []string{"trailwatch/slack-webhook"},
}

func TestOwns(t *testing.T) {
	other := &Env{OwnPrefixes: []string{"Alerts-"}, OwnNames: []string{"alerts/slack", "alerts-dlq"}}
	for _, tc := range []struct {
		name      string
		env       *Env
		resource  string
		owns      bool
		ownsRule  bool
		rationale string
	}{
		{"nil env, convention", nil, "Trailwatch-CloudTrailFunction15067864-Ab3dEf9GhIjK", true, true, "stack prefix"},
		{"no settings, lower case", &Env{}, "trailwatch/slack-webhook", true, false, "rules need the prefix"},
		{"no settings, forwarder rule", &Env{}, "TrailwatchForwarder-us-east-1-ForwardRootAccountUsed-1K2QW7ZP4M9XB", true, true, ""},
		{"no settings, word inside", &Env{}, "my-trailwatch-test", true, false, "rules must start with the prefix"},
		{"no settings, other", &Env{}, "orders-fulfilment-dlq", false, false, ""},
		{"no settings, empty", &Env{}, "", false, false, ""},
		{"deployed, own prefix", &deployedEnv, "Trailwatch-State1C20CC9A-1X2Y3Z4W5V6U", true, true, ""},
		{"deployed, secret by name", &deployedEnv, "trailwatch/slack-webhook", true, true, "listed names count for rules too"},
		{"deployed, convention no longer applies", &deployedEnv, "my-trailwatch-test", false, false, ""},
		{"other stack, listed name", other, "alerts-dlq", true, true, ""},
		{"other stack, prefix", other, "Alerts-cloudtrail-config-changed", true, true, ""},
		{"other stack, trailwatch name", other, "Trailwatch-cloudtrail-config-changed", false, false, "settings win over conventions"},
		{"empty prefix is ignored", &Env{OwnPrefixes: []string{""}}, "anything", false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.env.Owns(tc.resource); got != tc.owns {
				t.Errorf("Owns(%q) = %v, want %v (%s)", tc.resource, got, tc.owns, tc.rationale)
			}
			if got := tc.env.OwnsRule(tc.resource); got != tc.ownsRule {
				t.Errorf("OwnsRule(%q) = %v, want %v (%s)", tc.resource, got, tc.ownsRule, tc.rationale)
			}
		})
	}
}

func TestOwnResourceNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"queue URL", queueNameOf("https://sqs.eu-west-1.amazonaws.com/111122223333/Trailwatch-Dlq-1"), "Trailwatch-Dlq-1"},
		{"queue URL with slash", queueNameOf("https://sqs.eu-west-1.amazonaws.com/111122223333/q/"), "q"},
		{"queue ARN", queueNameOf("arn:aws:sqs:eu-west-1:111122223333:q"), "q"},
		{"queue name", queueNameOf("q"), "q"},
		{"topic ARN", topicNameOf("arn:aws:sns:eu-west-1:111122223333:Trailwatch-Topic-1"), "Trailwatch-Topic-1"},
		{"subscription ARN", topicNameOf("arn:aws:sns:eu-west-1:111122223333:Trailwatch-Topic-1:4f8e2b1c"), "Trailwatch-Topic-1"},
		{"not a topic ARN", topicNameOf("Trailwatch-Topic-1"), ""},
		{"table name", tableNameOf("Trailwatch-State-1"), "Trailwatch-State-1"},
		{"table ARN", tableNameOf("arn:aws:dynamodb:eu-west-1:111122223333:table/Trailwatch-State-1"), "Trailwatch-State-1"},
		{"function name", functionNameOf("Trailwatch-Fn-1"), "Trailwatch-Fn-1"},
		{"function name and alias", functionNameOf("Trailwatch-Fn-1:live"), "Trailwatch-Fn-1"},
		{"function partial ARN", functionNameOf("111122223333:function:Trailwatch-Fn-1"), "Trailwatch-Fn-1"},
		{"function ARN and version", functionNameOf("arn:aws:lambda:eu-west-1:111122223333:function:Trailwatch-Fn-1:3"), "Trailwatch-Fn-1"},
		{"function ARN cut short", functionNameOf("arn:aws:lambda:eu-west-1:111122223333:function"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		id   string
		want []string
	}{
		{"trailwatch/slack-webhook", []string{"trailwatch/slack-webhook"}},
		{"arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailwatch/slack-webhook-Rk3T9q",
			[]string{"trailwatch/slack-webhook", "trailwatch/slack-webhook-Rk3T9q"}},
		{"arn:aws:secretsmanager:eu-west-1:111122223333:secret:short", []string{"short"}},
	} {
		if got := secretNamesOf(tc.id); !slices.Equal(got, tc.want) {
			t.Errorf("secretNamesOf(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// TestSelfDefenseFollowsSettings replays the fixtures of the self-defense
// detections with the settings of a deployment: trailwatch's own fixtures
// still raise them at the same severity, and a deployment whose settings
// name other resources is not alerted about trailwatch-named ones, while
// what it does name is recognized.
func TestSelfDefenseFollowsSettings(t *testing.T) {
	other := Env{OwnPrefixes: []string{"Alerts-"}, OwnNames: []string{"acme-stripe-webhook", "orders-fulfilment-dlq", "orders-staging"}}
	for id := range selfDefenseEvents {
		d := defenseDetection(t, id)
		if !d.Protected {
			t.Errorf("%s: not Protected; allow-lists must not silence tampering with trailwatch", id)
		}
		for _, ex := range d.Tests.Positive {
			t.Run(ex.File, func(t *testing.T) {
				ev, err := event.Decode(fixture.Read(t, ex.File))
				if err != nil {
					t.Fatal(err)
				}
				f, ok := d.Evaluate(ev, &deployedEnv)
				if !ok || f.Severity != ex.Severity {
					t.Errorf("deployed settings: got %v (reported %v), want %v", f.Severity, ok, ex.Severity)
				}
				if f, ok := d.Evaluate(ev, &other); ok {
					t.Errorf("settings of another deployment: reported %q, want nothing", f.Headline)
				}
			})
		}
	}
	for _, tc := range []struct {
		id, file string
		want     Severity
	}{
		{"trailwatch-function-tampered", "lambda/trailwatch-function-tampered-update-other-function.json", SeverityCritical},
		{"trailwatch-delivery-tampered", "sqs/trailwatch-delivery-tampered-delete-other-queue.json", SeverityHigh},
		{"trailwatch-delivery-tampered", "dynamodb/trailwatch-delivery-tampered-delete-other-table.json", SeverityHigh},
	} {
		t.Run("listed/"+tc.file, func(t *testing.T) {
			ev, err := event.Decode(fixture.Read(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			f, ok := defenseDetection(t, tc.id).Evaluate(ev, &other)
			if !ok || f.Severity != tc.want {
				t.Errorf("got %v (reported %v), want %v", f.Severity, ok, tc.want)
			}
		})
	}
}

func TestSelfDefenseDecisionsSurviveOddInput(t *testing.T) {
	for id, names := range selfDefenseEvents {
		d := defenseDetection(t, id)
		for _, env := range []*Env{{}, &deployedEnv} {
			if f, ok := d.Evaluate(&event.Event{}, env); ok {
				t.Errorf("%s reported %+v on an event without a CloudTrail record", id, f)
			}
			for _, name := range names {
				for _, params := range append(oddInputs,
					`{"name":"Trailwatch-x","rule":7,"functionName":"Trailwatch-f","reservedConcurrentExecutions":"none",`+
						`"queueUrl":"Trailwatch-q","topicArn":"arn:aws:sns:eu-west-1:1:Trailwatch-t","subscriptionArn":"x","attributes":[],`+
						`"tableName":"Trailwatch-t","secretId":"arn:aws:secretsmanager:eu-west-1:1:secret:trailwatch","ids":{},"targets":"x","state":[],`+
						`"alarmNames":["Trailwatch-a",7,null]}`) {
					for _, errorCode := range []string{"", "AccessDenied"} {
						f, ok := d.Evaluate(apiEvent(name, params, params, errorCode), env)
						if !ok {
							continue
						}
						if f.Headline == "" || f.Resource.Type == "" || f.Resource.Name == "" || !f.Severity.Valid() {
							t.Errorf("%s on %s %s: incomplete finding %+v", id, name, params, f)
						}
						if errorCode != "" && (!f.Attempt || f.Severity > SeverityLow) {
							t.Errorf("%s on failed %s %s: got %v attempt=%v, want a low attempt", id, name, params, f.Severity, f.Attempt)
						}
					}
				}
			}
		}
	}
}

// FuzzSelfDefenseDecisions feeds arbitrary request parameters to the
// decisions of tampering with trailwatch.
func FuzzSelfDefenseDecisions(f *testing.F) {
	for _, names := range selfDefenseEvents {
		for _, n := range names {
			f.Add(n, `{"name":"Trailwatch-a","functionName":"trailwatch","queueUrl":"https://sqs/1/trailwatch"}`)
		}
	}
	f.Fuzz(func(t *testing.T, name, params string) {
		for id := range selfDefenseEvents {
			d := defenseDetection(t, id)
			if fd, ok := d.Evaluate(apiEvent(name, params, "", ""), &Env{}); ok && (fd.Headline == "" || fd.Resource.Type == "") {
				t.Errorf("%s: incomplete finding %+v", id, fd)
			}
		}
	})
}
