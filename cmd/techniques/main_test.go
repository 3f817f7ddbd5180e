package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rec is a CloudTrail record of the test corpus.
func rec(id, name, agent, principal, params string) map[string]any {
	return map[string]any{
		"eventVersion": "1.08", "eventID": id, "eventName": name, "eventSource": "ec2.amazonaws.com",
		"eventTime": "2023-07-10T12:00:00Z", "awsRegion": "us-east-1", "userAgent": agent,
		"userIdentity":      map[string]any{"type": "AssumedRole", "arn": principal},
		"requestParameters": json.RawMessage(params), "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
	}
}

func TestTechniques(t *testing.T) {
	const user = "arn:aws:iam::111122223333:user/alice"
	records := []map[string]any{
		// ec2-share-ami: warm-up and detonation in one run, the revert later.
		rec("ami-warm", "CreateImage", "stratus-red-team_aaaa", user, `{"name":"stratus-red-team-share-ami-ami"}`),
		rec("ami-share", "ModifyImageAttribute", "stratus-red-team_aaaa", user, `{"imageId":"ami-1"}`),
		// ec2-get-password-data: its role's calls, and the run's.
		rec("pw-1", "GetPasswordData", "stratus-red-team_bbbb", "arn:aws:sts::111122223333:assumed-role/stratus-red-team-ec2-get-password-data-role/s", `{}`),
		rec("pw-role", "DescribeInstances", "aws-cli/2", "arn:aws:sts::111122223333:assumed-role/stratus-red-team-ec2-get-password-data-role/s", `{}`),
		// ec2-share-ebs-snapshot: no marker, found by its call.
		rec("snap", "ModifySnapshotAttribute", "stratus-red-team_cccc", user, `{}`),
		// A warm-up that never detonated, and calls by no Stratus run.
		rec("lui-warm", "CreateVpc", "stratus-red-team_dddd", user, `{"tags":"stratus-red-team-ec2lui-vpc"}`),
		rec("other", "ModifyImageAttribute", "console", user, `{}`),
	}
	revert := rec("ami-revert", "ModifyImageAttribute", "stratus-red-team_eeee", user, `{"imageId":"ami-1"}`)
	revert["eventTime"] = "2023-07-10T12:30:00Z"
	records = append(records, revert)

	dir := t.TempDir()
	b, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(dir, "trail.json")
	if err := os.WriteFile(corpus, b, 0o600); err != nil {
		t.Fatal(err)
	}
	replay := func(name, lines string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(lines), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := replay("before.jsonl", `{"id":"ami-share","detections":[{"id":"ami-public","severity":"medium"}]}
{"id":"ami-revert","detections":[{"id":"ami-public","severity":"critical"}]}
{"id":"other","detections":[{"id":"ami-public","severity":"critical"}]}
{"id":"pw-1","detections":[]}
`)
	after := replay("after.jsonl", `{"id":"ami-share","detections":[{"id":"a","severity":"low"},{"id":"b","severity":"high"}]}
{"id":"pw-role","detections":[{"id":"c","severity":"medium"}]}
{"id":"snap","detections":[{"id":"d","severity":"info"}]}
`)
	var out, errOut bytes.Buffer
	if code := cli([]string{"-replay", before, "-replay", after, corpus}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
		f := strings.Fields(line)
		got[f[0]] = f[1:]
	}
	want := map[string][]string{
		"aws.exfiltration.ec2-share-ami":              {"1", "medium", "high"},
		"aws.credential-access.ec2-get-password-data": {"2", "-", "medium"},
		"aws.exfiltration.ec2-share-ebs-snapshot":     {"1", "-", "info"},
		"medium": {"or", "higher", "1", "of", "3", "(33%)", "2", "of", "3", "(67%)"},
	}
	if len(got) != len(want) {
		t.Errorf("got lines %v, want %v", got, want)
	}
	for k, w := range want {
		if g := got[k]; strings.Join(g, " ") != strings.Join(w, " ") {
			t.Errorf("%s: got %v, want %v", k, g, w)
		}
	}
}

func TestTechniquesBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(dir, "trail.json")
	if err := os.WriteFile(corpus, []byte(`{"Records":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"no replay":         {corpus},
		"replay not json":   {"-replay", bad, corpus},
		"replay missing":    {"-replay", filepath.Join(dir, "none.jsonl"), corpus},
		"corpus unreadable": {"-replay", bad, filepath.Join(dir, "none")},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := cli(args, &out, &errOut); code == 0 {
				t.Errorf("exit 0, want an error (stdout %q)", out.String())
			}
		})
	}
}
