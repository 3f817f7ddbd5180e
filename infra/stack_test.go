//lint:file-ignore SA1019 cxapi.SynthesisMessage is what assertions and the Go CDK return for annotations; its successor (@aws-cdk/cloud-assembly-api) has no Go binding in awscdk v2.270.0.

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

// Golden templates: the main stack, and the member template the StackSet
// deploys into every member account.
const (
	goldenTemplate       = "testdata/Trailwatch.template.json"
	goldenMemberTemplate = "testdata/TrailwatchMember.template.json"
)

// volatile matches asset hashes, which depend on the bytes of the function
// build; the golden template must not.
var volatile = regexp.MustCompile(`[0-9a-f]{64}`)

// TestGoldenTemplate compares the synthesized templates with the reviewed
// copies in testdata. After an intended change, run
// `go test ./infra/ -run TestGoldenTemplate -update` and review the diff.
func TestGoldenTemplate(t *testing.T) {
	s := synth(t)
	for _, tc := range []struct {
		file string
		tmpl map[string]any
	}{{goldenTemplate, s.json}, {goldenMemberTemplate, s.member.Template}} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			got, err := json.MarshalIndent(tc.tmpl, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(volatile.ReplaceAll(got, []byte("ASSET_HASH")), '\n')
			if *update {
				if err := os.MkdirAll(filepath.Dir(tc.file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(tc.file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", tc.file)
				return
			}
			want, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatalf("%v (create it with go test ./infra/ -run TestGoldenTemplate -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("template differs from %s (refresh with -update after review):\n%s", tc.file, firstDifference(string(got), string(want)))
			}
		})
	}
}

// firstDifference shows the first differing line with some context.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			from := max(0, i-3)
			var b strings.Builder
			for j := from; j < i; j++ {
				fmt.Fprintf(&b, "  %d: %s\n", j+1, g[j])
			}
			fmt.Fprintf(&b, "got  %d: %s\nwant %d: %s\n", i+1, gl, i+1, wl)
			return b.String()
		}
	}
	return "(no line differs)"
}

func TestNoUnsuppressedNagFindings(t *testing.T) {
	s := synth(t)
	finding := assertions.Match_StringLikeRegexp(jsii.String(nagFinding.String()))
	for _, m := range *s.annotations.FindError(jsii.String("*"), finding) {
		t.Errorf("cdk-nag error at %s: %v", *m.Id, m.Entry.Data)
	}
	for _, m := range *s.annotations.FindWarning(jsii.String("*"), finding) {
		t.Errorf("cdk-nag warning at %s: %v", *m.Id, m.Entry.Data)
	}
	// The second stack's messages come from the same assembly (another
	// Annotations_FromStack would synthesize the app again).
	for _, level := range []cxapi.SynthesisMessageLevel{cxapi.SynthesisMessageLevel_ERROR, cxapi.SynthesisMessageLevel_WARNING} {
		for _, m := range findMessages(s.existingMessages, level, nagFinding) {
			t.Errorf("%s: cdk-nag %s at %s: %v", *s.existing.StackName(), level, *m.Id, m.Entry.Data)
		}
	}
}

// TestNagRan reads the reports cdk-nag writes next to the templates, one
// per pack and stack: each must list checks (else the pack did not run and
// the test above proves nothing) and none of them non-compliant.
func TestNagRan(t *testing.T) {
	s := synth(t)
	for _, pack := range nagPackNames {
		for _, st := range []awscdk.Stack{s.stack.Stack, s.existing.Stack, s.forwarder.Stack, s.org.Stack} {
			stack := *st.StackName()
			// <pack>-<stage ID>-<stack>-NagReport.csv (cdk-nag 2.38); the
			// app is the stage and its ID is "", hence "Serverless--Trailwatch-...".
			name := fmt.Sprintf("%s-%s-%s-NagReport.csv", pack, *awscdk.Stage_Of(st).Node().Id(), stack)
			path := filepath.Join(s.outdir, name)
			f, err := os.Open(path)
			if err != nil {
				t.Errorf("cdk-nag report: %v", err)
				continue
			}
			rows, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			compliant := 0
			for _, row := range rows[1:] {
				switch row[2] {
				case "Compliant":
					compliant++
				case "Suppressed":
				default:
					t.Errorf("%s: %s on %s is %s", stack, row[0], row[1], row[2])
				}
			}
			if compliant == 0 {
				t.Errorf("%s: cdk-nag's %s pack reports no compliant check; did it run?", stack, pack)
			}
		}
	}
}

// suppression is one cdk-nag suppression as the template metadata holds it.
type suppression struct {
	Resource  string
	ID        string `json:"id"`
	Reason    string `json:"reason"`
	AppliesTo []any  `json:"applies_to"`
}

func (s suppression) key() string { return fmt.Sprintf("%s %v", s.ID, s.AppliesTo) }

func suppressions(t *testing.T, tmpl map[string]any) []suppression {
	t.Helper()
	var out []suppression
	for id, r := range tmpl["Resources"].(obj) {
		meta, _ := r.(obj)["Metadata"].(obj)
		nag, _ := meta["cdk_nag"].(obj)
		raw, err := json.Marshal(nag["rules_to_suppress"])
		if err != nil {
			t.Fatal(err)
		}
		var list []suppression
		if err := json.Unmarshal(raw, &list); err != nil {
			t.Fatalf("%s: cdk_nag metadata: %v", id, err)
		}
		for _, s := range list {
			s.Resource = id
			out = append(out, s)
		}
	}
	return out
}

// TestSuppressionsCarryReasons checks every suppression in both templates
// and pins the set: a new suppression must be added here, on purpose.
func TestSuppressionsCarryReasons(t *testing.T) {
	s := synth(t)
	actionName := regexp.MustCompile(`\b[a-z0-9-]+:[A-Z][A-Za-z*]+`)
	for _, tmpl := range []map[string]any{s.json, s.existingJSON, s.forwarderJSON, s.orgJSON, s.member.Template} {
		for _, sup := range suppressions(t, tmpl) {
			if len(strings.TrimSpace(sup.Reason)) < 40 {
				t.Errorf("%s: suppression %s has no real reason: %q", sup.Resource, sup.key(), sup.Reason)
			}
			if sup.ID == "AwsSolutions-IAM5" && !actionName.MatchString(sup.Reason) {
				t.Errorf("%s: wildcard suppression %s does not name the API it is for: %q", sup.Resource, sup.key(), sup.Reason)
			}
		}
	}

	var got []string
	for _, sup := range suppressions(t, s.json) {
		if !slices.Contains(got, sup.key()) {
			got = append(got, sup.key())
		}
	}
	slices.Sort(got)
	want := []string{
		"AwsSolutions-IAM5 [Action::kms:GenerateDataKey*]",
		"AwsSolutions-IAM5 [Resource::*]",
		"AwsSolutions-IAM5 [Resource::arn:<AWS::Partition>:s3:::*]",
		"AwsSolutions-SQS3 []",
		"Serverless-LambdaDLQ []",
		"Serverless-SQSRedrivePolicy []",
	}
	if !slices.Equal(got, want) {
		t.Errorf("suppressions = %q, want %q", got, want)
	}
}
