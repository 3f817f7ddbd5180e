package detect

import (
	"fmt"

	"github.com/trailwatch/trailwatch/internal/event"
)

func init() {
	register(&Detection{
		ID:    "ssm-session-started",
		Title: "Session Manager session started on an instance",
		Description: "StartSession opened a Session Manager session on an instance or managed node: an interactive shell " +
			"(as ssm-user or the configured run-as user, usually with sudo), a port forwarding tunnel into the VPC " +
			"(AWS-StartPortForwardingSession, ...ToRemoteHost) or SSH over SSM (AWS-StartSSHSession), without the " +
			"instance being reachable from the network. A session is medium. It is high when the caller is the root user " +
			"or signs with a long-term access key of an IAM user (AKIA...), or when an interactive command " +
			"(AWS-StartInteractiveCommand) downloads and runs code at once. A denied call is a low attempt. What was " +
			"typed in the session is not in CloudTrail: session logging (S3 or CloudWatch Logs) records it when enabled.",
		Severity: SeverityMedium,
		Pattern:  APICall([]string{ssmSource}, "StartSession"),
		Evaluate: evaluateSSMSession,
		MITRE:    []string{"T1651", "T1021.007"},
		Runbook: "Ask the caller why they connected. See the session and whether it is still open: aws ssm " +
			"describe-sessions --state Active --filters key=SessionId,value=SESSION_ID (and --state History), and end it " +
			"with aws ssm terminate-session --session-id SESSION_ID if it is not explained. Read the session log where " +
			"Session Manager preferences send it (S3 bucket or CloudWatch log group), look for commands run on the " +
			"instance since, and treat the caller's credentials as compromised until explained. Limit ssm:StartSession " +
			"with conditions on instance tags (ssm:resourceTag/...) and the session documents allowed.",
		References: []string{
			"https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartSession.html",
			"https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-auditing.html",
			"https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-logging.html",
		},
		FalsePositives: []string{
			"Engineers connecting to instances they run (Session Manager replaces SSH bastions in many teams): allow-list their roles (trailwatch:suppressions) if the volume is high.",
		},
		Tests: Tests{
			Positive: []Example{
				{"ssm/ssm-session-started-role-session.json", SeverityMedium},
				{"ssm/ssm-session-started-long-term-key.json", SeverityHigh},
				{"ssm/ssm-session-started-denied.json", SeverityLow},
			},
			Negative: []string{
				"ssm/ssm-session-started-terminate-session.json",
				"ssm/ssm-command-sent-role-session.json",
			},
		},
	})
}

func evaluateSSMSession(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.EventName != "StartSession" {
		return Finding{}, false
	}
	rp := fields(rec.RequestParameters)
	target := jsonString(field(rp, "target"))
	f := Finding{Severity: SeverityMedium, Resource: managedNodeResource(rec, target)}
	doc := jsonString(field(rp, "documentName"))
	kind := "an interactive session"
	if doc != "" {
		kind = "a session (" + doc + ")"
		f.Evidence = append(f.Evidence, Evidence{Label: "Session document", Text: doc})
	}
	why := ""
	if w, e := riskyCaller(rec); w != "" {
		f.Severity, why = SeverityHigh, " "+w
		f.Evidence = append(f.Evidence, e)
	}
	params := field(rp, "parameters")
	if len(fields(params)) > 0 {
		f.Evidence = append(f.Evidence, Evidence{Label: "Session parameters", Text: excerpt(params)})
		if c := downloadRun(jsonStrings(field(fields(params), "command"))); c != "" {
			f.Severity = SeverityHigh
			why += ": its command downloads and runs code"
			f.Evidence = append(f.Evidence, Evidence{Label: "The command downloads code and runs it at once", Text: clip(c, 500)})
		}
	}
	if reason := jsonString(field(rp, "reason")); reason != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "Reason given by the caller", Text: clip(reason, 500)})
	}
	if id := jsonString(field(fields(rec.ResponseElements), "sessionId")); id != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "Session ID", Text: id})
	}
	node := f.Resource.Type + " " + ec2OrUnknown(target, "target")
	if target == "" {
		node = "an unrecorded instance"
	}
	return outcome(f, rec,
		fmt.Sprintf("%s started %s on %s%s", identityUpperFirst(callerLabel(rec)), kind, node, why),
		fmt.Sprintf("start %s on %s%s", kind, node, why)), true
}
