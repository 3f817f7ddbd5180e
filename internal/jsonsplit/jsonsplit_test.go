package jsonsplit_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/trailwatch/trailwatch/internal/jsonsplit"
)

// split returns the elements of the array s (whose '[' it consumes) and
// the error that ended it, other than io.EOF.
func split(t *testing.T, r io.Reader, max int) ([]string, []int64, error) {
	t.Helper()
	br := bufio.NewReaderSize(r, 16)
	if c, err := br.ReadByte(); err != nil || c != '[' {
		t.Fatalf("input does not start with '[': %q %v", c, err)
	}
	sp := jsonsplit.New(br, max, 1)
	var elems []string
	var tooLarge []int64
	for {
		e, size, err := sp.Next()
		switch {
		case err == io.EOF:
			return elems, tooLarge, nil
		case errors.Is(err, jsonsplit.ErrTooLarge):
			tooLarge = append(tooLarge, size)
		case err != nil:
			return elems, tooLarge, err
		default:
			elems = append(elems, string(e))
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{"empty", `[ ]`, nil, ""},
		{"objects", `[{"a":1}, {"b":[1,{"c":2}]} ]`, []string{`{"a":1}`, `{"b":[1,{"c":2}]}`}, ""},
		{"escaped quotes and braces in strings", `[{"a":"x\"}]{\\","b\\":"]"}]`, []string{`{"a":"x\"}]{\\","b\\":"]"}`}, ""},
		{"scalars and strings", `[1,"s",true,null]`, []string{"1", `"s"`, "true", "null"}, ""},
		{"truncated", `[{"a":"b`, nil, "unexpected EOF"},
		{"truncated between elements", `[{"a":1},`, []string{`{"a":1}`}, "unexpected EOF"},
		{"mismatched bracket", `[{"a":1]]`, nil, "invalid character ']'"},
		{"missing comma", `[{} {}]`, []string{"{}"}, "after array element"},
		{"trailing comma", `[{},]`, []string{"{}"}, "looking for an array element"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := split(t, strings.NewReader(tc.in), 1<<20)
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("elements = %q, want %q", got, tc.want)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestHugeElementRefusedThenRestGoesOn(t *testing.T) {
	const max = 256 << 10
	huge := `{"x":"` + strings.Repeat("a", 10<<20) + `"}`
	in := `[{"a":1},` + huge + `,{"b":2}]`
	cr := &countingReader{r: strings.NewReader(in)}
	br := bufio.NewReaderSize(cr, 64<<10)
	_, _ = br.ReadByte()
	sp := jsonsplit.New(br, max, 1)
	if e, _, err := sp.Next(); err != nil || string(e) != `{"a":1}` {
		t.Fatalf("first = %q, %v", e, err)
	}
	e, size, err := sp.Next()
	if !errors.Is(err, jsonsplit.ErrTooLarge) || e != nil || size != int64(len(huge)) {
		t.Fatalf("huge = %d bytes kept, size %d, %v; want refused with size %d", len(e), size, err, len(huge))
	}
	if e, _, err := sp.Next(); err != nil || string(e) != `{"b":2}` {
		t.Fatalf("after the huge one = %q, %v", e, err)
	}
	if _, _, err := sp.Next(); err != io.EOF {
		t.Fatalf("end = %v", err)
	}
	// The splitter reads ahead at most its buffer past the element.
	if cr.n != int64(len(in)) {
		t.Errorf("read %d of %d bytes", cr.n, len(in))
	}
}

// TestHugeElementNotKept checks that a refused element is not held in
// memory: the splitter's allocations stay near the limit, not its size.
func TestHugeElementNotKept(t *testing.T) {
	const max = 256 << 10
	in := `[{"x":"` + strings.Repeat("a", 10<<20) + `"}]`
	var before, after runtimeMem
	before.read()
	_, sizes, err := split(t, strings.NewReader(in), max)
	after.read()
	if err != nil || len(sizes) != 1 {
		t.Fatalf("sizes %v, err %v", sizes, err)
	}
	if grew := after.total - before.total; grew > 6*max {
		t.Errorf("allocated %d bytes splitting a 10 MB element with a %d-byte limit", grew, max)
	}
}

// FuzzBoundaries checks that on any array encoding/json accepts, the
// splitter finds the same elements.
func FuzzBoundaries(f *testing.F) {
	f.Add([]byte(`[{"a":"x\"}]"},[1,[2]],"s\\",3]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[ {"Records":[{}]} , null ]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want []json.RawMessage
		if json.Unmarshal(data, &want) != nil || len(bytes.TrimSpace(data)) == 0 || bytes.TrimSpace(data)[0] != '[' {
			// Not an array: the splitter must still not panic.
			if len(data) > 0 && data[0] == '[' {
				_, _, _ = split(t, bytes.NewReader(data), 1<<20)
			}
			return
		}
		data = bytes.TrimLeft(data, " \t\r\n")
		got, _, err := split(t, bytes.NewReader(data), 1<<20)
		if err != nil {
			t.Fatalf("split %q: %v", data, err)
		}
		if len(got) != len(want) {
			t.Fatalf("split %q into %d elements, encoding/json %d", data, len(got), len(want))
		}
		for i := range got {
			if got[i] != string(want[i]) {
				t.Fatalf("element %d = %q, encoding/json %q", i, got[i], want[i])
			}
		}
	})
}

// TestPrefix: with a prefix, every element comes after it in a buffer of
// its own, with the spare capacity asked for when the element was read in
// one piece, across buffer refills too; an element over the limit is
// still refused.
func TestPrefix(t *testing.T) {
	long := `{"long":"` + strings.Repeat("x", 100) + `"}`
	in := `[{"a":1}, ` + long + `, 7, ` + `{"huge":"` + strings.Repeat("h", 300) + `"}, "s"]`
	const prefix, spare = `{"detail":`, 40
	for _, bufSize := range []int{16, 4096} {
		br := bufio.NewReaderSize(strings.NewReader(in), bufSize)
		_, _ = br.ReadByte()
		sp := jsonsplit.New(br, 200, 1).Prefix([]byte(prefix), spare)
		var got []string
		var tooLarge int
		for {
			e, size, err := sp.Next()
			if err == io.EOF {
				break
			}
			if errors.Is(err, jsonsplit.ErrTooLarge) {
				tooLarge++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			elem, ok := strings.CutPrefix(string(e), prefix)
			if !ok || int64(len(elem)) != size {
				t.Fatalf("buffer %d: element %q (size %d) does not come after the prefix", bufSize, e, size)
			}
			if bufSize > len(in) && cap(e)-len(e) < spare {
				t.Errorf("element %q: %d bytes spare, want at least %d", elem, cap(e)-len(e), spare)
			}
			got = append(got, elem)
		}
		if want := []string{`{"a":1}`, long, "7", `"s"`}; strings.Join(got, "|") != strings.Join(want, "|") || tooLarge != 1 {
			t.Errorf("buffer %d: elements = %q (%d too large), want %q and 1", bufSize, got, tooLarge, want)
		}
	}
}
