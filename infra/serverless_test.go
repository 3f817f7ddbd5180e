package main

import (
	"strings"
	"testing"
)

// TestServerlessPractices checks, on every stack, the rules of cdk-nag's
// Serverless pack. The pack ships from cdk-nag 2.36; the Go module proxy
// here serves cdk-nag-go up to v2.35.0, so the rules are written out: each
// function sets its memory and timeout, traces, keeps failed asynchronous
// invocations (on-failure destination or dead-letter queue) and runs a
// current runtime; every EventBridge target has a retry policy and a
// dead-letter queue; every log group expires; no policy allows every
// action of a service.
func TestServerlessPractices(t *testing.T) {
	s := synth(t)
	for name, tmpl := range map[string]map[string]any{"main": s.json, "existing trail": s.existingJSON, "forwarder": s.forwarderJSON} {
		t.Run(name, func(t *testing.T) {
			destinations := map[string]bool{}
			for _, c := range resources(tmpl, "AWS::Lambda::EventInvokeConfig") {
				p := props(c)
				dest, _ := p["DestinationConfig"].(obj)
				if _, ok := dest["OnFailure"]; ok {
					if fn, ok := p["FunctionName"].(obj); ok {
						destinations[flat(fn)] = true
					}
				}
			}
			for id, fn := range resources(tmpl, "AWS::Lambda::Function") {
				p := props(fn)
				if p["MemorySize"] == nil || p["Timeout"] == nil {
					t.Errorf("function %s: memory %v, timeout %v; set both", id, p["MemorySize"], p["Timeout"])
				}
				if tc, _ := p["TracingConfig"].(obj); tc["Mode"] != "Active" {
					t.Errorf("function %s: tracing %v, want Active", id, p["TracingConfig"])
				}
				if p["DeadLetterConfig"] == nil && !destinations["${"+id+"}"] {
					t.Errorf("function %s keeps no failed asynchronous invocation", id)
				}
				if p["Runtime"] != "provided.al2023" {
					t.Errorf("function %s: runtime %v", id, p["Runtime"])
				}
			}
			for id, r := range resources(tmpl, "AWS::Events::Rule") {
				targets, _ := props(r)["Targets"].(arr)
				for _, target := range targets {
					tg := target.(obj)
					if tg["DeadLetterConfig"] == nil || tg["RetryPolicy"] == nil {
						t.Errorf("rule %s target %v: dead-letter %v, retry %v", id, tg["Id"], tg["DeadLetterConfig"], tg["RetryPolicy"])
					}
				}
			}
			for id, lg := range resources(tmpl, "AWS::Logs::LogGroup") {
				if props(lg)["RetentionInDays"] == nil {
					t.Errorf("log group %s never expires", id)
				}
			}
			for id, p := range resources(tmpl, "AWS::IAM::Policy") {
				for _, st := range statements(t, props(p)["PolicyDocument"]) {
					for _, a := range asList(st["Action"]) {
						if a == "*" || strings.HasSuffix(a.(string), ":*") {
							t.Errorf("policy %s allows %v", id, a)
						}
					}
				}
			}
		})
	}
}
