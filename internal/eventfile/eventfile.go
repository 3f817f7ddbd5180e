// Package eventfile reads events from files the way people have them: an
// EventBridge event, a raw CloudTrail record, a CloudTrail log file
// ({"Records":[...]}, plain or gzip), a JSON array or JSON Lines of either,
// or a folder of such files. Log files are streamed record by record.
//
// A bad item is reported with its position and the rest of the file still
// runs; a file that cannot be read at all is reported once with the reason.
package eventfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/trailwatch/trailwatch/internal/cloudtrail"
	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/jsonscan"
	"github.com/trailwatch/trailwatch/internal/jsonsplit"
)

// MaxFileBytes bounds how much one file may expand to once decompressed, so
// a gzip bomb ends with an error instead of exhausting memory or time.
const MaxFileBytes = 2 << 30

// Item is one event read from input, or the reason it could not be read.
type Item struct {
	// Where names the input: the file and, inside it, the item's position.
	Where string
	Event *event.Event
	Err   error
	// raw is a CloudTrail record ReadLazy left for Decode; with inPlace,
	// raw begins with event.DetailFirst, the record after it.
	raw     []byte
	inPlace bool
	// line is the JSON Lines line raw came from, for Decode's error.
	line int
}

// Decode completes an item ReadLazy passed on undecoded: it decodes the
// record, setting Event or Err. Items already decoded are left as they are.
// Items of one file may be decoded side by side, in any order.
func (it *Item) Decode() {
	if it.raw == nil {
		return
	}
	if it.inPlace {
		it.Event, it.Err = decodeRecordIn(it.raw)
		if it.Err != nil {
			// Not a record after all (a log file's elements are decoded
			// unprobed): read it as any other element, for its own event or
			// error.
			it.Event, it.Err = classify(it.raw[len(event.DetailFirst):], true)
			if it.Err == errLogFile {
				it.Err = fmt.Errorf("%w: a log file inside a log file's Records", event.ErrMalformed)
			}
		}
	} else {
		it.Event, it.Err = decodeRecord(it.raw)
	}
	if it.Err != nil && it.line > 0 {
		it.Err = fmt.Errorf("line %d: %w", it.line, it.Err)
	}
	it.raw = nil
}

// ReadLazy is Read, except that a CloudTrail record (most of a log file)
// is passed to fn undecoded, its kind told by a probe that allocates
// nothing: the caller calls Decode, perhaps on another goroutine, so the
// records of one file are decoded on every core. Other items come
// decoded.
func ReadLazy(name string, r io.Reader, fn func(Item) error) error {
	return read(name, r, fn, true)
}

