// Package jsonsplit finds the elements of a JSON array in a stream without
// decoding them: it tracks only strings, escapes and bracket nesting, so a
// CloudTrail log file's Records array is split at the speed of a byte loop
// and each record is decoded once, later, by whoever consumes it.
//
// It is hand-written rather than taken from a library because the one kept
// streaming JSON library (tidwall/gjson) works on a whole document in
// memory, and encoding/json's Decoder, which streams, validates and
// re-scans every element (a third of trailwatch scan's CPU). Elements are
// not validated here: their decoder reports a malformed one, and the rest
// of the array goes on. Only what makes the boundaries unknowable (a
// mismatched bracket, a truncated stream) ends the array.
package jsonsplit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge marks an element longer than the splitter's limit; it was
// skipped without being kept, and the array goes on.
var ErrTooLarge = errors.New("array element too large")

// Splitter yields the elements of one JSON array whose '[' its reader has
// already consumed.
type Splitter struct {
	r     *bufio.Reader
	max   int
	off   int64
	first bool
	done  bool
	stack []byte
	// prefix and spare shape the buffers elements are kept in (Prefix).
	prefix []byte
	spare  int
}

// New splits the array read from r; elements longer than max bytes are
// skipped (counted, not kept). off is the offset of r's next byte in the
// input, for error messages.
func New(r *bufio.Reader, max int, off int64) *Splitter {
	return &Splitter{r: r, max: max, off: off, first: true}
}

// Prefix makes every element Next returns begin with prefix, the element
// itself after it, in a buffer with at least spare bytes of capacity
// after the element: a caller that wraps each element (trailwatch puts a
// record in its EventBridge envelope) writes around it in place instead
// of copying it. It returns s.
func (s *Splitter) Prefix(prefix []byte, spare int) *Splitter {
	s.prefix, s.spare = prefix, spare
	return s
}

// Offset is the input offset of the next unread byte.
func (s *Splitter) Offset() int64 { return s.off }

// Next returns the next element, a copy the caller owns (after the prefix,
// when one is set), and its length.
// It returns io.EOF after the array's ']' (consumed). An element over the
// limit comes back as (nil, size, ErrTooLarge) and Next may be called
// again; any other error ends the array.
func (s *Splitter) Next() ([]byte, int64, error) {
	if s.done {
		return nil, 0, io.EOF
	}
	c, err := s.skipSpace()
	if err != nil {
		return nil, 0, err
	}
	if c == ']' && s.first {
		s.discard(1)
		s.done = true
		return nil, 0, io.EOF
	}
	if !s.first {
		switch c {
		case ']':
			s.discard(1)
			s.done = true
			return nil, 0, io.EOF
		case ',':
			s.discard(1)
		default:
			return nil, 0, s.syntax(fmt.Sprintf("invalid character %q after array element", c))
		}
		if c, err = s.skipSpace(); err != nil {
			return nil, 0, err
		}
	}
	s.first = false
	switch c {
	case '{', '[', '"':
		return s.composite()
	case ']', ',', '}', ':':
		return nil, 0, s.syntax(fmt.Sprintf("invalid character %q looking for an array element", c))
	}
	return s.scalar()
}

// SyntaxError is a structural error at an input offset.
type SyntaxError struct {
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

func (s *Splitter) syntax(msg string) error { return &SyntaxError{Offset: s.off, Msg: msg} }

func (s *Splitter) discard(n int) {
	_, _ = s.r.Discard(n)
	s.off += int64(n)
}

// fill returns the buffered bytes, reading more when none are.
func (s *Splitter) fill() ([]byte, error) {
	if s.r.Buffered() == 0 {
		if _, err := s.r.Peek(1); err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("offset %d: %w", s.off, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
	}
	b, _ := s.r.Peek(s.r.Buffered())
	return b, nil
}

func (s *Splitter) skipSpace() (byte, error) {
	for {
		b, err := s.fill()
		if err != nil {
			return 0, err
		}
		i := 0
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		s.discard(i)
		if i < len(b) {
			return b[i], nil
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// keep appends a chunk to the element unless it grew past the limit.
func (s *Splitter) keep(elem []byte, size int64, chunk []byte) []byte {
	if size > int64(s.max) {
		return nil
	}
	if elem == nil && s.prefix != nil {
		elem = append(make([]byte, 0, len(s.prefix)+len(chunk)+s.spare), s.prefix...)
	}
	return append(elem, chunk...)
}

// composite reads an object, array or string element: the bytes up to the
// bracket or quote that closes the first one.
func (s *Splitter) composite() ([]byte, int64, error) {
	var elem []byte
	var size int64
	s.stack = s.stack[:0]
	inStr, esc := false, false
	for {
		b, err := s.fill()
		if err != nil {
			return nil, 0, err
		}
		i, end := 0, false
	scan:
		for i < len(b) {
			if inStr {
				if esc {
					esc = false
					i++
					continue
				}
				// Most of a record is string bytes: jump to the next quote
				// when no backslash comes before it.
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					j = len(b) - i
				}
				if k := bytes.IndexByte(b[i:i+j], '\\'); k >= 0 {
					i += k + 1
					esc = true
					continue
				}
				i += j
				if i == len(b) {
					break
				}
				i++
				inStr = false
				if len(s.stack) == 0 {
					end = true
					break scan
				}
				continue
			}
			c := b[i]
			i++
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				s.stack = append(s.stack, c)
			case '}', ']':
				open := byte('{')
				if c == ']' {
					open = '['
				}
				if len(s.stack) == 0 || s.stack[len(s.stack)-1] != open {
					s.off += int64(i - 1)
					_, _ = s.r.Discard(i - 1)
					return nil, 0, s.syntax(fmt.Sprintf("invalid character %q in array element", c))
				}
				s.stack = s.stack[:len(s.stack)-1]
				if len(s.stack) == 0 {
					end = true
					break scan
				}
			}
		}
		size += int64(i)
		elem = s.keep(elem, size, b[:i])
		s.discard(i)
		if end {
			if size > int64(s.max) {
				return nil, size, ErrTooLarge
			}
			return elem, size, nil
		}
	}
}

// scalar reads a number or literal element up to the next delimiter; its
// decoder judges it.
func (s *Splitter) scalar() ([]byte, int64, error) {
	var elem []byte
	var size int64
	for {
		if _, err := s.r.Peek(1); err != nil {
			if err == io.EOF {
				return nil, 0, fmt.Errorf("offset %d: %w", s.off, io.ErrUnexpectedEOF)
			}
			return nil, 0, err
		}
		b, _ := s.r.Peek(s.r.Buffered())
		i := 0
		for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != ']' && b[i] != '}' && b[i] != '{' && b[i] != '[' && b[i] != '"' && b[i] != ':' {
			i++
		}
		size += int64(i)
		elem = s.keep(elem, size, b[:i])
		s.discard(i)
		if i < len(b) {
			if size > int64(s.max) {
				return nil, size, ErrTooLarge
			}
			return elem, size, nil
		}
	}
}
