package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/config"
	"github.com/trailwatch/trailwatch/internal/heartbeat"
)

// envTemplate is a template with the test stack's topic, queue, table and
// bucket, and one function with vars as its environment.
func envTemplate(vars map[string]any) map[string]any {
	return map[string]any{"Resources": map[string]any{
		"Topic":  map[string]any{"Type": "AWS::SNS::Topic"},
		"Queue":  map[string]any{"Type": "AWS::SQS::Queue"},
		"Table":  map[string]any{"Type": "AWS::DynamoDB::Table"},
		"Bucket": map[string]any{"Type": "AWS::S3::Bucket"},
		"Fn": map[string]any{"Type": "AWS::Lambda::Function", "Metadata": map[string]any{"aws:cdk:path": "Trailwatch/CloudTrailFunction/Function/Resource"},
			"Properties": map[string]any{"Environment": map[string]any{"Variables": vars}}},
	}}
}

// settingsJoin is TRAILWATCH_SETTINGS as the template holds it: literal
// JSON of n bytes around the names of the topic, queue, table and bucket.
func settingsJoin(n int) map[string]any {
	return map[string]any{"Fn::Join": []any{"", []any{
		`{"env":{"allowedInstanceTypes":["` + strings.Repeat("p", n) + `"],"ownNames":["`,
		map[string]any{"Fn::GetAtt": []any{"Topic", "TopicName"}}, `","`,
		map[string]any{"Fn::GetAtt": []any{"Queue", "QueueName"}}, `","`,
		map[string]any{"Ref": "Table"}, `"],"trailBuckets":["`, map[string]any{"Ref": "Bucket"}, `"]}}`,
	}}}
}

// TestEnvironmentAtLongestNames: the environment check measures every
// variable of a function with the names and ARNs it references at their
// longest, and refuses, naming the variables and keys, what could outgrow
// Lambda's 4 KB.
func TestEnvironmentAtLongestNames(t *testing.T) {
	common := func(extra map[string]any) map[string]any {
		vars := map[string]any{"GOGC": "400", "GOMAXPROCS": "1", "GOMEMLIMIT": "96MiB", config.EnvTopicARN: map[string]any{"Ref": "Topic"},
			config.EnvStateTable: map[string]any{"Ref": "Table"}, config.EnvStormWindow: "5"}
		for k, v := range extra {
			vars[k] = v
		}
		return vars
	}
	ous := make([]string, config.MaxOrganizationTargets)
	for i := range ous {
		ous[i] = fmt.Sprintf("ou-%s-%032d", strings.Repeat("a", 32), i) // the longest OU IDs Organizations issues
	}
	for _, tc := range []struct {
		name    string
		vars    map[string]any
		wantErr []string
	}{
		{name: "room to spare", vars: common(map[string]any{config.EnvSettings: settingsJoin(1000)})},
		// With the names as tokens (about 20 characters each) this fits;
		// at their longest (256, 80, 255, 63, the topic ARN 300) it does not.
		{name: "fits only while names are short", vars: common(map[string]any{config.EnvSettings: settingsJoin(2900)}),
			wantErr: []string{"Trailwatch/CloudTrailFunction/Function/Resource", config.EnvSettings, config.KeySuppressions, config.KeyAllowedInstanceTypes, "4096"}},
		{name: "fifty OUs of the longest IDs", vars: common(map[string]any{config.EnvSettings: settingsJoin(100),
			heartbeat.EnvTargets: strings.Join(ous, ","), heartbeat.EnvRegions: "us-east-1,eu-west-1", heartbeat.EnvHomeAccount: map[string]any{"Ref": "AWS::AccountId"}}),
			wantErr: []string{heartbeat.EnvTargets, config.KeyOrganizationTargets, "shorten " + config.KeyOrganizationTargets}},
		{name: "a reference of an unknown kind", vars: common(map[string]any{"X": map[string]any{"Ref": "Elsewhere"}}),
			wantErr: []string{"Ref of Elsewhere", "maxRef"}},
		{name: "an unknown attribute", vars: common(map[string]any{"X": map[string]any{"Fn::GetAtt": []any{"Topic", "Owner"}}}),
			wantErr: []string{"Topic.Owner (AWS::SNS::Topic)", "maxGetAtt"}},
		{name: "an unknown function", vars: common(map[string]any{"X": map[string]any{"Fn::Sub": "${AWS::Region}"}}),
			wantErr: []string{"cannot measure", "Fn::Sub"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkEnvironments(envTemplate(tc.vars), nil)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("checkEnvironments accepts it")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestEnvironmentNamesTheKeysSet: the error names, of the keys that fill
// a variable, those the configuration sets.
func TestEnvironmentNamesTheKeysSet(t *testing.T) {
	vars := map[string]any{config.EnvSettings: settingsJoin(3500), config.EnvTopicARN: map[string]any{"Ref": "Topic"}}
	err := checkEnvironments(envTemplate(vars), func(k string) bool { return k == config.KeyAllowedInstanceTypes })
	if err == nil {
		t.Fatal("checkEnvironments accepts it")
	}
	if msg := err.Error(); !strings.Contains(msg, "(from "+config.KeyAllowedInstanceTypes+")") || !strings.Contains(msg, "shorten "+config.KeyAllowedInstanceTypes+" by at least") ||
		strings.Contains(msg, config.KeySuppressions) {
		t.Errorf("error %q does not name %s alone", msg, config.KeyAllowedInstanceTypes)
	}
}

// TestDeployedEnvironmentsFit: the golden templates' functions pass the
// check, so every reference they hold is of a measured kind.
func TestDeployedEnvironmentsFit(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.template.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden templates: %v", err)
	}
	functions := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var template map[string]any
		if err := json.Unmarshal(b, &template); err != nil {
			t.Fatal(err)
		}
		if err := checkEnvironments(template, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		for _, r := range template["Resources"].(map[string]any) {
			if r.(map[string]any)["Type"] == "AWS::Lambda::Function" {
				functions++
			}
		}
	}
	if functions < 3 {
		t.Errorf("the golden templates hold %d functions, want the 3 of the main stack", functions)
	}
}

// TestSynthesizedEnvironmentsFit: the test stacks' functions, organization
// mode's with the heartbeat variables among them, pass the check.
func TestSynthesizedEnvironmentsFit(t *testing.T) {
	s := synth(t)
	for name, template := range map[string]map[string]any{"main": s.json, "existing": s.existingJSON, "organization": s.orgJSON, "forwarder": s.forwarderJSON} {
		if err := checkEnvironments(template, nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !strings.Contains(fmt.Sprint(s.orgJSON), heartbeat.EnvTargets) {
		t.Errorf("the organization stack's template sets no %s", heartbeat.EnvTargets)
	}
}