// ReadPaths reads every path in order; folders are walked (sorted, hidden
// entries skipped) for .json, .jsonl, .ndjson and .gz files. It calls fn for
// each item and stops early only if fn returns an error. Unreadable files are
// passed to fn as items with Err set.
func ReadPaths(paths []string, fn func(Item) error) error {
	for _, p := range paths {
		files, err := Expand(p)
		if err != nil {
			if ferr := fn(Item{Where: p, Err: err}); ferr != nil {
				return ferr
			}
			continue
		}
		for _, f := range files {
			if err := ReadFile(f, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadFile reads one file; see ReadPaths.
func ReadFile(path string, fn func(Item) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fn(Item{Where: path, Err: fmt.Errorf("open: %w", unwrapPathError(err))})
	}
	defer f.Close()
	return Read(path, f, fn)
}

// Read reads events from r, naming them after name. Gzip input is detected by
// its magic bytes; JSON Lines by a .jsonl or .ndjson name (line by line, so a
// bad line does not stop the file).
func Read(name string, r io.Reader, fn func(Item) error) error {
	return read(name, r, fn, false)
}

func read(name string, r io.Reader, fn func(Item) error, lazy bool) error {
	br := getReader(r)
	defer putReader(br)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		// klauspost/compress's gzip reads the same streams as the
		// standard library's, 35-45% faster on CloudTrail log files
		// (measured on the 300k-record bench archive); gunzip was a
		// tenth of a scan's CPU.
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fn(Item{Where: name, Err: fmt.Errorf("gzip: %w", err)})
		}
		defer zr.Close()
		br = getReader(&limitedReader{r: gzipErrors{zr}, n: MaxFileBytes})
	} else {
		br = getReader(&limitedReader{r: br, n: MaxFileBytes})
	}
	defer putReader(br)
	skipBOM(br)
	base := strings.TrimSuffix(strings.ToLower(name), ".gz")
	s := &stream{name: name, fn: fn, lazy: lazy}
	var err error
	if strings.HasSuffix(base, ".jsonl") || strings.HasSuffix(base, ".ndjson") {
		err = s.lines(br)
	} else {
		err = s.values(br)
	}
	if errors.Is(err, errFileDone) {
		return nil
	}
	return err
}

// readers recycles the 64 KiB read buffers: a folder of small files
// would otherwise allocate two per file.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64*1024) }}

func getReader(r io.Reader) *bufio.Reader {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

// putReader returns a reader to the pool; nothing read from it may still
// point into its buffer (the stream copies what it keeps).
func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readers.Put(br)
}

type stream struct {
	lazy  bool
	name  string
	fn    func(Item) error
	count int
	// shift is added to the decoder's offsets when it reads after a
	// Records array jsonsplit consumed.
	shift int64
}

// where names the item at the stream's position: NAME#N (once a record
// of a scan, so not fmt).
func (s *stream) where() string { return s.name + "#" + strconv.Itoa(s.count) }

// emit classifies one JSON object and hands it to fn; with owned, raw is
// a copy no one else uses, which the event may keep.
func (s *stream) emit(raw []byte, owned bool) error {
	s.count++
	if s.lazy && owned && len(raw) <= event.MaxSize {
		if p, ok := scanProbe(raw); ok && p.isRecord() {
			return s.fn(Item{Where: s.where(), raw: raw})
		}
	}
	ev, err := classify(raw, owned)
	if err == errLogFile {
		s.count--
		return s.logFile(raw)
	}
	return s.fn(Item{Where: s.where(), Event: ev, Err: err})
}

// errFileDone stops reading a file after its failure was reported.
var errFileDone = errors.New("file done")

// fail reports a failure that ends the file and stops reading it.
func (s *stream) fail(err error) error {
	if ferr := s.fn(Item{Where: s.name, Err: err}); ferr != nil {
		return ferr
	}
	return errFileDone
}

// values reads a stream of top-level JSON values: objects, arrays of
// objects, and CloudTrail log files whose Records array is streamed.
func (s *stream) values(r *bufio.Reader) error {
	var src io.Reader = r
	if n, ok := recordsPrefix(r); ok {
		// The usual CloudTrail log file: split its Records array with
		// jsonsplit, then let the decoder read the rest of the object as
		// if it had seen an empty Records array.
		_, _ = r.Discard(n)
		if err := s.splitRecords(r, int64(n)); err != nil {
			return err
		}
		src = io.MultiReader(strings.NewReader(emptyRecords), r)
	}
	dec := json.NewDecoder(src)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if s.count == 0 {
				return s.fail(errors.New("no events in file"))
			}
			return nil
		}
		if err != nil {
			return s.fail(s.syntaxError(err, dec))
		}
		switch tok {
		case json.Delim('['):
			if err := s.array(dec); err != nil {
				return err
			}
		case json.Delim('{'):
			if err := s.object(dec); err != nil {
				return err
			}
		default:
			return s.fail(fmt.Errorf("top-level JSON value %v is not an object or array", tok))
		}
	}
}

// array emits the elements of an array whose '[' was consumed, one at a
// time, and consumes its ']'.
func (s *stream) array(dec *json.Decoder) error {
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return s.fail(s.syntaxError(err, dec))
		}
		if err := s.emit(raw, true); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return s.fail(s.syntaxError(err, dec))
	}
	return nil
}

