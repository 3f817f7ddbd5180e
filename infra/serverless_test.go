package main

import (
	"strings"
	"testing"
)

// TestServerlessPractices checks, on every stack, what cdk-nag's Serverless
// pack (run on every synthesis, see addNagChecks) leaves unchecked:
//   - every function sends failed asynchronous invocations to a dead-letter
//     queue of its stack: the pack's LambdaDLQ is suppressed in favour of
//     on-failure destinations, and its LambdaAsyncFailureDestination judges
//     only the EventInvokeConfigs that exist, so a function without one
//     would pass the pack;
//   - every function runs provided.al2023: LambdaLatestVersion skips the
//     provided runtimes;
//   - every EventBridge target has a retry policy: EventBusDLQ checks only
//     the dead-letter queue;
//   - no policy allows every action of a service: LambdaStarPermissions reads
//     only policies inline in a Lambda role, and the roles here get theirs as
//     separate AWS::IAM::Policy resources.
func TestServerlessPractices(t *testing.T) {
	s := synth(t)
	for name, tmpl := range map[string]map[string]any{"main": s.json, "existing trail": s.existingJSON, "forwarder": s.forwarderJSON} {
		t.Run(name, func(t *testing.T) {
			queues := map[string]bool{}
			for id := range resources(tmpl, "AWS::SQS::Queue") {
				queues["${"+id+".Arn}"] = true
			}
			// onFailure maps "${FunctionID}" to its on-failure destination.
			onFailure := map[string]string{}
			for _, c := range resources(tmpl, "AWS::Lambda::EventInvokeConfig") {
				p := props(c)
				dest, _ := p["DestinationConfig"].(obj)
				failure, _ := dest["OnFailure"].(obj)
				onFailure[flat(p["FunctionName"])] = flat(failure["Destination"])
			}
			for id, fn := range resources(tmpl, "AWS::Lambda::Function") {
				p := props(fn)
				// The distributed scan's function is invoked only
				// synchronously, by its state machine, which retries a
				// failed child and fails the run: no asynchronous
				// invocation for an on-failure destination to catch.
				scanFn := strings.HasPrefix(id, "ScanFunction")
				if dest := onFailure["${"+id+"}"]; !scanFn && !queues[dest] {
					t.Errorf("function %s: on-failure destination %q, want a queue of the stack", id, dest)
				}
				if p["Runtime"] != "provided.al2023" {
					t.Errorf("function %s: runtime %v, want provided.al2023", id, p["Runtime"])
				}
			}
			for id, r := range resources(tmpl, "AWS::Events::Rule") {
				targets, _ := props(r)["Targets"].(arr)
				for _, target := range targets {
					tg := target.(obj)
					if tg["RetryPolicy"] == nil {
						t.Errorf("rule %s target %v has no retry policy", id, tg["Id"])
					}
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
