// Command floor is the floor the scan benchmark (bench/run.sh) compares
// trailwatch scan against: what it costs on this machine only to gunzip
// every CloudTrail log file of a folder and decode each record into a
// small struct (encoding/json, a streaming decoder over the Records
// array), on one goroutine per core, doing nothing with the records but
// count them. A scan cannot be faster than this without a faster
// decompressor or decoder: trailwatch reads gzip with
// github.com/klauspost/compress, which -gzip klauspost uses here too, so
// bench/run.sh shows both floors side by side.
//
//	go run ./bench/floor /tmp/tw-bench-300k
//	go run ./bench/floor -gzip klauspost /tmp/tw-bench-300k
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
)

// record is the little a detection reads first.
type record struct {
	EventID      string `json:"eventID"`
	EventTime    string `json:"eventTime"`
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	AWSRegion    string `json:"awsRegion"`
	ErrorCode    string `json:"errorCode"`
	UserIdentity struct {
		Type string `json:"type"`
		ARN  string `json:"arn"`
	} `json:"userIdentity"`
}

func main() {
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "goroutines decoding files side by side")
	gz := flag.String("gzip", "stdlib", "decompressor: stdlib (compress/gzip) or klauspost (github.com/klauspost/compress/gzip, trailwatch's)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: floor [-workers N] [-gzip stdlib|klauspost] FOLDER")
		os.Exit(2)
	}
	var gunzip func(io.Reader) (io.Reader, error)
	switch *gz {
	case "stdlib":
		gunzip = func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
	case "klauspost":
		gunzip = func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) }
	default:
		fmt.Fprintf(os.Stderr, "floor: -gzip %q: want stdlib or klauspost\n", *gz)
		os.Exit(2)
	}
	started := time.Now()
	var files []string
	err := filepath.WalkDir(flag.Arg(0), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gz") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	jobs := make(chan string)
	var records, errs atomic.Int64
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			for f := range jobs {
				n, err := decodeFile(f, gunzip)
				records.Add(n)
				if err != nil {
					errs.Add(1)
					fmt.Fprintf(os.Stderr, "floor: %s: %v\n", f, err)
				}
			}
		})
	}
	for _, f := range files {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	d := time.Since(started)
	fmt.Fprintf(os.Stderr, "floor: %d files, %d records, %d errors, in %s (%.0f records/s)\n",
		len(files), records.Load(), errs.Load(), d.Round(time.Millisecond), float64(records.Load())/d.Seconds())
}

func decodeFile(path string, gunzip func(io.Reader) (io.Reader, error)) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := gunzip(bufio.NewReaderSize(f, 64*1024))
	if err != nil {
		return 0, err
	}
	dec := json.NewDecoder(bufio.NewReaderSize(zr, 64*1024))
	for _, want := range []any{json.Delim('{'), "Records", json.Delim('[')} {
		tok, err := dec.Token()
		if err != nil {
			return 0, err
		}
		if tok != want {
			return 0, fmt.Errorf("not a CloudTrail log file: %v", tok)
		}
	}
	var n int64
	for dec.More() {
		var r record
		if err := dec.Decode(&r); err != nil {
			return n, err
		}
		if r.EventName == "" {
			return n, errors.New("record without eventName")
		}
		n++
	}
	_, err = io.Copy(io.Discard, zr)
	return n, err
}