// object reads the members of an object whose '{' was consumed. A "Records"
// array is streamed; any other object is rebuilt in member order and emitted.
func (s *stream) object(dec *json.Decoder) error {
	var buf bytes.Buffer
	buf.WriteByte('{')
	streamed := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return s.fail(s.syntaxError(err, dec))
		}
		key, _ := tok.(string)
		if key == "Records" && !streamed && buf.Len() == 1 {
			next, err := dec.Token()
			if err != nil {
				return s.fail(s.syntaxError(err, dec))
			}
			if next != json.Delim('[') {
				return s.fail(errors.New("field Records is not an array"))
			}
			streamed = true
			if err := s.array(dec); err != nil {
				return err
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return s.fail(s.syntaxError(err, dec))
		}
		if streamed {
			continue // other members of a log file carry no events
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(raw)
	}
	if _, err := dec.Token(); err != nil {
		return s.fail(s.syntaxError(err, dec))
	}
	if streamed {
		return nil
	}
	buf.WriteByte('}')
	return s.emit(buf.Bytes(), true)
}

// logFile handles a {"Records":[...]} object met inside an array or a line.
func (s *stream) logFile(raw []byte) error {
	var lf struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &lf); err != nil {
		s.count++
		return s.fn(Item{Where: s.where(), Err: fmt.Errorf("log file: %w", err)})
	}
	for _, rec := range lf.Records {
		if err := s.emit(rec, true); err != nil {
			return err
		}
	}
	return nil
}

// lines reads JSON Lines: one value per line, blank lines ignored.
func (s *stream) lines(r *bufio.Reader) error {
	line := 0
	for {
		text, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(text)) > 0 {
			line++
			if ferr := s.line(line, bytes.TrimSpace(text)); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			if s.count == 0 {
				return s.fail(errors.New("no events in file"))
			}
			return nil
		}
		if err != nil {
			return s.fail(err)
		}
	}
}

// line handles one line of JSON Lines: an object or an array of objects.
// Errors name the line.
func (s *stream) line(n int, text []byte) error {
	inner := *s
	inner.fn = func(it Item) error {
		if it.Err != nil {
			it.Err = fmt.Errorf("line %d: %w", n, it.Err)
		}
		if it.raw != nil {
			it.line = n // for Decode's error
		}
		return s.fn(it)
	}
	var err error
	if text[0] == '[' {
		var items []json.RawMessage
		if jerr := json.Unmarshal(text, &items); jerr != nil {
			inner.count++
			err = inner.fn(Item{Where: inner.where(), Err: jerr})
		}
		for _, it := range items {
			if err != nil {
				break
			}
			err = inner.emit(it, true)
		}
	} else {
		err = inner.emit(text, true)
	}
	s.count = inner.count
	return err
}

var errLogFile = errors.New("cloudtrail log file")

// Classify decodes one JSON object as an EventBridge event (it has a
// detail-type), a trailwatch rule's input ({"detection": ..., "event": ...})
// or a raw CloudTrail record (it has eventName or eventSource). The event
// does not keep raw: the caller may reuse it.
func Classify(raw []byte) (*event.Event, error) {
	return classify(raw, false)
}

// classify is Classify; with owned, raw is the caller's to give away (the
// stream's own copy of an element) and the event keeps slices of it
// instead of a copy.
func classify(raw []byte, owned bool) (*event.Event, error) {
	p, ok := scanProbe(raw)
	if !ok {
		var err error
		if p, err = unmarshalProbe(raw); err != nil {
			return nil, err
		}
	}
	tooLarge := len(raw) > event.MaxSize
	switch {
	case p.detailType:
		return event.Decode(raw)
	case p.detection && p.event:
		// What a trailwatch rule sends the function, and so what its
		// dead-letter queue keeps.
		inv, err := event.DecodeInvocation(raw)
		return inv.Event, err
	case p.record && tooLarge:
		return nil, fmt.Errorf("%w: %d bytes, EventBridge's limit is %d", event.ErrTooLarge, len(raw), event.MaxSize)
	case p.record:
		if !owned {
			raw = append([]byte(nil), raw...)
		}
		return decodeRecord(raw)
	case p.records:
		return nil, errLogFile
	default:
		return nil, fmt.Errorf("%w: neither an EventBridge event (no detail-type) nor a CloudTrail record (no eventName)", event.ErrMalformed)
	}
}

