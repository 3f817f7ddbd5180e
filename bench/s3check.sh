#!/bin/sh
# Scans one bench/gen archive twice, from its folder and from a local S3
# server (bench/s3serve: gofakes3 holding the same files under the same
# keys, CloudTrail's layout), as `trailwatch scan --format json` with
# AWS_ENDPOINT_URL_S3 pointing at the server, and says whether both
# flagged the same records with the same detections. Prints each scan's
# wall time, CPU and peak RSS (GNU time's -v) and exits 1 on a difference.
#
#   sh bench/s3check.sh 300000      # builds /tmp/tw-bench-300000 first if missing
#
# CORPUS, ARCHIVE and BIN as in bench/run.sh; PORT (default 9400) is the
# server's.
set -eu
n=${1:-300000}
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$root/../shared/corpus/invictus-aws-dataset/CloudTrail}
archive=${ARCHIVE:-/tmp/tw-bench-$n}
bin=${BIN:-/tmp/tw-bench-bin}
port=${PORT:-9400}
mkdir -p "$bin"
cd "$root"
go build -o "$bin/gen" ./bench/gen
go build -o "$bin/s3serve" ./bench/s3serve
go build -o "$bin/trailwatch" ./cmd/trailwatch
if [ ! -d "$archive" ]; then
	"$bin/gen" -n "$n" -out "$archive" "$corpus"
fi
work=$(mktemp -d)
"$bin/s3serve" -addr "127.0.0.1:$port" -bucket archive "$archive" >"$work/url" 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
i=0
while [ ! -s "$work/url" ]; do
	i=$((i + 1))
	if [ "$i" -gt 600 ] || ! kill -0 $server 2>/dev/null; then
		cat "$work/server.log" >&2
		echo "s3check: the S3 server did not start" >&2
		exit 1
	fi
	sleep 0.1
done
url=$(cat "$work/url")
cat "$work/server.log"

measure() { # name output command...
	name=$1 out=$2
	shift 2
	/usr/bin/time -v "$@" >"$out" 2>"$work/log" || { cat "$work/log" >&2; return 1; }
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/log")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/log")
	cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$work/log")
	printf '%-10s wall %8s  cpu %7ss  peak RSS %6.1f MB  %s\n' "$name" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$(grep 'trailwatch scan:' "$work/log" | sed 's/^trailwatch scan: //')"
}

measure local "$work/local.jsonl" "$bin/trailwatch" scan --format json "$archive"
measure s3 "$work/s3.jsonl" env AWS_ENDPOINT_URL_S3="$url" AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=AKIDS3CHECK AWS_SECRET_ACCESS_KEY=s3check-secret \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	"$bin/trailwatch" scan --format json s3://archive/AWSLogs/
if cmp -s "$work/local.jsonl" "$work/s3.jsonl"; then
	echo "same findings: $(wc -l <"$work/local.jsonl") flagged records, the same lines in the same order"
else
	echo "DIFFERENT findings: local $(wc -l <"$work/local.jsonl") lines, s3 $(wc -l <"$work/s3.jsonl") lines" >&2
	diff "$work/local.jsonl" "$work/s3.jsonl" | head -20 >&2
	exit 1
fi
