#!/bin/sh
# Runs the scan benchmark side by side on one archive: the 2-core gunzip +
# struct-decode floor (bench/floor; floor-kgzip is the same with the gzip
# reader trailwatch uses, klauspost/compress), the stdlib Python per-record peer
# (bench/peer.py) and `trailwatch scan --format json`, each RUNS times,
# and prints wall time, CPU seconds and peak RSS of each run (GNU time's
# -v).
#
#   sh bench/run.sh 300000          # builds /tmp/tw-bench-300000 first if missing
#   RUNS=5 sh bench/run.sh 300000
#   SKIP_PEER=1 sh bench/run.sh 3000000
#
# CORPUS, ARCHIVE and BIN: see bench/lib.sh.
set -eu
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
bench_setup "${1:-300000}" bench/floor cmd/trailwatch
echo "archive $archive: $(find "$archive" -name '*.gz' | wc -l) files, $(du -sh "$archive" | cut -f1) gzip; $(nproc) cores; $(go version)"
i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	echo "run $i"
	measure floor /dev/null "$bin/floor" "$archive"
	measure floor-kgzip /dev/null "$bin/floor" -gzip klauspost "$archive"
	if [ -z "${SKIP_PEER:-}" ]; then
		measure python-peer /dev/null python3 bench/peer.py "$archive"
	fi
	measure scan /dev/null "$bin/trailwatch" scan --format json "$archive"
done
