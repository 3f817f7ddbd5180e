// Package jsonflat is a quamina Flattener for JSON events that skips what
// no pattern reads faster than quamina's own.
//
// quamina reads an event's JSON once per match into the fields its
// patterns name (quamina.Flattener). Its flattener steps through every
// byte of the event, the strings of members no pattern names too, and a
// CloudTrail record is mostly such strings (user agents, request IDs,
// session contexts, resources): in trailwatch scan on 300,000 records it
// was a fifth of the CPU (skipStringValue alone 5%). This one finds the
// end of a skipped string with bytes.IndexByte and otherwise makes the
// same fields in the same order, with the same errors for the inputs
// quamina refuses (bytes from 0xf6 up and control characters in a string
// it reads, a \u escape followed by a shorter escape): TestLikeQuamina and
// FuzzLikeQuamina hold its matches to those of quamina's flattener. No
// maintained library does this; quamina's flattener is unexported.
package jsonflat

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"

	"quamina.net/go/quamina"
)

// Flattener is a quamina.Flattener; like quamina's, one instance
// flattens one event at a time (Copy makes another).
type Flattener struct {
	ev     []byte
	fields []quamina.Field
	trail  []quamina.ArrayPos
	arrays int32
}

// New returns a Flattener.
func New() *Flattener { return &Flattener{fields: make([]quamina.Field, 0, 32)} }

// Copy returns a new Flattener (quamina.Quamina.Copy calls it).
func (f *Flattener) Copy() quamina.Flattener { return New() }

var (
	trueBytes  = []byte("true")
	falseBytes = []byte("false")
	nullBytes  = []byte("null")
	// errDone stops reading once the root object has given every field
	// and node the patterns name.
	errDone = errors.New("every field read")
)

// Flatten returns the fields of event the tracker's patterns name.
func (f *Flattener) Flatten(event []byte, tracker quamina.SegmentsTreeTracker) ([]quamina.Field, error) {
	f.ev, f.fields, f.trail, f.arrays = event, f.fields[:0], f.trail[:0], 0
	i := f.space(0)
	if i == len(event) || event[i] != '{' {
		return nil, f.errorAt(i, "not a JSON object")
	}
	end, err := f.object(i, tracker)
	if errors.Is(err, errDone) {
		return f.fields, nil
	}
	if err != nil {
		return nil, err
	}
	if j := f.space(end); j != len(event) {
		return nil, f.errorAt(j, "garbage after the top-level object")
	}
	return f.fields, nil
}

func (f *Flattener) errorAt(i int, msg string) error {
	return fmt.Errorf("jsonflat: byte %d: %s", i, msg)
}

