# Sourced by the bench scripts (run.sh, s3check.sh, replaycheck.sh): the
# archive they share and the measuring of one run.
#
# bench_setup N PROGRAMS... sets root, archive and bin, builds bench/gen
# and the named programs (paths below the module root) into $bin, and
# builds the archive of N records from the corpus when it is missing.
# CORPUS is the folder of CloudTrail log files the archive is built from
# (../shared/corpus/invictus-aws-dataset/CloudTrail by default); ARCHIVE
# overrides the archive's folder (/tmp/tw-bench-N), BIN the programs'
# (/tmp/tw-bench-bin).
bench_setup() {
	n=$1
	shift
	root=$(cd "$(dirname "$0")/.." && pwd)
	corpus=${CORPUS:-$root/../shared/corpus/invictus-aws-dataset/CloudTrail}
	archive=${ARCHIVE:-/tmp/tw-bench-$n}
	bin=${BIN:-/tmp/tw-bench-bin}
	mkdir -p "$bin"
	cd "$root"
	for prog in bench/gen "$@"; do
		go build -o "$bin/$(basename "$prog")" "./$prog"
	done
	if [ ! -d "$archive" ]; then
		"$bin/gen" -n "$n" -out "$archive" "$corpus"
	fi
}

# measure NAME OUT COMMAND... runs COMMAND with its stdout to OUT and
# prints its wall time, CPU seconds (user + sys) and peak RSS (GNU time's
# -v), then the last line of its stderr.
measure() {
	name=$1 out=$2
	shift 2
	log=$(mktemp)
	/usr/bin/time -v "$@" >"$out" 2>"$log" || { cat "$log" >&2; rm -f "$log"; return 1; }
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
	cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$log")
	printf '%-12s wall %8s  cpu %7ss  peak RSS %6.1f MB  %s\n' "$name" "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)" \
		"$(grep -v '^\s' "$log" | tail -1 | sed 's/^trailwatch scan: //')"
	rm -f "$log"
}
