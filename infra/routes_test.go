package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/route"
)

// TestRoutes: organization mode's routes (testRoutes) get what their
// channels need: the email route a topic of its own, encrypted with the
// alert topic's key, its address subscribed; every function may read each
// route's Slack secret and publish to each route's topic; the functions'
// environment carries the routes with the topic ARN and no address.
func TestRoutes(t *testing.T) {
	s := synth(t)
	if len(s.org.Routes) != 3 {
		t.Fatalf("%d routes in the organization stack, want 3", len(s.org.Routes))
	}
	var payments RouteChannels
	for _, rc := range s.org.Routes {
		if (rc.Topic != nil) != (rc.Route.Name == "payments") {
			t.Errorf("route %s: topic %v; only the route with emails gets one", rc.Route.Name, rc.Topic)
		}
		if rc.Route.Name == "payments" {
			payments = rc
		}
	}
	topicID := logicalID(t, s.org.Stack, payments.Topic)
	topic := props(resources(s.orgJSON, "AWS::SNS::Topic")[topicID])
	if topic["KmsMasterKeyId"] == nil {
		t.Errorf("the route's topic is not encrypted: %v", topic)
	}
	var subscribed bool
	for _, sub := range resources(s.orgJSON, "AWS::SNS::Subscription") {
		p := props(sub)
		if ref, _ := p["TopicArn"].(map[string]any); ref != nil && ref["Ref"] == topicID && p["Endpoint"] == "payments-sec@example.com" {
			subscribed = true
		}
	}
	if !subscribed {
		t.Error("payments-sec@example.com is not subscribed to the route's topic")
	}

	for _, fn := range []*AlertFunction{s.org.Function, s.org.Instance, s.org.Digest} {
		env := functionEnv(t, s.orgJSON, logicalID(t, s.org.Stack, fn.Function))
		raw, err := json.Marshal(env[config.EnvRoutes])
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if strings.Contains(text, "payments-sec@example.com") {
			t.Errorf("%s: an email address in the environment: %s", *fn.Node().Path(), text)
		}
		if !strings.Contains(text, topicID) || !strings.Contains(text, "trailwatch/slack-prod") {
			t.Errorf("%s: %s = %s; want the prod secret and the payments topic", *fn.Node().Path(), config.EnvRoutes, text)
		}
		sts := roleStatements(t, s.orgJSON, logicalID(t, s.org.Stack, fn.Role))
		var secrets, publish bool
		for _, st := range sts {
			if slices.Contains(st.Actions, "secretsmanager:GetSecretValue") && strings.Contains(strings.Join(st.Resources, " "), "trailwatch/slack-prod-??????") {
				secrets = true
			}
			if slices.Contains(st.Actions, "sns:Publish") && strings.Contains(strings.Join(st.Resources, " "), topicID) {
				publish = true
			}
		}
		if !secrets || !publish {
			t.Errorf("%s: may read the prod secret %v, publish to the payments topic %v", *fn.Node().Path(), secrets, publish)
		}
	}
	// The environment's routes read back as the functions read them.
	env := functionEnv(t, s.orgJSON, logicalID(t, s.org.Stack, s.org.Function.Function))
	if str, ok := env[config.EnvRoutes].(string); ok {
		var tbl route.Table
		if err := json.Unmarshal([]byte(str), &tbl); err != nil || len(tbl) != 3 {
			t.Errorf("%s does not decode as 3 routes: %v", config.EnvRoutes, err)
		}
	}
	// Route channels are trailwatch's own delivery.
	if !slices.Contains(s.org.Settings.Env.OwnNames, "trailwatch/slack-prod") {
		t.Errorf("OwnNames %v lack the route's secret", s.org.Settings.Env.OwnNames)
	}
}
