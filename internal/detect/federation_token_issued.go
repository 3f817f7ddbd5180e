package detect

import (
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

func init() {
	register(&Detection{
		ID:    "federation-token-issued",
		Title: "Federation token obtained with an IAM user's long-term key",
		Description: "GetFederationToken turned an IAM user's long-term access key (or the root user's) into temporary " +
			"credentials for a federated user named by the caller, for up to 36 hours. Attackers holding a leaked key do " +
			"this to keep access after the key is deactivated (the session survives it), to hide behind a new name, and to " +
			"open the console through a sign-in token. Few workloads still need it. A token whose session policy passes " +
			"permissions on (the policy or policy ARNs in the request, shown and rated) is high; one requested with no " +
			"session policy has no permissions and is medium, and so is a call whose caller shows neither a long-term " +
			"key (AKIA...) nor the root user, which STS should not accept. A denied call is a low attempt. STS records the call in the " +
			"region of the endpoint used, so the rule runs in every region. CloudTrail marks the call readOnly false, so " +
			"the rule needs no read-only events. Users who legitimately broker federation belong in an allow-list " +
			"(trailwatch:suppressions).",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{stsSource}, "GetFederationToken"),
		Evaluate: evaluateFederationToken,
		MITRE:    []string{"T1098.001", "T1550.001"},
		Runbook: "Ask the owner of the IAM user whether a proxy or broker of theirs calls GetFederationToken. If not, the " +
			"key is in someone else's hands and deactivating it is not enough: the federated session stays valid until it " +
			"expires. Deactivate the key (aws iam update-access-key --user-name USER --access-key-id KEY --status " +
			"Inactive), then revoke the sessions already issued by attaching a deny-all inline policy to the user (aws iam " +
			"put-user-policy --user-name USER --policy-name deny-all --policy-document " +
			"'{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}'), " +
			"which federated users inherit. Review what the federated user did (CloudTrail userIdentity.type " +
			"FederatedUser with its name, and ConsoleLogin/GetSigninToken events) before deleting the key.",
		References: []string{
			"https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html#api_getfederationtoken",
			"https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html",
		},
		FalsePositives: []string{
			"Legacy identity brokers and proxies that issue federated sessions from a dedicated IAM user (allow-list that user).",
		},
		Tests: Tests{
			Positive: []Example{
				{"sts/federation-token-issued-admin-policy.json", SeverityHigh},
				{"sts/federation-token-issued-no-policy.json", SeverityMedium},
				{"sts/federation-token-issued-denied.json", SeverityLow},
			},
			Negative: []string{
				"sts/federation-token-issued-get-session-token.json",
				"sts/api-call-unauthorized-assume-role.json",
			},
		},
	})
}

// federatedUserARN matches the ARN STS returns for a federated user.
var federatedUserARN = lazyre.New(`^arn:aws(-cn|-us-gov)?:sts::[0-9]{12}:federated-user/[\w+=,.@-]{2,32}$`)

func evaluateFederationToken(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil || rec.EventName != "GetFederationToken" {
		return Finding{}, false
	}
	rp := fields(rec.RequestParameters)
	resp := fields(rec.ResponseElements)
	name := jsonString(field(rp, "name"))
	res := Resource{Type: "Federated user", Name: firstNonEmpty(name, "(not recorded)"), Region: rec.AWSRegion}
	if arn := jsonString(field(fields(field(resp, "federatedUser")), "arn")); federatedUserARN.MatchString(arn) {
		res.ARN = arn
	}
	f := Finding{Severity: SeverityHigh, Resource: res}

	keyPhrase := "with the credentials of " + callerLabel(rec)
	switch {
	case userLongTermKey(rec):
		keyPhrase = "with long-term access key " + rec.UserIdentity.AccessKeyID + " of " + callerLabel(rec)
	case byRootUser(rec):
		keyPhrase = "with the root user's credentials"
	}
	policy := field(rp, "policy")
	arns := paramValue(field(rp, "policyArns")).Objects()
	var managed []string
	for _, o := range arns {
		if a := jsonString(field(fields(o), "arn")); a != "" {
			managed = append(managed, a)
		}
	}
	if a := jsonStrings(field(rp, "policyArns")); len(managed) == 0 && len(a) > 0 {
		managed = a
	}
	hasPolicy := jsonString(policy) != "" || len(fields(policy)) > 0
	passes := "passes on permissions through its session policy"
	switch {
	case !hasPolicy && len(managed) == 0:
		f.Severity = SeverityMedium
		passes = "without a session policy, so the session has no permissions"
		f.Evidence = append(f.Evidence, Evidence{Label: "Session policy", Text: "none: a federated user gets only what a session policy passes on"})
	case hasPolicy:
		f.Evidence = append(f.Evidence, Evidence{Label: "Session policy", Text: policyDocumentText(policy)})
		if p, err := parsePolicyDocument(policy); err == nil {
			for _, st := range p.Statements {
				if g := adminGrantOf(st); g != "" {
					passes = "with a session policy that " + g + " (all of the user's own permissions)"
					f.Evidence = append(f.Evidence, Evidence{Label: "The session policy passes on every permission of the user", Text: g})
					break
				}
			}
		}
	}
	if !userLongTermKey(rec) && !byRootUser(rec) {
		// STS accepts only long-term credentials here; a caller that does
		// not show one is odd, not the leaked-key case this rule is for.
		f.Severity = min(f.Severity, SeverityMedium)
	}
	if len(managed) > 0 {
		f.Evidence = append(f.Evidence, Evidence{Label: "Managed session policies", Text: clip(strings.Join(managed, ", "), maxEvidence)})
	}
	if d, ok := paramValue(field(rp, "durationSeconds")).Int(); ok {
		f.Evidence = append(f.Evidence, Evidence{Label: "Requested duration", Text: fmt.Sprintf("%d seconds (%.1f hours)", d, float64(d)/3600)})
	}
	if k := jsonString(field(fields(field(resp, "credentials")), "accessKeyId")); k != "" {
		f.Evidence = append(f.Evidence, Evidence{Label: "Temporary access key issued (search CloudTrail for it)", Text: k})
	}
	fed := "federated user " + iamNameQuoted(res.Name)
	return outcome(f, rec,
		fmt.Sprintf("Credentials for %s obtained %s, %s", fed, keyPhrase, passes),
		fmt.Sprintf("obtain credentials for %s %s", fed, keyPhrase)), true
}
