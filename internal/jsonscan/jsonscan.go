// Package jsonscan reads JSON objects field by field without reflection,
// for the decoders on trailwatch's hot path (one EventBridge event per
// invocation, thousands per replay). It is deliberately partial: it accepts
// a subset of what encoding/json accepts and says so with ok=false whenever
// the input leaves that subset (a syntax error, a key that only matches a
// field case-insensitively, a value of an unexpected type, nesting deeper
// than MaxDepth). Callers then decode the same bytes with encoding/json,
// which gives the answer, or the error, it always gave. When a Decoder
// reports ok, the values it read are the ones encoding/json would have
// stored; the callers' fuzz tests hold it to that.
package jsonscan

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth is the deepest nesting read here; deeper input goes to
// encoding/json (whose own limit is 10,000).
const MaxDepth = 500

// Decoder reads one JSON document.
type Decoder struct {
	data []byte
	// text is data as a string, made once, when the first string is read,
	// unless sparse is set.
	text   string
	sparse bool
	pos    int
	ok     bool
}

// New returns a Decoder for data whose strings are cut from a single copy
// of the document, made when the first string is read: reading a field
// allocates nothing more, and every value keeps that copy alive. It suits
// documents read mostly for their strings (a CloudTrail record). data must
// not change while the decoder or the raw values it returned are in use.
func New(data []byte) *Decoder {
	return &Decoder{data: data, ok: true}
}

// NewOwned returns a Decoder for data the caller hands over for good: its
// strings are cut from data itself, without the copy New makes, so data
// must never change once it is passed here (not only while the values
// are in use). A scan's records are each split into a buffer of their
// own that nothing writes again; that copy was 18% of a scan's
// allocations (measured on 300k records), hence the unsafe conversion.
func NewOwned(data []byte) *Decoder {
	d := &Decoder{data: data, ok: true}
	if len(data) > 0 {
		d.text = unsafe.String(unsafe.SliceData(data), len(data))
	}
	return d
}

// NewSparse returns a Decoder for data that copies each string it reads on
// its own, for documents of which few bytes are read as strings (an
// envelope around a large detail).
func NewSparse(data []byte) *Decoder {
	return &Decoder{data: data, sparse: true, ok: true}
}

// OK reports whether everything read so far was within what this package
// reads exactly as encoding/json does.
func (d *Decoder) OK() bool { return d.ok }

// Fail marks the document as one the caller must hand to encoding/json,
// for a reason of the caller's (an unexpected type, say). It returns false
// so callers can write `return d.Fail()`.
func (d *Decoder) Fail() bool {
	d.ok = false
	return false
}

// End reports whether the rest of the input is whitespace, as
// encoding/json requires after the top-level value, and the whole document
// was read cleanly.
func (d *Decoder) End() bool {
	d.space()
	if d.pos != len(d.data) {
		d.ok = false
	}
	return d.ok
}

func (d *Decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// Kind returns the first byte of the next value, after whitespace: one of
// '{', '[', '"', 't', 'f', 'n', '-' or a digit; 0 at the end of input.
func (d *Decoder) Kind() byte {
	d.space()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// Null consumes a null literal if one comes next and reports whether it did.
func (d *Decoder) Null() bool {
	if d.Kind() == 'n' && d.literal("null") {
		return true
	}
	return false
}

// Object reads an object, calling field for each member with its key; field
// must read the value (with one of the reading methods, or Skip) and return
// false to stop. key is a slice of the input, valid during the call only
// (`switch string(key)` compares without a copy). Keys with escapes are
// not read here. Object returns false when the input is not an object or
// reading failed.
func (d *Decoder) Object(field func(key []byte) bool) bool {
	return d.object(0, field)
}

func (d *Decoder) object(depth int, field func(key []byte) bool) bool {
	if !d.ok || d.Kind() != '{' {
		return d.Fail()
	}
	if depth >= MaxDepth {
		return d.Fail()
	}
	d.pos++
	if d.Kind() == '}' {
		d.pos++
		return true
	}
	for {
		if d.Kind() != '"' {
			return d.Fail()
		}
		start, end, plain := d.str()
		if !d.ok || !plain {
			return d.Fail()
		}
		if d.Kind() != ':' {
			return d.Fail()
		}
		d.pos++
		if !field(d.data[start:end]) || !d.ok {
			return d.Fail()
		}
		switch d.Kind() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return true
		default:
			return d.Fail()
		}
	}
}

// Array reads an array, calling elem for each element; elem must read the
// element and return false to stop.
func (d *Decoder) Array(elem func() bool) bool {
	if !d.ok || d.Kind() != '[' {
		return d.Fail()
	}
	d.pos++
	if d.Kind() == ']' {
		d.pos++
		return true
	}
	for {
		if !elem() || !d.ok {
			return d.Fail()
		}
		switch d.Kind() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return true
		default:
			return d.Fail()
		}
	}
}