func (f *Flattener) space(i int) int {
	for i < len(f.ev) {
		switch f.ev[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// object reads the object at ev[i] ('{') and returns the index after it.
func (f *Flattener) object(i int, node quamina.SegmentsTreeTracker) (int, error) {
	fieldsLeft, nodesLeft := node.FieldsCount(), node.NodesCount()
	// The trail is the same for every member: one snapshot (quamina's).
	trail := make([]quamina.ArrayPos, len(f.trail))
	copy(trail, f.trail)
	i++
	for {
		if fieldsLeft == 0 && nodesLeft == 0 {
			if node.IsRoot() {
				return 0, errDone
			}
			return f.skipRest(i)
		}
		i = f.space(i)
		if i == len(f.ev) {
			return 0, f.errorAt(i, "truncated object")
		}
		if f.ev[i] == '}' {
			return i + 1, nil
		}
		if f.ev[i] != '"' {
			return 0, f.errorAt(i, "want a member name")
		}
		name, end, err := f.text(i)
		if err != nil {
			return 0, err
		}
		if i = f.space(end); i == len(f.ev) || f.ev[i] != ':' {
			return 0, f.errorAt(i, "want a colon")
		}
		if i = f.space(i + 1); i == len(f.ev) {
			return 0, f.errorAt(i, "truncated after a colon")
		}
		used := node.IsSegmentUsed(name)
		switch c := f.ev[i]; {
		case c == '{' || c == '[':
			sub, named := node.Get(name)
			switch {
			case !used || c == '{' && !named:
				i, err = f.skipBlock(i)
			case c == '{':
				nodesLeft--
				i, err = f.object(i, sub)
			default:
				if !named {
					// An array of a leaf's name: its objects' members
					// are looked up where the array is (quamina's rule).
					sub = node
				}
				i, err = f.array(i, node.PathForSegment(name), sub)
			}
			if err != nil {
				return 0, err
			}
		case c == '"' && !used:
			if i, err = f.skipString(i); err != nil {
				return 0, err
			}
		default:
			val, number, end, err := f.scalar(i)
			if err != nil {
				return 0, err
			}
			i = end
			if used {
				f.fields = append(f.fields, quamina.Field{Path: node.PathForSegment(name), ArrayTrail: trail, Val: val, IsNumber: number})
				fieldsLeft--
			}
		}
		if fieldsLeft == 0 && nodesLeft == 0 {
			continue // done before reading on, as quamina is
		}
		next, closed, err := f.separator(i, '}')
		if err != nil || closed {
			return next, err
		}
		i = next
	}
}

// separator reads what follows a member or an element at ev[i]: a comma
// (next is after it) or the closing byte (closed, next after it).
func (f *Flattener) separator(i int, closing byte) (next int, closed bool, err error) {
	i = f.space(i)
	switch {
	case i == len(f.ev):
		return 0, false, f.errorAt(i, "truncated object or array")
	case f.ev[i] == ',':
		return i + 1, false, nil
	case f.ev[i] == closing:
		return i + 1, true, nil
	}
	return 0, false, f.errorAt(i, "want a comma or "+string(closing))
}

// array reads the array at ev[i] ('['), each element a field of path
// or, for objects, members looked up in node.
func (f *Flattener) array(i int, path []byte, node quamina.SegmentsTreeTracker) (int, error) {
	f.arrays++
	f.trail = append(f.trail, quamina.ArrayPos{Array: f.arrays})
	defer func() { f.trail = f.trail[:len(f.trail)-1] }()
	i++
	for {
		i = f.space(i)
		if i == len(f.ev) {
			return 0, f.errorAt(i, "truncated array")
		}
		if f.ev[i] == ']' {
			return i + 1, nil
		}
		f.trail[len(f.trail)-1].Pos++
		var err error
		switch f.ev[i] {
		case '{':
			i, err = f.object(i, node)
		case '[':
			i, err = f.array(i, path, node)
		default:
			var val []byte
			var number bool
			if val, number, i, err = f.scalar(i); err == nil {
				trail := make([]quamina.ArrayPos, len(f.trail))
				copy(trail, f.trail)
				f.fields = append(f.fields, quamina.Field{Path: path, ArrayTrail: trail, Val: val, IsNumber: number})
			}
		}
		if err != nil {
			return 0, err
		}
		next, closed, err := f.separator(i, ']')
		if err != nil || closed {
			return next, err
		}
		i = next
	}
}

// scalar reads the string, number or literal at ev[i]: its field value
// (a string's with its quotes, unescaped), whether it is a number, and
// the index after it.
func (f *Flattener) scalar(i int) (val []byte, number bool, end int, err error) {
	switch c := f.ev[i]; {
	case c == '"':
		s, end, err := f.text(i)
		if err != nil {
			return nil, false, 0, err
		}
		if len(s) == end-i-2 {
			return f.ev[i:end], false, end, nil // no escapes: the quoted bytes
		}
		return append(append(append(make([]byte, 0, len(s)+2), '"'), s...), '"'), false, end, nil
	case c == 't':
		return f.literal(i, trueBytes)
	case c == 'f':
		return f.literal(i, falseBytes)
	case c == 'n':
		return f.literal(i, nullBytes)
	case c == '-' || c >= '0' && c <= '9':
		j := i + 1
		for j < len(f.ev) {
			switch f.ev[j] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return f.ev[i:j], true, j, nil
			}
			j++
		}
		return nil, false, 0, f.errorAt(i, "truncated number")
	}
	return nil, false, 0, f.errorAt(i, "want a value")
}

func (f *Flattener) literal(i int, lit []byte) ([]byte, bool, int, error) {
	if !bytes.HasPrefix(f.ev[i:], lit) {
		return nil, false, 0, f.errorAt(i, "unknown literal")
	}
	return lit, false, i + len(lit), nil
}

// text reads the string at ev[i] ('"') that the flattener uses (a member
// name or a value): its text, a slice of the event when it has no
// escapes, and the index after its closing quote. Like quamina it refuses
// control characters and bytes from 0xf6 up.
func (f *Flattener) text(i int) (s []byte, end int, err error) {
	j := i + 1
	for j < len(f.ev) {
		switch c := f.ev[j]; {
		case c == '"':
			return f.ev[i+1 : j], j + 1, nil
		case c == '\\':
			return f.unescape(i)
		case c <= 0x1f || c >= 0xf6:
			return nil, 0, f.errorAt(j, fmt.Sprintf("illegal byte %#x in a string", c))
		}
		j++
	}
	return nil, 0, f.errorAt(i, "truncated string")
}

// unescape reads a string with escapes, as quamina does: runs of \uXXXX
// decoded together (surrogate pairs), other bytes kept as they are. A
// \u run followed by another escape is refused: quamina v1.5.1 misreads
// it and fails (the catalog reads such events again rewritten, see
// detect.matchable).
func (f *Flattener) unescape(i int) ([]byte, int, error) {
	out := make([]byte, 0, 32)
	for j := i + 1; j < len(f.ev); {
		c := f.ev[j]
		switch {
		case c == '"':
			return out, j + 1, nil
		case c <= 0x1f || c >= 0xf6:
			return nil, 0, f.errorAt(j, fmt.Sprintf("illegal byte %#x in a string", c))
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 == len(f.ev) {
			return nil, 0, f.errorAt(j, "truncated escape")
		}
		if f.ev[j+1] != 'u' {
			b, ok := simpleEscape(f.ev[j+1])
			if !ok {
				return nil, 0, f.errorAt(j, "malformed escape")
			}
			out = append(out, b)
			j += 2
			continue
		}
		var units []uint16
		for j+1 < len(f.ev) && f.ev[j] == '\\' && f.ev[j+1] == 'u' {
			if j+6 > len(f.ev) {
				return nil, 0, f.errorAt(j, "truncated \\u escape")
			}
			u, err := strconv.ParseUint(string(f.ev[j+2:j+6]), 16, 16)
			if err != nil {
				return nil, 0, f.errorAt(j, "four hex digits required after \\u")
			}
			units = append(units, uint16(u))
			j += 6
		}
		if j < len(f.ev) && f.ev[j] == '\\' {
			return nil, 0, f.errorAt(j, "an escape right after a \\u escape")
		}
		out = append(out, string(utf16.Decode(units))...)
	}
	return nil, 0, f.errorAt(i, "truncated string")
}

func simpleEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// skipString returns the index after the string at ev[i].
func (f *Flattener) skipString(i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(f.ev[j:], '"')
		if k < 0 {
			return 0, f.errorAt(i, "truncated string")
		}
		q := j + k
		escapes := 0
		for p := q - 1; p > i && f.ev[p] == '\\'; p-- {
			escapes++
		}
		if escapes%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

// skipBlock returns the index after the object or array at ev[i].
func (f *Flattener) skipBlock(i int) (int, error) { return f.skipNested(i, 0) }

// skipRest returns the index after the object whose members ev[i] is
// among (or after).
func (f *Flattener) skipRest(i int) (int, error) { return f.skipNested(i, 1) }

// skipNested returns the index after the bracket that closes depth levels
// of nesting from ev[i] on.
func (f *Flattener) skipNested(i, depth int) (int, error) {
	for j := i; j < len(f.ev); {
		switch f.ev[j] {
		case '"':
			var err error
			if j, err = f.skipString(j); err != nil {
				return 0, err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return j + 1, nil
			}
		}
		j++
	}
	return 0, f.errorAt(i, "truncated object or array")
}
