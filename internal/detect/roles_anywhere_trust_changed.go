package detect

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/lazyre"
)

func init() {
	register(&Detection{
		ID:    "roles-anywhere-trust-changed",
		Title: "IAM Roles Anywhere trust anchor or profile created or changed",
		Description: "IAM Roles Anywhere exchanges X.509 certificates issued by a trust anchor's certificate authority for " +
			"the credentials of the roles a profile names. CreateTrustAnchor adds a CA whose certificates can sign in from " +
			"anywhere, a new way into the account that survives the removal of every access key: high. UpdateTrustAnchor " +
			"that replaces the anchor's source (its CA) is high for the same reason; other anchor updates (a rename) are " +
			"medium. CreateProfile and UpdateProfile choose which roles, session policies and durations those " +
			"certificates get: medium. The alert shows the CA certificates (subject, issuer, validity, SHA-256 " +
			"fingerprint) or the AWS Private CA, and the roles. A denied call is a low attempt.",
		Severity: SeverityHigh,
		Pattern:  APICall([]string{rolesAnywhereEventSource}, "CreateTrustAnchor", "UpdateTrustAnchor", "CreateProfile", "UpdateProfile"),
		Evaluate: evaluateRolesAnywhere,
		MITRE:    []string{"T1098.001", "T1484.002"},
		Runbook: "Ask the caller who runs the certificate authority and which workloads need it. If it is not explained, " +
			"disable the anchor and profile at once (aws rolesanywhere disable-trust-anchor --trust-anchor-id ID, aws " +
			"rolesanywhere disable-profile --profile-id ID), then delete them; list what else exists (aws rolesanywhere " +
			"list-trust-anchors, list-profiles) and the roles whose trust policy lets rolesanywhere.amazonaws.com in (aws " +
			"iam list-roles, look for that service principal). Look for CreateSession calls and role sessions from the " +
			"anchor since it was created (CloudTrail eventSource rolesanywhere.amazonaws.com, and role sessions whose " +
			"sourceIdentity or session name carries a certificate serial), and treat the caller as compromised.",
		References: []string{
			"https://docs.aws.amazon.com/rolesanywhere/latest/APIReference/API_CreateTrustAnchor.html",
			"https://docs.aws.amazon.com/rolesanywhere/latest/APIReference/API_UpdateTrustAnchor.html",
			"https://docs.aws.amazon.com/rolesanywhere/latest/APIReference/API_CreateProfile.html",
			"https://docs.aws.amazon.com/rolesanywhere/latest/userguide/trust-model.html",
		},
		FalsePositives: []string{
			"Platform teams onboarding servers outside AWS (on-premises, other clouds) to Roles Anywhere with the company's own CA.",
		},
		Tests: Tests{
			Positive: []Example{
				{"rolesanywhere/roles-anywhere-trust-changed-create-trust-anchor.json", SeverityHigh},
				{"rolesanywhere/roles-anywhere-trust-changed-create-profile.json", SeverityMedium},
				{"rolesanywhere/roles-anywhere-trust-changed-update-trust-anchor-source.json", SeverityHigh},
				{"rolesanywhere/roles-anywhere-trust-changed-update-profile.json", SeverityMedium},
				{"rolesanywhere/roles-anywhere-trust-changed-create-trust-anchor-denied.json", SeverityLow},
			},
			Negative: []string{
				"rolesanywhere/roles-anywhere-trust-changed-delete-trust-anchor.json",
				"iam/identity-provider-created-or-changed-create-saml.json",
			},
		},
	})
}

