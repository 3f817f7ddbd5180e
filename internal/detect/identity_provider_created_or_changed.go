package detect

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"strings"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

func init() {
	register(&Detection{
		ID:    "identity-provider-created-or-changed",
		Title: "IAM SAML or OIDC identity provider created or changed",
		Description: "An IAM identity provider lets the users of an outside identity system (a SAML IdP, an OpenID Connect " +
			"issuer such as GitHub Actions or an EKS cluster) assume roles whose trust policies name it. " +
			"CreateSAMLProvider and CreateOpenIDConnectProvider add such a way into the account, one that no access key " +
			"rotation closes: high. UpdateSAMLProvider (new metadata: new signing certificates), " +
			"UpdateOpenIDConnectProviderThumbprint (which TLS certificates of the issuer are trusted) and " +
			"AddClientIDToOpenIDConnectProvider (another audience accepted) change who the provider lets in: medium. The " +
			"alert shows the SAML entity ID, sign-in URL and signing certificates, or the OIDC issuer URL, audiences " +
			"and thumbprints. A denied call is a low attempt.",
		Severity: SeverityHigh,
		Pattern: APICall([]string{iamSource}, "CreateSAMLProvider", "UpdateSAMLProvider", "CreateOpenIDConnectProvider",
			"UpdateOpenIDConnectProviderThumbprint", "AddClientIDToOpenIDConnectProvider"),
		Evaluate: evaluateIdentityProvider,
		MITRE:    []string{"T1484.002", "T1556"},
		Runbook: "Ask the caller which identity system the provider is for and who runs it. If it is not explained, " +
			"delete it (aws iam delete-saml-provider --saml-provider-arn ARN, aws iam delete-open-id-connect-provider " +
			"--open-id-connect-provider-arn ARN) or restore its previous thumbprints and client IDs, then find the roles " +
			"whose trust policy names it (aws iam list-roles, look for the provider's ARN under Principal.Federated) and " +
			"the sessions obtained through it since (CloudTrail AssumeRoleWithSAML and AssumeRoleWithWebIdentity events " +
			"naming the provider). Treat the caller's credentials as compromised until explained.",
		References: []string{
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateSAMLProvider.html",
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateSAMLProvider.html",
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html",
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateOpenIDConnectProviderThumbprint.html",
			"https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddClientIDToOpenIDConnectProvider.html",
		},
		FalsePositives: []string{
			"Setting up single sign-on, GitHub Actions OIDC or EKS IAM roles for service accounts (eksctl, Terraform): allow-list the deployment role (trailwatch:suppressions).",
			"Yearly rotation of an IdP's SAML signing certificate (UpdateSAMLProvider).",
		},
		GlobalService: true,
		Tests: Tests{
			Positive: []Example{
				{"iam/identity-provider-created-or-changed-create-saml.json", SeverityHigh},
				{"iam/identity-provider-created-or-changed-create-oidc.json", SeverityHigh},
				{"iam/identity-provider-created-or-changed-update-saml.json", SeverityMedium},
				{"iam/identity-provider-created-or-changed-oidc-thumbprint.json", SeverityMedium},
				{"iam/identity-provider-created-or-changed-oidc-client-id.json", SeverityMedium},
				{"iam/identity-provider-created-or-changed-create-oidc-denied.json", SeverityLow},
			},
			Negative: []string{
				"iam/identity-provider-created-or-changed-delete-saml.json",
				"iam/role-trust-policy-changed-get-role.json",
			},
		},
	})
}

// identityProviderARN matches IAM SAML and OIDC provider ARNs; only such
// ARNs reach the alert's resource. The names' lengths (SAML up to 128,
// OIDC up to 255) are checked in identityProviderARNValid: counted
// repetitions of that size cost 0.36 ms to compile at every cold start.
var identityProviderARN = lazyre.New(`^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(saml-provider/[A-Za-z0-9._-]+|oidc-provider/[A-Za-z0-9./:_-]+)$`)

func identityProviderARNValid(arn string) bool {
	m := identityProviderARN.FindStringSubmatch(arn)
	if m == nil {
		return false
	}
	name := m[2][strings.Index(m[2], "/")+1:]
	if strings.HasPrefix(m[2], "saml-provider/") {
		return len(name) <= 128
	}
	return len(name) <= 255
}

