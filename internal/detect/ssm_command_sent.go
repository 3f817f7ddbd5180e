package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "ssm-command-sent",
		Title: "Command sent to instances with SSM Run Command",
		Description: "SendCommand ran an SSM document on instances or managed nodes, named by ID or selected by tag or " +
			"resource group. Documents such as AWS-RunShellScript and AWS-RunPowerShellScript run any script as root or " +
			"SYSTEM, with the instance's role credentials at hand: attackers use Run Command to execute code on a fleet " +
			"without network access to it. A command is medium. It is high when the caller is the root user or signs with " +
			"a long-term access key of an IAM user (AKIA..., the credentials that leak), or when the recorded commands " +
			"download and run code at once (curl or wget piped to a shell, PowerShell Invoke-WebRequest or " +
			"DownloadString into Invoke-Expression). CloudTrail usually withholds the parameters " +
			"(HIDDEN_DUE_TO_SECURITY_REASONS); the alert says so, and the runbook reads the commands back from SSM. A " +
			"denied call is a low attempt.",
		Severity: SeverityMedium,
		Pattern:  APICall([]string{ssmSource}, "SendCommand"),
		Evaluate: evaluateSSMCommand,
		MITRE:    []string{"T1651", "T1059.009"},
		Runbook: "Ask the caller what the command was for. Read what it ran and where: aws ssm list-commands --command-id " +
			"COMMAND_ID (document, parameters, targets) and aws ssm list-command-invocations --command-id COMMAND_ID " +
			"--details (per-instance status and output). If it is not explained, isolate the instances (a security group " +
			"without rules), snapshot their volumes for forensics, and treat the instance roles' credentials and the " +
			"caller's as compromised: deactivate an IAM user's key (aws iam update-access-key --user-name USER " +
			"--access-key-id KEY --status Inactive) or revoke a role's sessions. Restrict ssm:SendCommand to the " +
			"documents and tagged instances each team needs; expected automation (patching, maintenance windows) belongs " +
			"in an allow-list (trailwatch:suppressions) for its role.",
		References: []string{
			"https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html",
			"https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-cloudtrail-logs.html",
			"https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command.html",
		},
		FalsePositives: []string{
			"Patch Manager, maintenance windows, State Manager and deployment tools running documents on schedule (allow-list their roles).",
			"Administrators running troubleshooting commands from the console's Run Command page.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ssm/ssm-command-sent-role-session.json", SeverityMedium},
				{"ssm/ssm-command-sent-long-term-key.json", SeverityHigh},
				{"ssm/ssm-command-sent-download-and-run.json", SeverityHigh},
				{"ssm/ssm-command-sent-invalid-instance.json", SeverityLow},
				{"ssm/ssm-command-sent-denied.json", SeverityLow},
			},
			Negative: []string{
				"ssm/ssm-command-sent-list-commands.json",
				"ssm/ssm-session-started-role-session.json",
			},
		},
	})
}

func evaluateSSMCommand(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.EventName != "SendCommand" {
		return Finding{}, false
	}
	rp := fields(rec.RequestParameters)
	command := fields(field(fields(rec.ResponseElements), "command"))
	doc := firstNonEmpty(jsonString(field(rp, "documentName")), jsonString(field(command, "documentName")))
	ids := jsonStrings(field(rp, "instanceIds"))
	targets := ssmTargets(field(rp, "targets"))

	var where string
	var res Resource
	switch {
	case len(ids) == 1:
		res = managedNodeResource(rec, ids[0])
		where = idsPhrase(ids, "instance", "instances")
	case len(ids) > 1:
		where = idsPhrase(ids, "instance", "instances")
		res = Resource{Type: "EC2 instances", Name: clip(strings.Join(ids, ", "), 200), Region: rec.AWSRegion}
	case len(targets) > 0:
		parts := make([]string, len(targets))
		for i, t := range targets {
			parts[i] = t.String()
		}
		selector := clip(strings.Join(parts, "; "), 200)
		where = "the instances targeted by " + selector
		res = Resource{Type: "EC2 instances selected by target", Name: selector, Region: rec.AWSRegion}
	default:
		where = "unrecorded instances"
		res = Resource{Type: "EC2 instances", Name: "(not recorded)", Region: rec.AWSRegion}
	}

	f := Finding{Severity: SeverityMedium, Resource: res}
	f.Evidence = append(f.Evidence, Evidence{Label: "SSM document", Text: orNotRecorded(doc)})
	if len(ids) > 1 {
		f.Evidence = append(f.Evidence, Evidence{Label: "Instances", Text: clip(strings.Join(ids, ", "), maxEvidence)})
	}
	if len(targets) > 0 {
		f.Evidence = append(f.Evidence, Evidence{Label: "Targets", Text: excerpt(field(rp, "targets"))})
	}
	why := ""
	if w, e := riskyCaller(rec); w != "" {
		f.Severity, why = SeverityHigh, " "+w
		f.Evidence = append(f.Evidence, e)
	}
	params := field(rp, "parameters")
	commands, hidden := ssmCommands(params)
	switch {
	case len(commands) > 0:
		label := "Parameters.commands"
		if shellDocuments[doc] {
			label = "Commands of the script"
		}
		f.Evidence = append(f.Evidence, Evidence{Label: label, Text: clip(strings.Join(commands, "\n"), maxEvidence)})
		if c := downloadRun(commands); c != "" {
			f.Severity = SeverityHigh
			why += ": a command downloads and runs code"
			f.Evidence = append(f.Evidence, Evidence{Label: "A command downloads code and runs it at once", Text: clip(c, 500)})
		}
	case hidden:
		f.Evidence = append(f.Evidence, Evidence{Label: "Parameters",
			Text: "withheld by CloudTrail (" + hiddenValue + "): aws ssm list-commands --command-id COMMAND_ID shows them"})
	case len(fields(params)) > 0:
		f.Evidence = append(f.Evidence, Evidence{Label: "Parameters", Text: excerpt(params)})
	}
	if id := jsonString(field(command, "commandId")); id != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "Command ID", Text: id})
	}
	docPhrase := "an SSM document"
	if doc != "" {
		docPhrase = "SSM document " + doc
	}
	return outcome(f, rec,
		fmt.Sprintf("%s ran %s on %s%s", identityUpperFirst(callerLabel(rec)), docPhrase, where, why),
		fmt.Sprintf("run %s on %s%s", docPhrase, where, why)), true
}
