#!/usr/bin/env bash
# The thread count of every replicate (issue 14): `[sweep] threads` pins it for the whole sweep,
# `--threads` wins over it, and each result file records the count it ran with.
#   threads.sh SP_SWEEP SP_VALIDATE [PYTHON]
set -euo pipefail
sp_sweep=$1 sp_validate=$2
python=${3:-/usr/bin/python3}
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
cp "$fixtures/reduce.toml" "$tmp/t.toml"
# threads: the count every file of DIR must record.
expect_threads() {
    "$sp_validate" --quiet "$1"/*.h5
    "$python" - "$1" "$2" <<'PY'
import glob, sys
import h5py
files = [f for f in glob.glob(sys.argv[1] + "/*.h5") if not f.endswith("summary.h5")]
assert len(files) == 3, files
for f in files:
    with h5py.File(f, "r") as h:
        got = int(h["provenance"].attrs["threads"])
        assert got == int(sys.argv[2]), f"{f}: threads {got}, expected {sys.argv[2]}"
PY
}
"$sp_sweep" "$tmp/t.toml" --set sweep.seeds=1 --set sweep.threads=1 \
    --set output.dir="$tmp/pinned" > "$tmp/pinned.log" 2>&1 || { cat "$tmp/pinned.log"; exit 1; }
expect_threads "$tmp/pinned" 1
"$sp_sweep" "$tmp/t.toml" --set sweep.seeds=1 --set sweep.threads=1 --threads 2 \
    --set output.dir="$tmp/flag" > "$tmp/flag.log" 2>&1 || { cat "$tmp/flag.log"; exit 1; }
expect_threads "$tmp/flag" 2
echo "threads: sweep.threads pins the count, --threads wins, files record it"
