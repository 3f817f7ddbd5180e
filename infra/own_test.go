package main

import (
	"encoding/json"
	"slices"
	"testing"

	"quamina.net/go/quamina"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// ownNarrowed are the detections whose rules are narrowed to the names of
// the stack's own resources, with the kinds of resource each watches (the
// request parameter its calls name them in, see ownResources).
var ownNarrowed = map[string][]string{
	"trailwatch-delivery-tampered": {"topicArn", "queueUrl", "tableName", "alarmNames", "secretId"},
	"trailwatch-function-tampered": {"functionName"},
}

// generatedSuffix stands for the random part CloudFormation appends to the
// names it generates ("<stack>-<logical ID>-<suffix>").
const generatedSuffix = "1A2B3C4D5E6F"

// ownResource is one of a stack's resources as its calls name it.
type ownResource struct {
	// kind is the request parameter the calls on it name it in.
	kind, name string
}

// physicalName is the name CloudFormation gives a resource of the
// template: the one its properties set, or one it generates, which starts
// with the stack's name.
func physicalName(t *testing.T, stack, logicalID string, res map[string]any, nameProp string) string {
	t.Helper()
	switch v := props(res)[nameProp].(type) {
	case nil:
		return stack + "-" + logicalID + "-" + generatedSuffix
	case string:
		return v
	default:
		t.Fatalf("%s %s: %s %v is not a plain name", stack, logicalID, nameProp, v)
		return ""
	}
}

// ownResources lists a stack's functions and what carries its alerts,
// read from its synthesized template and its configuration: the topics
// (the alert topic and the routes'), the dead-letter queues, the state
// table, the alarms that report to one of its topics, and the Slack
// secrets.
func ownResources(t *testing.T, stack string, tmpl map[string]any, cfg config.Config) []ownResource {
	t.Helper()
	var out []ownResource
	for id, res := range resources(tmpl, "AWS::Lambda::Function") {
		out = append(out, ownResource{"functionName", physicalName(t, stack, id, res, "FunctionName")})
	}
	topics := resources(tmpl, "AWS::SNS::Topic")
	for id, res := range topics {
		out = append(out, ownResource{"topicArn", physicalName(t, stack, id, res, "TopicName")})
	}
	for id, res := range resources(tmpl, "AWS::SQS::Queue") {
		out = append(out, ownResource{"queueUrl", physicalName(t, stack, id, res, "QueueName")})
	}
	for id, res := range resources(tmpl, "AWS::DynamoDB::Table") {
		out = append(out, ownResource{"tableName", physicalName(t, stack, id, res, "TableName")})
	}
	for id, res := range resources(tmpl, "AWS::CloudWatch::Alarm") {
		actions, _ := props(res)["AlarmActions"].(arr)
		if !slices.ContainsFunc(actions, func(a any) bool {
			r, _ := a.(obj)["Ref"].(string)
			return topics[r] != nil
		}) {
			continue // a detection's alarm (CPU), not one on trailwatch's failures
		}
		out = append(out, ownResource{"alarmNames", physicalName(t, stack, id, res, "AlarmName")})
	}
	var secrets []string
	if cfg.SlackSecretName != "" {
		secrets = append(secrets, cfg.SlackSecretName)
	}
	for _, r := range cfg.Routes {
		if r.SlackSecretName != "" {
			secrets = append(secrets, r.SlackSecretName)
		}
	}
	for _, s := range secrets {
		out = append(out, ownResource{"secretId", s})
	}
	return out
}

// onResource returns a fixture's event with the resource it names (in
// the request parameter of r's kind) replaced by r, in each spelling the
// calls use: false when the fixture names no resource of that kind.
func onResource(t *testing.T, raw []byte, r ownResource) ([]*event.Event, bool) {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	detail, _ := ev["detail"].(map[string]any)
	rp, _ := detail["requestParameters"].(map[string]any)
	region, _ := detail["awsRegion"].(string)
	account, _ := ev["account"].(string)
	var spellings []map[string]any
	switch {
	case r.kind == "topicArn" && rp["topicArn"] != nil:
		spellings = []map[string]any{{"topicArn": "arn:aws:sns:" + region + ":" + account + ":" + r.name}}
	case r.kind == "topicArn" && rp["subscriptionArn"] != nil:
		spellings = []map[string]any{{"subscriptionArn": "arn:aws:sns:" + region + ":" + account + ":" + r.name + ":4f8e2b1c-9d3a-4e6f-8b7c-2a1d0e9f8c7b"}}
	case r.kind == "queueUrl" && rp["queueUrl"] != nil:
		spellings = []map[string]any{{"queueUrl": "https://sqs." + region + ".amazonaws.com/" + account + "/" + r.name}}
	case r.kind == "tableName" && rp["tableName"] != nil:
		spellings = []map[string]any{{"tableName": r.name},
			{"tableName": "arn:aws:dynamodb:" + region + ":" + account + ":table/" + r.name}}
	case r.kind == "secretId" && rp["secretId"] != nil:
		spellings = []map[string]any{{"secretId": r.name},
			{"secretId": "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + r.name + "-Rk3T9q"}}
	case r.kind == "alarmNames" && rp["alarmNames"] != nil:
		spellings = []map[string]any{{"alarmNames": []any{r.name}}, {"alarmNames": []any{"orders-5xx", r.name}}}
	case r.kind == "functionName" && rp["functionName"] != nil:
		spellings = []map[string]any{{"functionName": r.name},
			{"functionName": "arn:aws:lambda:" + region + ":" + account + ":function:" + r.name + ":PROD"}}
	default:
		return nil, false
	}
	var out []*event.Event
	for _, set := range spellings {
		for k, v := range set {
			rp[k] = v
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		e, err := event.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out, true
}

// TestOwnResourcesReachTheirRules: the rules of trailwatch-delivery-tampered
// and trailwatch-function-tampered are narrowed to the stack's own names
// (OwnNames, OwnPrefixes), so each call the detections watch, on each
// function, topic, queue, table, alarm and Slack secret the synthesized
// stack has (named as CloudFormation will name it), must match the rules
// as synthesized and be reported by the decision under the stack's
// settings.
func TestOwnResourcesReachTheirRules(t *testing.T) {
	s := synth(t)
	for _, st := range []struct {
		stack *TrailwatchStack
		tmpl  map[string]any
		cfg   config.Config
	}{{s.stack, s.json, s.cfg}, {s.org, s.orgJSON, s.orgCfg}} {
		stack := *st.stack.StackName()
		deployed, err := s.catalog.WithEnv(st.stack.Settings.Env)
		if err != nil {
			t.Fatal(err)
		}
		own := ownResources(t, stack, st.tmpl, st.cfg)
		for id, wantKinds := range ownNarrowed {
			t.Run(stack+"/"+id, func(t *testing.T) {
				d, ok := s.catalog.Get(id)
				if !ok {
					t.Fatalf("no detection %s", id)
				}
				// The stack's rules for the detection: the home one, and in
				// organization mode the central bus's; one matcher per rule,
				// as they share a name.
				var rules []*quamina.Quamina
				for ruleID, res := range resources(st.tmpl, "AWS::Events::Rule") {
					if targets, _ := props(res)["Targets"].(arr); len(targets) == 1 &&
						(templateRule{Target: targets[0].(obj)}).InputTemplate() == event.RuleInputTemplate(d.ID) {
						rules = append(rules, compileRules(t, stack, map[string]obj{ruleID: props(res)}))
					}
				}
				if len(rules) == 0 {
					t.Fatalf("no rule serves %s", d.ID)
				}
				kinds := map[string]int{}
				for _, r := range own {
					for _, ex := range d.Tests.Positive {
						evs, ok := onResource(t, fixture.Read(t, ex.File), r)
						if !ok {
							continue
						}
						for _, ev := range evs {
							kinds[r.kind]++
							matched := 0
							for _, q := range rules {
								got, err := q.MatchesForEvent(ev.JSON)
								if err != nil {
									t.Fatal(err)
								}
								if len(got) > 0 {
									matched++
								}
							}
							if matched != len(rules) {
								t.Errorf("%s on %s (%s): %d of the %d rules match", ex.File, r.name, ev.CloudTrail.RequestParameters, matched, len(rules))
							}
							findings, err := deployed.Evaluate(ev)
							if err != nil {
								t.Fatal(err)
							}
							if !slices.ContainsFunc(findings, func(f detect.Finding) bool { return f.Detection.ID == d.ID }) {
								t.Errorf("%s on %s (%s): the decision under the stack's settings does not report it", ex.File, r.name, ev.CloudTrail.RequestParameters)
							}
						}
					}
				}
				for _, k := range wantKinds {
					if kinds[k] == 0 {
						t.Errorf("no call checked on a resource named in %s (resources %v)", k, own)
					}
				}
				t.Logf("%d rules, calls checked per kind %v", len(rules), kinds)
			})
		}
	}
}