// decodeRecord decodes a raw CloudTrail record the event keeps: own is
// the record's own buffer, which nothing writes again.
func decodeRecord(own []byte) (*event.Event, error) {
	rec, err := ownedRecord(own)
	if err != nil {
		return nil, err
	}
	return event.FromRecord(rec)
}

// decodeRecordIn is decodeRecord for a record split into a buffer that
// begins with event.DetailFirst: its envelope is written in that buffer.
func decodeRecordIn(buf []byte) (*event.Event, error) {
	rec, err := ownedRecord(buf[len(event.DetailFirst):])
	if err != nil {
		return nil, err
	}
	return event.FromRecordIn(rec, buf)
}

func ownedRecord(own []byte) (*cloudtrail.Record, error) {
	rec, err := cloudtrail.DecodeOwned(own)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", event.ErrMalformed, err)
	}
	return rec, nil
}

// envelopeSpare is the room left after each split record for the rest of
// its envelope (about 170 bytes for a usual record; a longer one grows
// the buffer).
const envelopeSpare = 256

// probe says which of the members that tell the kinds of input apart an
// object has, as encoding/json would decode them into pointers and raw
// messages: a string member counts, null does not; Records and event count
// whatever their value.
type probe struct {
	detailType, record, detection, event, records bool
}

// isRecord reports whether classify decodes the object as a CloudTrail
// record (when it is not too large).
func (p probe) isRecord() bool {
	return p.record && !p.detailType && !(p.detection && p.event)
}

var probeKeys = []string{"detail-type", "eventName", "eventSource", "Records", "detection", "event"}

// scanProbe reads the probe's members without reflection or allocation
// (jsonscan skips the other values), which is most of the cost of a
// record otherwise: ok is false for an object it cannot read exactly as
// encoding/json does (a syntax error, keys matching case-insensitively or
// with escapes, a member of another type than string or null), and
// unmarshalProbe then decides.
func scanProbe(raw []byte) (p probe, ok bool) {
	d := jsonscan.NewSparse(raw)
	var eventName, eventSource bool
	str := func(set *bool) bool {
		switch d.Kind() {
		case 'n':
			*set = false
			return d.Null()
		case '"':
			*set = true
			return d.Skip()
		}
		return d.Fail()
	}
	d.Object(func(key []byte) bool {
		switch string(key) {
		case "detail-type":
			return str(&p.detailType)
		case "eventName":
			return str(&eventName)
		case "eventSource":
			return str(&eventSource)
		case "detection":
			return str(&p.detection)
		case "Records":
			p.records = true
			return d.Skip()
		case "event":
			p.event = true
			return d.Skip()
		}
		return d.Unknown(key, probeKeys)
	})
	p.record = eventName || eventSource
	return p, d.End()
}

// unmarshalProbe is scanProbe with encoding/json, for every object: a
// member of the wrong type is as good as absent.
func unmarshalProbe(raw []byte) (probe, error) {
	var v struct {
		DetailType  *string         `json:"detail-type"`
		EventName   *string         `json:"eventName"`
		EventSource *string         `json:"eventSource"`
		Records     json.RawMessage `json:"Records"`
		Detection   *string         `json:"detection"`
		Event       json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return probe{}, fmt.Errorf("%w: %w", event.ErrMalformed, err)
		}
	}
	return probe{
		detailType: v.DetailType != nil,
		record:     v.EventName != nil || v.EventSource != nil,
		detection:  v.Detection != nil,
		event:      v.Event != nil,
		records:    v.Records != nil,
	}, nil
}

// Expand lists the event files of path: the file itself, or a folder's
// .json, .jsonl, .ndjson and .gz files, sorted, hidden entries skipped.
func Expand(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && isEventFile(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk: %w", err)
	}
	if len(files) == 0 {
		return nil, errors.New("folder holds no .json, .jsonl, .ndjson or .gz files")
	}
	sort.Strings(files)
	return files, nil
}