// String reads a JSON string into *p; null leaves *p as it is, as
// encoding/json does. Any other type fails.
func (d *Decoder) String(p *string) bool {
	switch d.Kind() {
	case 'n':
		return d.literal("null")
	case '"':
	default:
		return d.Fail()
	}
	start, end, plain := d.str()
	if !d.ok {
		return false
	}
	if plain {
		*p = d.string(start, end)
		return true
	}
	if s, ok := unescape(d.data[start:end]); ok {
		*p = s
		return true
	}
	// \u escapes or bytes that are not UTF-8: encoding/json's own
	// unquoting, for its exact replacements.
	var s string
	if err := json.Unmarshal(d.data[start-1:end+1], &s); err != nil {
		return d.Fail()
	}
	*p = s
	return true
}

// Bool reads true, false or null into *p as encoding/json does for a
// *bool: null sets it to nil.
func (d *Decoder) Bool(p **bool) bool {
	switch d.Kind() {
	case 'n':
		if d.literal("null") {
			*p = nil
			return true
		}
	case 't':
		if d.literal("true") {
			v := true
			*p = &v
			return true
		}
	case 'f':
		if d.literal("false") {
			v := false
			*p = &v
			return true
		}
	}
	return d.Fail()
}

// Raw reads any value and returns its bytes, as json.RawMessage holds them
// (a slice of the input: callers copy it when the input is not theirs).
func (d *Decoder) Raw() ([]byte, bool) {
	d.space()
	start := d.pos
	if !d.skip(0) {
		return nil, false
	}
	return d.data[start:d.pos], true
}

// Capture runs read, which must read one value, and returns that value's
// bytes as Raw would.
func (d *Decoder) Capture(read func() bool) ([]byte, bool) {
	d.space()
	start := d.pos
	if !read() || !d.ok {
		return nil, d.Fail()
	}
	return d.data[start:d.pos], true
}

// Number reads a number and returns its bytes.
func (d *Decoder) Number() ([]byte, bool) {
	if c := d.Kind(); c != '-' && (c < '0' || c > '9') {
		return nil, d.Fail()
	}
	start := d.pos
	if !d.number() {
		return nil, false
	}
	return d.data[start:d.pos], true
}

// Skip reads and validates any value.
func (d *Decoder) Skip() bool {
	return d.skip(0)
}

func (d *Decoder) skip(depth int) bool {
	if !d.ok {
		return false
	}
	switch c := d.Kind(); {
	case c == '{':
		return d.object(depth+1, func([]byte) bool { return d.skip(depth + 1) })
	case c == '[':
		if depth+1 >= MaxDepth {
			return d.Fail()
		}
		return d.Array(func() bool { return d.skip(depth + 1) })
	case c == '"':
		d.str()
		return d.ok
	case c == 't':
		return d.literal("true") || d.Fail()
	case c == 'f':
		return d.literal("false") || d.Fail()
	case c == 'n':
		return d.literal("null") || d.Fail()
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return d.Fail()
}

func (d *Decoder) literal(word string) bool {
	if end := d.pos + len(word); end > len(d.data) || string(d.data[d.pos:end]) != word {
		return d.Fail()
	}
	d.pos += len(word)
	// encoding/json requires a delimiter after a literal ("truex" is a
	// syntax error); the caller's next read checks for one.
	if d.pos < len(d.data) && isWordByte(d.data[d.pos]) {
		return d.Fail()
	}
	return true
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '+'
}

// number reads a number with JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *Decoder) number() bool {
	b, i := d.data, d.pos
	digits := func() bool {
		n := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return d.Fail()
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return d.Fail()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return d.Fail()
		}
	}
	if i < len(b) && isWordByte(b[i]) {
		return d.Fail()
	}
	d.pos = i
	return true
}