// rolesAnywhereARN matches trust anchor and profile ARNs as the service
// returns them; only such ARNs reach the alert's resource.
var (
	rolesAnywhereARN = lazyre.New(`^arn:aws(-cn|-us-gov)?:rolesanywhere:[a-z0-9-]+:[0-9]{12}:(trust-anchor|profile)/[0-9a-f-]{36}$`)
	rolesAnywhereID  = lazyre.New(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

func evaluateRolesAnywhere(ev *event.Event, _ *Env) (Finding, bool) {
	rec := ev.CloudTrail
	if rec == nil {
		return Finding{}, false
	}
	switch rec.EventName {
	case "CreateTrustAnchor", "UpdateTrustAnchor", "CreateProfile", "UpdateProfile":
	default:
		return Finding{}, false
	}
	rp := fields(rec.RequestParameters)
	anchor := strings.HasSuffix(rec.EventName, "TrustAnchor")
	kind, arnType, key := "IAM Roles Anywhere profile", "profile", "profile"
	if anchor {
		kind, arnType, key = "IAM Roles Anywhere trust anchor", "trust-anchor", "trustAnchor"
	}
	out := fields(field(fields(rec.ResponseElements), key))
	id := firstNonEmpty(jsonString(field(rp, key+"Id")), jsonString(field(out, key+"Id")))
	name := firstNonEmpty(jsonString(field(rp, "name")), jsonString(field(out, "name")))
	res := Resource{Type: kind, Name: firstNonEmpty(name, id, "(not recorded)"), Region: rec.AWSRegion}
	if arn := jsonString(field(out, key+"Arn")); rolesAnywhereARN.MatchString(arn) {
		res.ARN = arn
	} else if rolesAnywhereID.MatchString(id) {
		res.ARN = regionalResourceARN(rec, "rolesanywhere", arnType+"/"+id)
	}
	f := Finding{Resource: res}
	label := kind + " " + iamNameQuoted(res.Name)
	create := strings.HasPrefix(rec.EventName, "Create")
	var done, impact, tried string
	switch {
	case anchor:
		source := field(rp, "source")
		f.Evidence = append(f.Evidence, trustAnchorSource(source)...)
		switch {
		case create:
			f.Severity = SeverityHigh
			done, impact, tried = label+" created", ": certificates its CA issues can now obtain role credentials", "create "+label
		case len(fields(source)) > 0:
			f.Severity = SeverityHigh
			done, impact, tried = label+" given a new certificate authority", ": certificates it issues can now obtain role credentials", "replace the certificate authority of "+label
			f.Changes = append(f.Changes, Change{Setting: "Certificate authority", Before: NotRecorded, After: "replaced"})
		default:
			f.Severity = SeverityMedium
			done, tried = label+" updated", "update "+label
		}
	default:
		f.Severity = SeverityMedium
		roles := jsonStrings(field(rp, "roleArns"))
		if len(roles) > 0 {
			f.Evidence = append(f.Evidence, Evidence{Label: "Roles the profile grants", Text: clip(strings.Join(roles, ", "), maxEvidence)})
			f.Changes = append(f.Changes, Change{Setting: "Roles", Before: orNotRecordedIf(!create), After: clip(strings.Join(roles, ", "), 500)})
		}
		for _, k := range []string{"managedPolicyArns", "sessionPolicy", "durationSeconds", "acceptRoleSessionName", "requireInstanceProperties"} {
			if v := field(rp, k); len(v) > 0 && string(v) != "null" {
				f.Evidence = append(f.Evidence, Evidence{Label: "Profile setting " + k, Text: excerpt(v)})
			}
		}
		verb, did := "update", "updated"
		if create {
			verb, did = "create", "created"
		}
		done, tried = label+" "+did, verb+" "+label
		if len(roles) > 0 {
			names := make([]string, len(roles))
			for i, r := range roles {
				names[i] = lastSegment(r, "/")
			}
			impact = ": it grants " + idsPhrase(names, "role", "roles")
		}
	}
	if enabled, set := paramValue(field(rp, "enabled")).Bool(); set && create {
		f.Evidence = append(f.Evidence, Evidence{Label: "Enabled at creation", Text: fmt.Sprint(enabled)})
	}
	return outcome(f, rec, done+" by "+callerLabel(rec)+impact, tried), true
}

// orNotRecordedIf is NotRecorded for a change whose previous value exists
// but is not in the event, "" for a new resource.
func orNotRecordedIf(existed bool) string {
	if existed {
		return NotRecorded
	}
	return ""
}

// trustAnchorSource describes a trust anchor's source: an AWS Private CA
// ARN, or the CA certificates of a bundle, parsed with crypto/x509 so the
// alert shows who issued them rather than a wall of base64.
func trustAnchorSource(raw json.RawMessage) []Evidence {
	src := fields(raw)
	if len(src) == 0 {
		return nil
	}
	typ := jsonString(field(src, "sourceType"))
	data := fields(field(src, "sourceData"))
	out := []Evidence{{Label: "Source type", Text: orNotRecorded(typ)}}
	if pca := jsonString(field(data, "acmPcaArn")); pca != "" {
		out = append(out, Evidence{Label: "AWS Private CA", Text: pca})
	}
	if bundle := jsonString(field(data, "x509CertificateData")); bundle != "" {
		out = append(out, Evidence{Label: "CA certificates", Text: describeCertificates(bundle)})
	}
	return out
}

// describeCertificates summarizes the PEM certificates of a bundle, at most
// five; a bundle that does not parse is said to, with its length.
func describeCertificates(bundle string) string {
	var lines []string
	rest := []byte(bundle)
	for len(lines) < 5 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		lines = append(lines, certificateLine(block.Bytes))
	}
	if len(lines) == 0 {
		return fmt.Sprintf("no PEM certificate found in %d bytes of certificate data", len(bundle))
	}
	return strings.Join(lines, "\n")
}

// certificateLine summarizes a DER certificate: subject, issuer, validity
// and SHA-256 fingerprint, the values to compare with the CA a team runs.
func certificateLine(der []byte) string {
	sum := sha256.Sum256(der)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "unparseable certificate, SHA-256 " + hex.EncodeToString(sum[:])
	}
	line := fmt.Sprintf("subject %q, issuer %q, valid %s to %s, SHA-256 %s",
		clip(cert.Subject.String(), 200), clip(cert.Issuer.String(), 200),
		cert.NotBefore.UTC().Format("2006-01-02"), cert.NotAfter.UTC().Format("2006-01-02"), hex.EncodeToString(sum[:]))
	if cert.Subject.String() == cert.Issuer.String() {
		line += " (self-signed)"
	}
	return line
}
