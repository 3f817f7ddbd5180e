// Command gen builds a synthetic CloudTrail archive for the scan
// benchmarks (bench/run.sh): N records taken round-robin from a corpus of
// CloudTrail log files, each with a fresh eventID and an eventTime 50 ms
// after the previous one, written as gzip log files of 100 to 10,000
// records in CloudTrail's layout,
// OUT/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_N.json.gz.
// The output is the same for the same flags (fixed seed).
//
//	go run ./bench/gen -n 300000 -out /tmp/tw-bench-300k ../shared/corpus/invictus-aws-dataset/CloudTrail
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

func main() {
	n := flag.Int("n", 300000, "records to write")
	out := flag.String("out", "", "folder to write the archive to (created)")
	seed := flag.Uint64("seed", 1, "seed of the file sizes")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -n N -out FOLDER CORPUS_FOLDER_OR_FILES...")
		os.Exit(2)
	}
	if err := run(*n, *out, *seed, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(n int, out string, seed uint64, inputs []string) error {
	corpus, err := load(inputs)
	if err != nil {
		return err
	}
	if len(corpus) == 0 {
		return errors.New("corpus holds no records")
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	const account, region = "123456789012", "us-east-1"
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	written := 0
	for file := 0; written < n; file++ {
		size := min(100+rng.IntN(9901), n-written)
		t := start.Add(time.Duration(written) * 50 * time.Millisecond)
		dir := filepath.Join(out, "AWSLogs", account, "CloudTrail", region, t.Format("2006/01/02"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		name := fmt.Sprintf("%s_CloudTrail_%s_%s_%06d.json.gz", account, region, t.Format("20060102T1504Z"), file)
		var buf bytes.Buffer
		buf.WriteString(`{"Records":[`)
		for i := range size {
			if i > 0 {
				buf.WriteByte(',')
			}
			k := written + i
			rec := corpus[k%len(corpus)]
			rec["eventID"] = fmt.Appendf(nil, `"%08x-0000-4000-8000-%012x"`, k, k)
			rec["eventTime"] = fmt.Appendf(nil, `"%s"`, start.Add(time.Duration(k)*50*time.Millisecond).Format(time.RFC3339))
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			buf.Write(b)
		}
		buf.WriteString(`]}`)
		if err := writeGzip(filepath.Join(dir, name), buf.Bytes()); err != nil {
			return err
		}
		written += size
	}
	fmt.Fprintf(os.Stderr, "gen: %d records in %s\n", written, out)
	return nil
}

func writeGzip(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// load reads the records of CloudTrail log files (gzip or plain).
func load(inputs []string) ([]map[string]json.RawMessage, error) {
	var recs []map[string]json.RawMessage
	for _, in := range inputs {
		files := []string{in}
		if info, err := os.Stat(in); err == nil && info.IsDir() {
			files, _ = filepath.Glob(filepath.Join(in, "*.json*"))
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				var b bytes.Buffer
				if _, err := b.ReadFrom(zr); err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				data = b.Bytes()
			}
			var lf struct {
				Records []map[string]json.RawMessage `json:"Records"`
			}
			if err := json.Unmarshal(data, &lf); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			recs = append(recs, lf.Records...)
		}
	}
	return recs, nil
}
