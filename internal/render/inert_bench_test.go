package render

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailwatch/trailwatch/internal/render/rendertest"
)

// BenchmarkDefangAll: the texts an email is made of, the largest first: a
// CloudTrail event's JSON as the evidence section prints it (domains of AWS
// services in it), then an ARN, a user agent and an ID, which most values
// are like. For the evidence, beside it: the floor, one copy of the text
// (strings.Clone), and a peer, the same rules as regular expressions
// (rendertest's, replacing what they find), as a reader would write it.
func BenchmarkDefangAll(b *testing.B) {
	raw, err := os.ReadFile("../../events/s3/put-bucket-policy-public-read.json")
	if err != nil {
		b.Fatal(err)
	}
	var evidence bytes.Buffer
	if err := json.Indent(&evidence, raw, "", "  "); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, text string }{
		{"evidence", evidence.String()},
		{"arn", "arn:aws:sts::111122223333:assumed-role/terraform-apply/GitHubActions"},
		{"user-agent", "aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#s3api.put-bucket-policy"},
		{"id", "3f1c5e8a-6b2d-4c9e-9a71-2d4b8e0f6c13"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				defangAll(bc.text)
			}
		})
	}
	text := evidence.String()
	b.Run("evidence/floor", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			_ = strings.Clone(text)
		}
	})
	b.Run("evidence/peer", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			t := defangByRegexp(text)
			t = rendertest.DomainLike.ReplaceAllStringFunc(t, breakDomain)
			_ = rendertest.EmailLike.ReplaceAllStringFunc(t, func(m string) string { return strings.Replace(m, "@", "[@]", 1) })
		}
	})
}

// breakDomain is the peer's replacement of a DomainLike match: the dot
// after the first character becomes "[.]".
func breakDomain(m string) string {
	_, n := utf8.DecodeRuneInString(m)
	_, d := utf8.DecodeRuneInString(m[n:])
	return m[:n] + "[.]" + m[n+d:]
}
