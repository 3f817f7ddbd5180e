#!/bin/sh
# Runs `trailwatch replay --offline --format json` and `trailwatch scan
# --format json` over one bench/gen archive and says whether they flag the
# same records with the same detections (replay prints every record, scan
# only the flagged ones; both print one result per eventID). Exits 1 on a
# difference, listing the first ones.
#
#   sh bench/replaycheck.sh 30000     # builds /tmp/tw-bench-30000 first if missing
#
# CORPUS, ARCHIVE and BIN: see bench/lib.sh.
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup "${1:-30000}" cmd/trailwatch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure replay "$work/replay.jsonl" "$bin/trailwatch" replay --offline --format json "$archive"
measure scan "$work/scan.jsonl" "$bin/trailwatch" scan --format json "$archive"
python3 - "$work/replay.jsonl" "$work/scan.jsonl" <<'PY'
import json, sys

def flagged(path):
    out = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            ids = sorted(d["id"] for d in r["detections"])
            if ids:
                out[r["id"]] = ids
    return out

replay, scan = flagged(sys.argv[1]), flagged(sys.argv[2])
diff = sorted(k for k in replay.keys() | scan.keys() if replay.get(k) != scan.get(k))
print(f"replay flagged {len(replay)} records, scan {len(scan)}; {len(diff)} differ")
for k in diff[:20]:
    print(f"  {k}: replay {replay.get(k)}, scan {scan.get(k)}")
sys.exit(1 if diff else 0)
PY