func isEventFile(name string) bool {
	n := strings.TrimSuffix(strings.ToLower(name), ".gz")
	return strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".jsonl") || strings.HasSuffix(n, ".ndjson") || strings.HasSuffix(strings.ToLower(name), ".gz")
}

func skipBOM(r *bufio.Reader) {
	if b, err := r.Peek(3); err == nil && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		_, _ = r.Discard(3)
	}
}

// gzipError is a failure to decompress, as opposed to bad JSON inside.
type gzipError struct{ err error }

func (e gzipError) Error() string { return "gzip: " + e.err.Error() }
func (e gzipError) Unwrap() error { return e.err }

// gzipErrors marks the decompressor's errors (io.EOF excepted) as gzipError.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = gzipError{err}
	}
	return n, err
}

// syntaxError adds the byte offset to a JSON error so the user can find it.
func (s *stream) syntaxError(err error, dec *json.Decoder) error {
	return syntaxErrorAt(err, dec.InputOffset()+s.shift)
}

func syntaxErrorAt(err error, off int64) error {
	var gz gzipError
	if errors.Is(err, errTooBig) || errors.As(err, &gz) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		return fmt.Errorf("invalid JSON: file ends in the middle of a value (offset %d)", off)
	}
	var se *jsonsplit.SyntaxError
	if errors.As(err, &se) {
		return err
	}
	return fmt.Errorf("invalid JSON at offset %d: %w", off, err)
}

// emptyRecords stands in for the Records array jsonsplit consumed.
const emptyRecords = `{"Records":[]`

// recordsPrefix reports whether r starts with {"Records":[ (spaces
// allowed), and its length.
func recordsPrefix(r *bufio.Reader) (int, bool) {
	b, _ := r.Peek(64)
	i := 0
	expect := func(lit string) bool {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if !bytes.HasPrefix(b[i:], []byte(lit)) {
			return false
		}
		i += len(lit)
		return true
	}
	if expect("{") && expect(`"Records"`) && expect(":") && expect("[") {
		return i, true
	}
	return 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// splitRecords emits the elements of a Records array whose '[' ended at
// offset off. An element over event.MaxSize is refused after reading at
// most that much of it (the rest is skipped, not kept), and the array
// goes on.
func (s *stream) splitRecords(r *bufio.Reader, off int64) error {
	sp := jsonsplit.New(r, event.MaxSize, off).Prefix([]byte(event.DetailFirst), envelopeSpare)
	for {
		elem, size, err := sp.Next()
		switch {
		case err == io.EOF:
			s.shift = sp.Offset() - int64(len(emptyRecords))
			return nil
		case errors.Is(err, jsonsplit.ErrTooLarge):
			s.count++
			if ferr := s.fn(Item{Where: s.where(), Err: fmt.Errorf("%w: %d bytes, EventBridge's limit is %d", event.ErrTooLarge, size, event.MaxSize)}); ferr != nil {
				return ferr
			}
			continue
		case err != nil:
			return s.fail(syntaxErrorAt(err, sp.Offset()))
		}
		if err := s.emitRecord(elem); err != nil {
			return err
		}
	}
}

// emitRecord is emit for an element of a Records array split after
// event.DetailFirst in buf. An object is decoded as a record without the
// probe emit runs first (ReadLazy passes it on undecoded): a log file's
// elements are records, and the probe read each one whole a second time
// (8% of a scan's CPU, measured on 300k records). Decode reads one that
// is not a record as emit would.
func (s *stream) emitRecord(buf []byte) error {
	raw := buf[len(event.DetailFirst):]
	if len(raw) > event.MaxSize || len(raw) == 0 || raw[0] != '{' {
		return s.emit(raw, true)
	}
	s.count++
	it := Item{Where: s.where(), raw: buf, inPlace: true}
	if !s.lazy {
		it.Decode()
	}
	return s.fn(it)
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var errTooBig = fmt.Errorf("file expands to more than %d bytes", MaxFileBytes)

type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooBig
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
