// Command techniques reports, for recorded Stratus Red Team attack
// simulations, the highest severity trailwatch raised on each technique's
// own calls: it reads the CloudTrail logs of the simulation and the output
// of `trailwatch replay --offline --format json` over the same logs (one or
// more, e.g. two versions of trailwatch side by side), and prints one line
// per technique with the highest severity in each replay output. It is a
// development tool, not shipped with trailwatch (docs/performance.md,
// "Pattern coverage and attack techniques").
//
//	go run ./cmd/trailwatch replay --offline --format json CORPUS > after.jsonl
//	go run ./cmd/techniques -replay before.jsonl -replay after.jsonl [CORPUS]
//
// CORPUS defaults to ../shared/corpus/invictus-aws-dataset/CloudTrail.
//
// Which records are a technique's: Stratus runs each technique's warm-up
// and detonation with the user agent "stratus-red-team_<run ID>", and its
// cleanup's reverts under run IDs of their own. A run belongs to the first
// technique of the table below whose resource marker (Stratus names its
// resources "stratus-red-team-<marker>...") appears in the run's records,
// or else whose detonation calls the run makes. A technique's records are
// the detonation calls of its first run (later runs repeat it or revert
// it; the warm-up's setup calls are not the attack), and every call made
// by a principal named after its marker (the role of the instance or user
// it creates, whose calls carry another user agent).
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trailwatch/trailwatch/internal/detect"
	"github.com/trailwatch/trailwatch/internal/eventfile"
)

const defaultCorpus = "../shared/corpus/invictus-aws-dataset/CloudTrail"

// technique is one Stratus Red Team technique as its records show it.
type technique struct {
	// ID is Stratus's technique ID.
	ID string
	// Marker is the part of the names Stratus gives the technique's
	// resources after "stratus-red-team-"; empty when they have none.
	Marker string
	// Calls are the detonation's API calls (CloudTrail event names).
	Calls []string
}

// techniques are Stratus Red Team's AWS techniques (v2), by the resource
// names and detonation calls of their Terraform and Go code. Order
// matters where runs share calls: the first match wins (iam-create-admin-user
// names its user with no marker and creates an access key as
// iam-backdoor-user does, whose runs the marker finds first).
var techniques = []technique{
	{"aws.credential-access.ec2-get-password-data", "ec2-get-password-data", []string{"GetPasswordData"}},
	{"aws.credential-access.ec2-steal-instance-credentials", "ec2-steal-credentials", []string{"SendCommand"}},
	{"aws.credential-access.secretsmanager-retrieve-secrets", "retrieve-secret", []string{"GetSecretValue", "ListSecrets"}},
	{"aws.credential-access.ssm-retrieve-securestring-parameters", "", []string{"GetParameters", "GetParameter", "DescribeParameters"}},
	{"aws.defense-evasion.cloudtrail-delete", "cloudtraild", []string{"DeleteTrail"}},
	{"aws.defense-evasion.cloudtrail-event-selectors", "ctes", []string{"PutEventSelectors"}},
	{"aws.defense-evasion.cloudtrail-lifecycle-rule", "ctlr", []string{"PutBucketLifecycle"}},
	{"aws.defense-evasion.cloudtrail-stop", "ct-stop", []string{"StopLogging"}},
	{"aws.defense-evasion.organizations-leave", "leave-org", []string{"LeaveOrganization"}},
	{"aws.defense-evasion.vpc-remove-flow-logs", "remove-flow-logs", []string{"DeleteFlowLogs"}},
	{"aws.discovery.ec2-download-user-data", "get-usr-data", []string{"DescribeInstanceAttribute"}},
	{"aws.discovery.ec2-enumerate-from-instance", "ec2-enumerate", []string{"SendCommand"}},
	{"aws.execution.ec2-launch-unusual-instances", "ec2lui", []string{"RunInstances"}},
	{"aws.execution.ec2-user-data", "usr-data", []string{"ModifyInstanceAttribute", "StopInstances", "StartInstances"}},
	{"aws.exfiltration.ec2-security-group-open-port-22-ingress", "open-sg", []string{"AuthorizeSecurityGroupIngress"}},
	{"aws.exfiltration.ec2-share-ami", "share-ami", []string{"ModifyImageAttribute"}},
	{"aws.exfiltration.rds-share-snapshot", "share-snap", []string{"ModifyDBSnapshotAttribute"}},
	{"aws.exfiltration.ec2-share-ebs-snapshot", "", []string{"ModifySnapshotAttribute"}},
	{"aws.exfiltration.s3-backdoor-bucket-policy", "bdbp", []string{"PutBucketPolicy"}},
	{"aws.initial-access.console-login-without-mfa", "nmfalu", []string{"ConsoleLogin"}},
	{"aws.persistence.iam-backdoor-role", "backdoor-r", []string{"UpdateAssumeRolePolicy"}},
	{"aws.persistence.iam-create-admin-user", "", []string{"AttachUserPolicy", "CreateAccessKey"}},
	{"aws.persistence.iam-backdoor-user", "backdoor-u", []string{"CreateAccessKey"}},
	{"aws.persistence.iam-create-user-login-profile", "login-profile", []string{"CreateLoginProfile"}},
	{"aws.persistence.lambda-backdoor-function", "backdoor-f", []string{"AddPermission20150331v2"}},
	{"aws.persistence.lambda-overwrite-code", "olc", []string{"UpdateFunctionCode20150331v2"}},
	{"aws.persistence.rolesanywhere-create-trust-anchor", "trust-anchor", []string{"CreateTrustAnchor", "CreateProfile"}},
}

