#!/bin/sh
# Runs the scan benchmark side by side on one archive: the 2-core gunzip +
# struct-decode floor (bench/floor), the stdlib Python per-record peer
# (bench/peer.py) and `trailwatch scan --format json`, each RUNS times,
# and prints wall time and peak RSS of each run (GNU time's -v).
#
#   sh bench/run.sh 300000          # builds /tmp/tw-bench-300000 first if missing
#   RUNS=5 sh bench/run.sh 300000
#   SKIP_PEER=1 sh bench/run.sh 3000000
#
# CORPUS is the folder of CloudTrail log files the archive is built from
# (../shared/corpus/invictus-aws-dataset/CloudTrail by default); ARCHIVE
# overrides the folder of the archive.
set -eu
n=${1:-300000}
runs=${RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$root/../shared/corpus/invictus-aws-dataset/CloudTrail}
archive=${ARCHIVE:-/tmp/tw-bench-$n}
bin=${BIN:-/tmp/tw-bench-bin}
mkdir -p "$bin"
cd "$root"
go build -o "$bin/gen" ./bench/gen
go build -o "$bin/floor" ./bench/floor
go build -o "$bin/trailwatch" ./cmd/trailwatch
if [ ! -d "$archive" ]; then
	"$bin/gen" -n "$n" -out "$archive" "$corpus"
fi
echo "archive $archive: $(find "$archive" -name '*.gz' | wc -l) files, $(du -sh "$archive" | cut -f1) gzip; $(nproc) cores; $(go version)"

measure() { # name command...
	name=$1
	shift
	log=$(mktemp)
	/usr/bin/time -v "$@" >/dev/null 2>"$log" || { cat "$log" >&2; rm -f "$log"; return 1; }
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
	cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$log")
	printf '%-12s wall %8s  cpu %7ss  peak RSS %6.1f MB\n' "$name" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)"
	rm -f "$log"
}

i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	echo "run $i"
	measure floor "$bin/floor" "$archive"
	if [ -z "${SKIP_PEER:-}" ]; then
		measure python-peer python3 bench/peer.py "$archive"
	fi
	measure scan "$bin/trailwatch" scan --format json "$archive"
done