func evaluateIdentityProvider(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	rp := fields(rec.RequestParameters)
	resp := fields(rec.ResponseElements)
	var f Finding
	var done, impact, tried string
	switch rec.EventName {
	case "CreateSAMLProvider", "UpdateSAMLProvider":
		arn := firstNonEmpty(jsonString(field(rp, "sAMLProviderArn")), jsonString(field(resp, "sAMLProviderArn")))
		f.Resource = identityProviderResource(rec, "IAM SAML provider", jsonString(field(rp, "name")), arn, "saml-provider/")
		label := "SAML provider " + iamNameQuoted(f.Resource.Name)
		f.Evidence = samlMetadataEvidence(jsonString(field(rp, "sAMLMetadataDocument")))
		for _, k := range []string{"assertionEncryptionMode", "addPrivateKey", "removePrivateKey"} {
			if v := jsonString(field(rp, k)); v != "" {
				if k == "addPrivateKey" {
					v = "(a private key was added; its value is not shown)"
				}
				f.Evidence = append(f.Evidence, Evidence{Label: "Setting " + k, Text: clip(v, 200)})
			}
		}
		if rec.EventName == "CreateSAMLProvider" {
			f.Severity = SeverityHigh
			done, impact, tried = label+" created", ": users of that IdP can assume the roles that trust it", "create "+label
		} else {
			f.Severity = SeverityMedium
			done, tried = label+" given new metadata", "replace the metadata of "+label
			f.Changes = []Change{{Setting: "SAML metadata", Before: NotRecorded, After: "replaced"}}
		}
	case "CreateOpenIDConnectProvider", "UpdateOpenIDConnectProviderThumbprint", "AddClientIDToOpenIDConnectProvider":
		url := jsonString(field(rp, "url"))
		arn := firstNonEmpty(jsonString(field(rp, "openIDConnectProviderArn")), jsonString(field(resp, "openIDConnectProviderArn")))
		f.Resource = identityProviderResource(rec, "IAM OIDC provider", strings.TrimPrefix(url, "https://"), arn, "oidc-provider/")
		label := "OIDC provider " + iamNameQuoted(f.Resource.Name)
		if url != "" {
			f.Evidence = append(f.Evidence, Evidence{Label: "Issuer URL", Text: clip(url, 500)})
		}
		clients := jsonStrings(field(rp, "clientIDList"))
		if c := jsonString(field(rp, "clientID")); c != "" {
			clients = append(clients, c)
		}
		if len(clients) > 0 {
			f.Evidence = append(f.Evidence, Evidence{Label: "Audiences (client IDs)", Text: clip(strings.Join(clients, ", "), maxEvidence)})
		}
		thumbs := jsonStrings(field(rp, "thumbprintList"))
		if len(thumbs) > 0 {
			f.Evidence = append(f.Evidence, Evidence{Label: "Trusted TLS certificate thumbprints", Text: clip(strings.Join(thumbs, ", "), maxEvidence)})
		}
		switch rec.EventName {
		case "CreateOpenIDConnectProvider":
			f.Severity = SeverityHigh
			done, impact, tried = label+" created", ": tokens of that issuer can assume the roles that trust it", "create "+label
		case "UpdateOpenIDConnectProviderThumbprint":
			f.Severity = SeverityMedium
			done, tried = label+" trusts new TLS certificate thumbprints", "change the thumbprints of "+label
			f.Changes = []Change{{Setting: "Thumbprints", Before: NotRecorded, After: clip(strings.Join(thumbs, ", "), 500)}}
		default:
			f.Severity = SeverityMedium
			client := orNotRecorded(jsonString(field(rp, "clientID")))
			done, tried = label+" accepts a new audience "+iamNameQuoted(client), "add an audience to "+label
			f.Changes = []Change{{Setting: "Audience added", After: client}}
		}
	default:
		return Finding{}, false
	}
	return outcome(f, rec, done+" by "+callerLabel(rec)+impact, tried), true
}

// identityProviderResource names a provider by the name in the request, or
// the last part of its ARN; the ARN is kept only when it has the IAM form.
func identityProviderResource(rec *cloudtrail.Record, kind, name, arn, arnPart string) Resource {
	if name == "" {
		if i := strings.Index(arn, ":"+arnPart); i >= 0 {
			name = arn[i+1+len(arnPart):]
		}
	}
	r := Resource{Type: kind, Name: firstNonEmpty(name, "(not recorded)"), Region: rec.AWSRegion}
	if identityProviderARNValid(arn) {
		r.ARN = arn
	}
	return r
}

// samlMetadataEvidence reads what matters in SAML metadata: the IdP's
// entity ID, where it signs users in, and the certificates whose signatures
// AWS will accept. encoding/xml reads it token by token, so a large or odd
// document costs no more than its length.
func samlMetadataEvidence(doc string) []Evidence {
	if doc == "" {
		return []Evidence{{Label: "SAML metadata", Text: "not recorded in the event"}}
	}
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = false
	var entity, location string
	var certs []string
	var inCert bool
	var buf bytes.Buffer
	for range 100000 {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "EntityDescriptor":
				entity = firstNonEmpty(entity, xmlAttr(t, "entityID"))
			case "SingleSignOnService":
				location = firstNonEmpty(location, xmlAttr(t, "Location"))
			case "X509Certificate":
				inCert = true
				buf.Reset()
			}
		case xml.CharData:
			if inCert && buf.Len() < 64<<10 {
				buf.Write(t)
			}
		case xml.EndElement:
			if t.Name.Local == "X509Certificate" && inCert {
				inCert = false
				if len(certs) < 5 {
					certs = append(certs, describeDERCertificate(buf.String()))
				}
			}
		}
	}
	var out []Evidence
	if entity != "" {
		out = append(out, Evidence{Label: "IdP entity ID", Text: clip(entity, 500)})
	}
	if location != "" {
		out = append(out, Evidence{Label: "IdP sign-in URL", Text: clip(location, 500)})
	}
	if len(certs) > 0 {
		out = append(out, Evidence{Label: "Signing certificates", Text: strings.Join(certs, "\n")})
	}
	if len(out) == 0 {
		out = append(out, Evidence{Label: "SAML metadata (unreadable as metadata)", Text: clip(doc, 500)})
	}
	return out
}

func xmlAttr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// describeDERCertificate summarizes a base64 DER certificate as SAML
// metadata carries it.
func describeDERCertificate(b64 string) string {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
	if err != nil {
		return "certificate that is not valid base64"
	}
	return certificateLine(der)
}
