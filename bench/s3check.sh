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
# CORPUS, ARCHIVE and BIN: see bench/lib.sh; PORT (default 9400) is the
# server's.
set -eu
. "$(dirname "$0")/lib.sh"
port=${PORT:-9400}
bench_setup "${1:-300000}" bench/s3serve cmd/trailwatch
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