// str reads a string token at d.pos ('"'), validating it as encoding/json's
// scanner does, and returns the bounds of its contents. plain is true when
// the contents need no unquoting: no escapes and valid UTF-8.
func (d *Decoder) str() (start, end int, plain bool) {
	b := d.data
	i := d.pos + 1
	start = i
	plain = true
	ascii := true
	for {
		i = plainRun(b, i, ascii)
		if i >= len(b) {
			d.Fail()
			return 0, 0, false
		}
		c := b[i]
		switch {
		case c == '"':
			d.pos = i + 1
			if !ascii && plain && !utf8.Valid(b[start:i]) {
				plain = false
			}
			return start, i, plain
		case c < 0x20:
			d.Fail()
			return 0, 0, false
		case c == '\\':
			plain = false
			i++
			if i >= len(b) {
				d.Fail()
				return 0, 0, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					d.Fail()
					return 0, 0, false
				}
				i += 5
			default:
				d.Fail()
				return 0, 0, false
			}
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			i++
		}
	}
}

// unescape decodes string contents whose escapes are the two-character
// ones (\" \\ \/ \b \f \n \r \t) in valid UTF-8, as encoding/json does;
// ok is false for anything else (\u escapes, invalid UTF-8).
func unescape(b []byte) (string, bool) {
	if !utf8.Valid(b) {
		return "", false
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default:
			return "", false
		}
	}
	return string(out), true
}

// Bytes repeated in a word, for plainRun's word-at-a-time tests.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainRun returns the index of the first byte from i on that str must
// look at: a quote, a backslash, a control character, the end of b, or,
// while ascii is true, a byte of a multi-byte UTF-8 sequence (once one is
// seen the whole string is validated at its end instead). It tests eight
// bytes at a time: (x - n*ones) &^ x & highs sets the high bit of each
// byte below n (n <= 0x80) that has no borrow from a lower byte, so its
// lowest set bit marks the first such byte exactly.
func plainRun(b []byte, i int, ascii bool) int {
	high := uint64(0)
	if ascii {
		high = highs
	}
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		m := ((x-ones*0x20)&^x | (quote-ones)&^quote | (backslash-ones)&^backslash | x&high) & highs
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && (strPlain[b[i]] || !ascii && b[i] >= utf8.RuneSelf) {
		i++
	}
	return i
}

// strPlain marks the bytes str passes over without a look: printable ASCII
// but the quote and the backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// string returns data[start:end] as a string: a copy of its own for a
// sparse decoder, else cut from the document's one string copy.
func (d *Decoder) string(start, end int) string {
	if d.sparse {
		return string(d.data[start:end])
	}
	if d.text == "" {
		d.text = string(d.data)
	}
	return d.text[start:end]
}

// Unknown handles a key that names none of a struct's fields: encoding/json
// would still store the value in a field whose name matches the key
// case-insensitively (with Unicode folding), so such a key fails, and any
// other is skipped.
func (d *Decoder) Unknown(key []byte, fields []string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return d.Fail()
		}
	}
	for _, f := range fields {
		if len(f) == len(key) && bytes.EqualFold(key, []byte(f)) {
			return d.Fail()
		}
	}
	return d.Skip()
}

// Text reads a JSON string as json.Unmarshal(raw, &s) does: ok is false
// when encoding/json would fail. null reads as "".
func Text(raw []byte) (s string, ok bool) {
	d := New(raw)
	if d.String(&s) && d.End() {
		return s, true
	}
	if d.pos = 0; d.Kind() != '"' {
		return "", false // not a string, not null: encoding/json fails too
	}
	s = ""
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// Members reads a JSON object's members as encoding/json decodes it into a
// map[string]json.RawMessage: ok is false when encoding/json would fail
// (not an object, broken JSON); null gives a nil map. Values are slices of
// raw.
func Members(raw []byte) (m map[string]json.RawMessage, ok bool) {
	d := New(raw)
	switch d.Kind() {
	case 'n':
		if d.Null() && d.End() {
			return nil, true
		}
		return nil, false
	case '{':
	default:
		return nil, false // not an object: encoding/json fails too
	}
	m = map[string]json.RawMessage{}
	d.Object(func(key []byte) bool {
		v, ok := d.Raw()
		m[string(key)] = v
		return ok
	})
	if d.End() {
		return m, true
	}
	m = nil
	err := json.Unmarshal(raw, &m)
	return m, err == nil
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	stringType     = reflect.TypeFor[string]()
)

// Fields decodes raw into v, a pointer to a struct, as json.Unmarshal(raw,
// v) would. It reads structs whose exported fields, each named by its json
// tag (or ignored with "-"), are strings, bools, signed integers, floats,
// json.RawMessage values (slices of raw), types whose pointer is a
// json.Unmarshaler (handed the value's bytes, as encoding/json does),
// structs, and pointers, slices and string-keyed maps of these. It reports
// false, having perhaps set some fields, for anything it does not read
// exactly as encoding/json (other field types, a key that matches a field
// only case-insensitively, a value of another type, a number that does not
// fit, a repeated list member, broken JSON): callers zero v and use
// encoding/json.
func Fields(raw []byte, v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return false
	}
	d := New(raw)
	return d.fields(rv.Elem(), 0) && d.End()
}

