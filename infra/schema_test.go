package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// rainModule ships CloudFormation's registry schemas, one JSON Schema per
// resource type, under internal/aws/cfn/schemas (an internal package: the
// files are read, not imported). The go command fetches the module through
// the module proxy like any dependency.
const rainModule = "github.com/aws-cloudformation/rain@v1.24.4"

var registry struct {
	once sync.Once
	dir  string
	err  error
	mu   sync.Mutex
	// compiled schemas by resource type
	schemas map[string]*jsonschema.Schema
}

// schemasDir returns the folder of the registry schemas.
func schemasDir(t *testing.T) string {
	t.Helper()
	registry.once.Do(func() {
		out, err := exec.Command("go", "mod", "download", "-json", rainModule).Output()
		if err != nil {
			registry.err = fmt.Errorf("go mod download %s: %w", rainModule, err)
			return
		}
		var m struct{ Dir, Error string }
		if err := json.Unmarshal(out, &m); err != nil || m.Error != "" {
			registry.err = fmt.Errorf("go mod download %s: %v %s", rainModule, err, m.Error)
			return
		}
		registry.dir = filepath.Join(m.Dir, "internal", "aws", "cfn", "schemas")
		registry.schemas = map[string]*jsonschema.Schema{}
	})
	if registry.err != nil {
		t.Fatal(registry.err)
	}
	return registry.dir
}

// intrinsic accepts a CloudFormation intrinsic function (Ref, Fn::...)
// where a value of any type is expected: the template resolves it when it
// is deployed.
var intrinsic = map[string]any{
	"type": "object", "minProperties": 1, "maxProperties": 1,
	"patternProperties":    map[string]any{"^(Ref|Fn::[A-Za-z]+|Condition)$": map[string]any{}},
	"additionalProperties": false,
}

// acceptIntrinsics rewrites a registry schema so that every value a
// property may hold may also be an intrinsic function, at any depth.
func acceptIntrinsics(schema map[string]any) {
	var sub func(v any) any
	walk := func(m map[string]any) {
		for _, key := range []string{"properties", "patternProperties", "definitions"} {
			if ps, ok := m[key].(map[string]any); ok {
				for k, p := range ps {
					ps[k] = sub(p)
				}
			}
		}
		for _, key := range []string{"items", "additionalProperties"} {
			if p, ok := m[key].(map[string]any); ok {
				m[key] = sub(p)
			}
		}
		for _, key := range []string{"oneOf", "anyOf", "allOf"} {
			if list, ok := m[key].([]any); ok {
				for i, p := range list {
					list[i] = sub(p)
				}
			}
		}
	}
	sub = func(v any) any {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		walk(m)
		return map[string]any{"anyOf": []any{m, intrinsic}}
	}
	walk(schema)
}

// ecmaRegexp compiles the schemas' patterns as ECMAScript regular
// expressions (github.com/dlclark/regexp2).
func ecmaRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return (*ecmaRe)(re), nil
}

type ecmaRe regexp2.Regexp

func (re *ecmaRe) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return ok && err == nil
}

func (re *ecmaRe) String() string { return (*regexp2.Regexp)(re).String() }

// schemaFor returns the compiled registry schema of a resource type.
func schemaFor(t *testing.T, typ string) *jsonschema.Schema {
	t.Helper()
	dir := schemasDir(t)
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if s, ok := registry.schemas[typ]; ok {
		return s
	}
	parts := strings.Split(typ, "::") // AWS::Events::Rule
	if len(parts) != 3 {
		t.Fatalf("resource type %q", typ)
	}
	file := filepath.Join(dir, strings.ToLower(parts[0]), strings.ToLower(parts[1]), strings.ToLower(parts[2])+".json")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%s: no registry schema: %v", typ, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	acceptIntrinsics(doc)
	// The registry's own keywords (handlers, readOnlyProperties,
	// insertionOrder, ...) are not JSON Schema's and are ignored; its
	// meta-schema is not fetched.
	delete(doc, "$schema")
	delete(doc, "$id")
	url := "https://registry.schemas.invalid/" + strings.ReplaceAll(typ, "::", "-") + ".json"
	c := jsonschema.NewCompiler()
	// The registry's patterns are ECMAScript's (look-behinds), as JSON
	// Schema says; Go's regexp does not read them.
	c.UseRegexpEngine(ecmaRegexp)
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("%s: compile the registry schema: %v", typ, err)
	}
	registry.schemas[typ] = s
	return s
}

// schemaProblems validates every resource of a template against its
// registry schema; custom resources and the CDK's metadata resource have
// none.
func schemaProblems(t *testing.T, tmpl map[string]any) []string {
	t.Helper()
	all, _ := tmpl["Resources"].(map[string]any)
	ids := make([]string, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var problems []string
	for _, id := range ids {
		res, _ := all[id].(map[string]any)
		typ, _ := res["Type"].(string)
		if !strings.HasPrefix(typ, "AWS::") || typ == "AWS::CDK::Metadata" {
			continue
		}
		p, ok := res["Properties"]
		if !ok {
			p = map[string]any{}
		}
		// Through JSON, so numbers are what the validator expects.
		b, _ := json.Marshal(p)
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := schemaFor(t, typ).Validate(inst); err != nil {
			problems = append(problems, fmt.Sprintf("%s (%s): %v", id, typ, err))
		}
	}
	return problems
}

// TestTemplatesMatchCloudFormationSchemas: every resource of every
// template trailwatch synthesizes (the main stack, one relying on an
// existing trail, a forwarder, organization mode and its member template)
// is valid by CloudFormation's registry schema of its type, intrinsic
// functions accepted where a value is expected.
func TestTemplatesMatchCloudFormationSchemas(t *testing.T) {
	s := synth(t)
	for name, tmpl := range map[string]map[string]any{
		"Trailwatch": s.json, "existing trail": s.existingJSON, "forwarder": s.forwarderJSON,
		"organization": s.orgJSON, "member": s.member.Template,
	} {
		t.Run(name, func(t *testing.T) {
			for _, p := range schemaProblems(t, tmpl) {
				t.Error(p)
			}
		})
	}
}

// TestSchemaCheckCatchesMistakes: the check fails a resource with a
// property its type does not have, and one with a value of the wrong type.
func TestSchemaCheckCatchesMistakes(t *testing.T) {
	for name, res := range map[string]map[string]any{
		"unknown property": {"Type": "AWS::Events::Rule", "Properties": map[string]any{"State": "ENABLED", "Bogus": true}},
		"wrong type":       {"Type": "AWS::SQS::Queue", "Properties": map[string]any{"MessageRetentionPeriod": "two weeks"}},
		"wrong nested":     {"Type": "AWS::Events::Rule", "Properties": map[string]any{"Targets": []any{map[string]any{"Id": "x", "Arn": "a", "RetryPolicy": map[string]any{"MaximumRetryAttempts": "many"}}}}},
	} {
		if p := schemaProblems(t, map[string]any{"Resources": map[string]any{"R": res}}); len(p) == 0 {
			t.Errorf("%s: the schema check passed %v", name, res)
		}
	}
	ok := map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{"MessageRetentionPeriod": map[string]any{"Ref": "Retention"},
		"KmsMasterKeyId": map[string]any{"Fn::GetAtt": []any{"Key", "Arn"}}}}
	if p := schemaProblems(t, map[string]any{"Resources": map[string]any{"R": ok}}); len(p) > 0 {
		t.Errorf("intrinsic functions refused: %v", p)
	}
}