// stratusAgent finds the run ID in a Stratus user agent.
var stratusAgent = regexp.MustCompile(`stratus-red-team_([0-9a-fA-F-]+)`)

// resourcePrefix starts the names of the resources Stratus creates.
const resourcePrefix = "stratus-red-team-"

type record struct {
	id, name, principal string
	time                time.Time
	raw                 string
}

type run struct {
	id      string
	first   time.Time
	records []record
}

func main() { os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr)) }

type replays []string

func (r *replays) String() string     { return strings.Join(*r, ",") }
func (r *replays) Set(v string) error { *r = append(*r, v); return nil }

func cli(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("techniques", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files replays
	fs.Var(&files, "replay", "output of trailwatch replay --offline --format json over the corpus (repeat for columns side by side)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "techniques: at least one -replay file is needed")
		return 2
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{defaultCorpus}
	}
	runs, byPrincipal, err := readCorpus(paths)
	if err != nil {
		fmt.Fprintf(stderr, "techniques: %v\n", err)
		return 1
	}
	var columns []map[string]detect.Severity
	for _, f := range files {
		sev, err := readReplay(f)
		if err != nil {
			fmt.Fprintf(stderr, "techniques: %v\n", err)
			return 1
		}
		columns = append(columns, sev)
	}
	attributed := attribute(runs, byPrincipal)
	if err := write(stdout, files, attributed, columns); err != nil {
		fmt.Fprintf(stderr, "techniques: %v\n", err)
		return 1
	}
	return 0
}

// readCorpus groups the Stratus runs' records by run ID, and indexes the
// records of principals named after a Stratus resource.
func readCorpus(paths []string) ([]*run, []record, error) {
	byID := map[string]*run{}
	var byPrincipal []record
	var errs []error
	err := eventfile.ReadPaths(paths, func(it eventfile.Item) error {
		if it.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", it.Where, it.Err))
			return nil
		}
		rec := it.Event.CloudTrail
		if rec == nil {
			return nil
		}
		r := record{id: rec.EventID, name: rec.EventName, principal: rec.UserIdentity.ARN, time: rec.EventTime,
			raw: string(rec.RequestParameters) + string(rec.ResponseElements)}
		if strings.Contains(r.principal, resourcePrefix) {
			byPrincipal = append(byPrincipal, r)
		}
		m := stratusAgent.FindStringSubmatch(rec.UserAgent)
		if m == nil {
			return nil
		}
		ru, ok := byID[m[1]]
		if !ok {
			ru = &run{id: m[1], first: r.time}
			byID[m[1]] = ru
		}
		if r.time.Before(ru.first) {
			ru.first = r.time
		}
		ru.records = append(ru.records, r)
		return nil
	})
	if err == nil {
		err = errors.Join(errs...)
	}
	runs := make([]*run, 0, len(byID))
	for _, r := range byID {
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b *run) int {
		return cmp.Or(a.first.Compare(b.first), cmp.Compare(a.id, b.id))
	})
	return runs, byPrincipal, err
}