// Unmarshal is json.Unmarshal(raw, v): in one pass with Fields when it
// can, else by encoding/json from a zero *v, whose answer (what it decoded
// before an error included) and error it returns.
func Unmarshal(raw []byte, v any) error {
	if Fields(raw, v) {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	return json.Unmarshal(raw, v)
}

func (d *Decoder) fields(rv reflect.Value, depth int) bool {
	if depth > 8 {
		return d.Fail()
	}
	// On the stack for the usual small struct.
	var nameBuf [24]string
	var kindBuf [24]fieldKind
	names, kinds, ok := structFields(rv.Type(), nameBuf[:0], kindBuf[:0])
	if !ok {
		return d.Fail()
	}
	return d.members(rv, names, kinds, depth)
}

// structFields appends the JSON names ("" for fields encoding/json
// ignores) and kinds of t's fields, by index, to names and kinds; ok is
// false when t has a field fields does not read.
func structFields(t reflect.Type, names []string, kinds []fieldKind) ([]string, []fieldKind, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			names, kinds = append(names, ""), append(kinds, unsupported)
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			names, kinds = append(names, ""), append(kinds, unsupported) // encoding/json ignores it
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		k := kindOf(f.Type)
		if f.Anonymous || name == "" || name == "-" || strings.Contains(opts, "string") || k == unsupported {
			return nil, nil, false
		}
		names, kinds = append(names, name), append(kinds, k)
	}
	return names, kinds, true
}

// members reads an object into rv, a struct whose fields structFields
// described.
func (d *Decoder) members(rv reflect.Value, names []string, kinds []fieldKind, depth int) bool {
	return d.Object(func(key []byte) bool {
		for i, name := range names {
			if name == "" || name != string(key) {
				continue
			}
			return d.field(rv.Field(i), kinds[i], depth)
		}
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return d.Fail()
			}
		}
		for _, name := range names {
			if name != "" && strings.EqualFold(name, string(key)) {
				return d.Fail()
			}
		}
		return d.Skip()
	})
}

// fieldKind is how fields reads a struct field.
type fieldKind uint8

const (
	unsupported      fieldKind = iota // left to encoding/json
	rawField                          // json.RawMessage
	unmarshalerField                  // its pointer is a json.Unmarshaler
	stringField
	boolField
	intField   // signed integers
	floatField // float32 and float64
	structField
	pointerField // to a type of these kinds
	sliceField   // of a type of these kinds
	mapField     // from string to a type of these kinds
)

// kindOf classifies a field's type. A named type of a package may have
// methods: UnmarshalJSON is called through the field's address, as
// encoding/json calls it (on a value receiver too), and a type with
// UnmarshalText is left to encoding/json. Builtin and unnamed types have
// no methods of their own (a pointer's are its element's), so they skip
// the method look-up.
func kindOf(t reflect.Type) fieldKind {
	if t == rawMessageType {
		return rawField
	}
	if t.PkgPath() != "" {
		// A type assertion on a nil *t is the runtime's cached look-up,
		// where reflect's Implements walks the method set each time.
		switch reflect.Zero(reflect.PointerTo(t)).Interface().(type) {
		case json.Unmarshaler:
			return unmarshalerField
		case encoding.TextUnmarshaler:
			return unsupported // encoding/json hands it strings
		}
	}
	switch t.Kind() {
	case reflect.String:
		return stringField
	case reflect.Bool:
		return boolField
	case reflect.Struct:
		return structField
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intField
	case reflect.Float32, reflect.Float64:
		return floatField
	case reflect.Pointer:
		if kindOf(t.Elem()) != unsupported {
			return pointerField
		}
	case reflect.Slice:
		// []byte is base64 to encoding/json.
		if t.Elem().Kind() != reflect.Uint8 && kindOf(t.Elem()) != unsupported {
			return sliceField
		}
	case reflect.Map:
		if t.Key() == stringType && kindOf(t.Elem()) != unsupported {
			return mapField
		}
	}
	return unsupported
}

