package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

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

// TestSigmaRulesLayer: with trailwatch:sigmaRules (the second test stack)
// the cloudtrail and digest functions get a layer of the rules folder and
// read it from /opt; the instance function, which decides no CloudTrail
// event, does not.
func TestSigmaRulesLayer(t *testing.T) {
	s := synth(t)
	if s.existing.SigmaRules == nil {
		t.Fatal("no Sigma rules layer in the stack configured with trailwatch:sigmaRules")
	}
	layerID := logicalID(t, s.existing.Stack, s.existing.SigmaRules)
	for _, tc := range []struct {
		fn   *AlertFunction
		want bool
	}{{s.existing.Function, true}, {s.existing.Digest, true}, {s.existing.Instance, false}} {
		res := resources(s.existingJSON, "AWS::Lambda::Function")[logicalID(t, s.existing.Stack, tc.fn.Function)]
		layers, _ := props(res)["Layers"].([]any)
		has := len(layers) == 1 && equalJSON(layers[0], map[string]any{"Ref": layerID})
		env := functionEnv(t, s.existingJSON, logicalID(t, s.existing.Stack, tc.fn.Function))
		if has != tc.want || (env[config.EnvSigmaRules] == sigmaRulesPath) != tc.want {
			t.Errorf("%s: layer %v, %s = %v; want the layer %v", *tc.fn.Node().Path(), layers, config.EnvSigmaRules, env[config.EnvSigmaRules], tc.want)
		}
	}
	if s.stack.SigmaRules != nil {
		t.Error("a stack without trailwatch:sigmaRules has a Sigma rules layer")
	}
}

// TestSigmaBuilds: the cloudtrail and digest functions run their build
// with the Sigma evaluator (<name>-sigma, scripts/build-functions) when
// trailwatch:sigmaRules is set and their default build, without it,
// otherwise; the instance function has one build. Each placeholder
// bootstrap has its own content, so each folder is its own asset key.
func TestSigmaBuilds(t *testing.T) {
	s := synth(t)
	key := func(tmpl map[string]any, stack awscdk.Stack, fn *AlertFunction) string {
		res := resources(tmpl, "AWS::Lambda::Function")[logicalID(t, stack, fn.Function)]
		code, _ := props(res)["Code"].(map[string]any)
		k, _ := code["S3Key"].(string)
		if k == "" {
			t.Fatalf("%s: no asset key in %v", *fn.Node().Path(), code)
		}
		return k
	}
	plain := map[string]string{
		"cloudtrail": key(s.json, s.stack.Stack, s.stack.Function),
		"digest":     key(s.json, s.stack.Stack, s.stack.Digest),
		"instance":   key(s.json, s.stack.Stack, s.stack.Instance),
	}
	sigma := map[string]string{
		"cloudtrail": key(s.existingJSON, s.existing.Stack, s.existing.Function),
		"digest":     key(s.existingJSON, s.existing.Stack, s.existing.Digest),
		"instance":   key(s.existingJSON, s.existing.Stack, s.existing.Instance),
	}
	if plain["cloudtrail"] == sigma["cloudtrail"] || plain["digest"] == sigma["digest"] {
		t.Errorf("with Sigma rules the functions keep their default builds: %v, without %v", sigma, plain)
	}
	if sigma["cloudtrail"] == sigma["digest"] || sigma["cloudtrail"] == plain["digest"] || sigma["digest"] == plain["cloudtrail"] {
		t.Errorf("the Sigma builds are not each function's own: %v, without %v", sigma, plain)
	}
	if plain["instance"] != sigma["instance"] {
		t.Errorf("the instance function changed build with Sigma rules: %s, without %s", sigma["instance"], plain["instance"])
	}
}