// classify returns the technique a run belongs to, or nil.
func classify(r *run) *technique {
	for i := range techniques {
		t := &techniques[i]
		if t.Marker != "" && slices.ContainsFunc(r.records, func(rec record) bool {
			return strings.Contains(rec.raw, resourcePrefix+t.Marker) || strings.Contains(rec.principal, resourcePrefix+t.Marker)
		}) {
			return t
		}
	}
	for i := range techniques {
		t := &techniques[i]
		if slices.ContainsFunc(r.records, func(rec record) bool { return slices.Contains(t.Calls, rec.name) }) {
			return t
		}
	}
	return nil
}

// attribute returns each technique's record IDs (see the package comment).
func attribute(runs []*run, byPrincipal []record) map[string][]string {
	out := map[string][]string{}
	detonated := map[string]bool{}
	for _, r := range runs {
		t := classify(r)
		if t == nil || detonated[t.ID] {
			continue
		}
		var ids []string
		for _, rec := range r.records {
			if slices.Contains(t.Calls, rec.name) {
				ids = append(ids, rec.id)
			}
		}
		if len(ids) == 0 {
			continue // a warm-up that never detonated
		}
		detonated[t.ID] = true
		out[t.ID] = append(out[t.ID], ids...)
	}
	for _, t := range techniques {
		if t.Marker == "" || !detonated[t.ID] {
			continue
		}
		for _, rec := range byPrincipal {
			if strings.Contains(rec.principal, resourcePrefix+t.Marker) && !slices.Contains(out[t.ID], rec.id) {
				out[t.ID] = append(out[t.ID], rec.id)
			}
		}
	}
	return out
}

// replayLine is one line of trailwatch replay --format json.
type replayLine struct {
	ID         string `json:"id"`
	Detections []struct {
		ID       string          `json:"id"`
		Severity detect.Severity `json:"severity"`
	} `json:"detections"`
}

// readReplay returns the highest severity replay raised per record ID
// (records with no detection are absent).
func readReplay(file string) (map[string]detect.Severity, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("replay output: %w", err)
	}
	defer f.Close()
	out := map[string]detect.Severity{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var l replayLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		for _, d := range l.Detections {
			if prev, ok := out[l.ID]; !ok || d.Severity > prev {
				out[l.ID] = d.Severity
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

func write(w io.Writer, files []string, attributed map[string][]string, columns []map[string]detect.Severity) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "technique\trecords")
	for _, f := range files {
		fmt.Fprintf(tw, "\t%s", f)
	}
	fmt.Fprintln(tw, "\t")
	medium := make([]int, len(columns))
	n := 0
	for _, t := range techniques {
		ids, ok := attributed[t.ID]
		if !ok {
			continue
		}
		n++
		fmt.Fprintf(tw, "%s\t%d", t.ID, len(ids))
		for i, c := range columns {
			best, found := detect.Severity(0), false
			for _, id := range ids {
				if s, ok := c[id]; ok && (!found || s > best) {
					best, found = s, true
				}
			}
			text := "-"
			if found {
				text = best.String()
				if best >= detect.SeverityMedium {
					medium[i]++
				}
			}
			fmt.Fprintf(tw, "\t%s", text)
		}
		fmt.Fprintln(tw, "\t")
	}
	fmt.Fprint(tw, "medium or higher\t")
	for _, m := range medium {
		fmt.Fprintf(tw, "\t%d of %d (%.0f%%)", m, n, 100*float64(m)/float64(max(n, 1)))
	}
	fmt.Fprintln(tw, "\t")
	return tw.Flush()
}