// field reads one value into fv, a field of kind k.
func (d *Decoder) field(fv reflect.Value, k fieldKind, depth int) bool {
	switch k {
	case rawField:
		value, ok := d.Raw()
		fv.SetBytes(value)
		return ok
	case unmarshalerField:
		value, ok := d.Raw()
		if !ok {
			return false
		}
		if fv.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(value) != nil {
			return d.Fail()
		}
		return true
	case stringField:
		s := fv.String()
		if !d.String(&s) {
			return false
		}
		fv.SetString(s)
		return true
	case boolField:
		var b *bool
		if !d.Bool(&b) {
			return false
		}
		if b != nil {
			fv.SetBool(*b)
		}
		return true
	case intField:
		if d.Null() {
			return true
		}
		num, ok := d.Number()
		if !ok {
			return false
		}
		n, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || fv.OverflowInt(n) {
			return d.Fail() // a fraction, an exponent or too large: encoding/json's error
		}
		fv.SetInt(n)
		return true
	case floatField:
		if d.Null() {
			return true
		}
		num, ok := d.Number()
		if !ok {
			return false
		}
		n, err := strconv.ParseFloat(string(num), fv.Type().Bits())
		if err != nil || fv.OverflowFloat(n) {
			return d.Fail()
		}
		fv.SetFloat(n)
		return true
	case pointerField:
		// null sets the pointer to nil; a value goes where it points,
		// allocated first when it is nil.
		if d.Null() {
			fv.SetZero()
			return true
		}
		if depth > 8 {
			return d.Fail()
		}
		if fv.IsNil() {
			fv.Set(reflect.New(fv.Type().Elem()))
		}
		return d.field(fv.Elem(), kindOf(fv.Type().Elem()), depth+1)
	case sliceField:
		if d.Null() {
			fv.SetZero()
			return true
		}
		// encoding/json decodes a repeated member into the elements the
		// first one left: leave that to it.
		if depth > 8 || !fv.IsNil() {
			return d.Fail()
		}
		et := fv.Type().Elem()
		ek := kindOf(et)
		zero := reflect.Zero(et)
		// Struct elements share one look at their fields.
		var nameBuf [24]string
		var kindBuf [24]fieldKind
		var names []string
		var kinds []fieldKind
		if ek == structField {
			var ok bool
			if names, kinds, ok = structFields(et, nameBuf[:0], kindBuf[:0]); !ok {
				return d.Fail()
			}
		}
		n := 0
		if !d.Array(func() bool {
			fv.Set(reflect.Append(fv, zero))
			n++
			if ek != structField {
				return d.field(fv.Index(n-1), ek, depth+1)
			}
			return d.Null() || d.members(fv.Index(n-1), names, kinds, depth+1)
		}) {
			return false
		}
		if n == 0 {
			fv.Set(reflect.MakeSlice(fv.Type(), 0, 0)) // [] is empty, not nil
		}
		return true
	case mapField:
		// Each member's value is decoded from zero and replaces what the
		// map had for its key; a repeated member adds to the same map.
		if d.Null() {
			fv.SetZero()
			return true
		}
		if depth > 8 || d.Kind() != '{' {
			return d.Fail()
		}
		if fv.IsNil() {
			fv.Set(reflect.MakeMap(fv.Type()))
		}
		et := fv.Type().Elem()
		ek := kindOf(et)
		return d.Object(func(key []byte) bool {
			v := reflect.New(et).Elem()
			if !d.field(v, ek, depth+1) {
				return false
			}
			fv.SetMapIndex(reflect.ValueOf(string(key)), v)
			return true
		})
	default: // a struct: null leaves it as it is
		if d.Null() {
			return true
		}
		return d.fields(fv, depth+1)
	}
}
