// Package lazyre is a regular expression compiled at its first use rather
// than at package initialization, as the Go command's own
// internal/lazyregexp does. The functions link about sixty package-level
// expressions (settings checks, detections' field checks, the route and
// Sigma loaders); compiling them all in init was a fifth of every cold
// start, while a first event needs a few of them or none. Compilation
// itself is the standard library's regexp; this package only defers it.
//
// Under `go test` (a binary whose name ends in .test) expressions compile
// when they are declared, so that a test of any package that links one
// panics on a bad expression at once, as regexp.MustCompile would.
package lazyre

import (
	"os"
	"regexp"
	"strings"
	"sync"
)

// Regexp is an expression compiled on first use. It is safe for
// concurrent use.
type Regexp struct {
	expr string
	re   func() *regexp.Regexp
}

var inTest = len(os.Args) > 0 && strings.HasSuffix(strings.TrimSuffix(os.Args[0], ".exe"), ".test")

// New returns expr, to compile (regexp.MustCompile, so a bad expression
// panics) when first used.
func New(expr string) *Regexp {
	r := deferred(expr, regexp.MustCompile)
	if inTest {
		r.re()
	}
	return r
}

// deferred returns expr, to compile with compile once, at first use.
func deferred(expr string, compile func(string) *regexp.Regexp) *Regexp {
	return &Regexp{expr: expr, re: sync.OnceValue(func() *regexp.Regexp { return compile(expr) })}
}

// Regexp returns the compiled expression.
func (r *Regexp) Regexp() *regexp.Regexp { return r.re() }

// String returns the source text.
func (r *Regexp) String() string { return r.expr }

// MatchString is regexp.Regexp.MatchString.
func (r *Regexp) MatchString(s string) bool { return r.re().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.re().FindStringSubmatch(s) }

// FindAllString is regexp.Regexp.FindAllString.
func (r *Regexp) FindAllString(s string, n int) []string { return r.re().FindAllString(s, n) }

// Match is regexp.Regexp.Match.
func (r *Regexp) Match(b []byte) bool { return r.re().Match(b) }
