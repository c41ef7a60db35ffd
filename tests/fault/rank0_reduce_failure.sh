#!/usr/bin/env bash
# A 2-rank sweep whose rank 0 cannot write summary.h5 (a directory stands in its way) ends
# promptly, not at walltime: exit 2 or 3 with the reason in the log, every replicate's result
# file kept and valid. Rank 1 must not be left waiting in a collective for rank 0.
#   rank0_reduce_failure.sh SP_SWEEP SP_VALIDATE MPIEXEC
set -euo pipefail
sp_sweep=$1 sp_validate=$2 mpiexec=$3
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
cp "$fixtures/sweep_mpi.toml" "$tmp/tiny.toml"

# Not MPI, but also an error that used to pass silently: --format tsv without --dry-run planned,
# printed nothing and exited 0. It is bad input (exit 2, a message), and nothing is written.
rc=0
"$sp_sweep" "$tmp/tiny.toml" --format tsv --set output.dir="$tmp/tsv" > "$tmp/tsv.log" 2>&1 || rc=$?
[[ $rc -eq 2 ]] || { cat "$tmp/tsv.log"; echo "FAIL: --format tsv alone: exit $rc, expected 2"; exit 1; }
grep -q -- "--dry-run" "$tmp/tsv.log" || { echo "FAIL: --format tsv alone: no message"; exit 1; }
[[ ! -e "$tmp/tsv" ]] || { echo "FAIL: --format tsv alone wrote $tmp/tsv"; exit 1; }
out="$tmp/out"
mkdir -p "$out/summary.h5" # rename(2) of a file onto a directory fails, also as root
rc=0
timeout 120 "$mpiexec" -n 2 --bind-to none "$sp_sweep" "$tmp/tiny.toml" --threads 1 \
    --set output.dir="$out" > "$tmp/log" 2>&1 || rc=$?
cat "$tmp/log"
[[ $rc -ne 124 && $rc -ne 137 ]] || { echo "FAIL: the sweep still ran after 120 s (hang)"; exit 1; }
[[ $rc -eq 2 || $rc -eq 3 ]] || { echo "FAIL: exit code $rc, expected 2 or 3"; exit 1; }
grep -q "summary\.h5" "$tmp/log" || { echo "FAIL: the log does not name summary.h5"; exit 1; }
grep -Eq "error" "$tmp/log" || { echo "FAIL: no error message in the log"; exit 1; }
mapfile -t results < <(find "$out" -maxdepth 1 -type f -name '*.h5' ! -name 'summary.h5')
[[ ${#results[@]} -eq 4 ]] || { echo "FAIL: expected 4 result files, got ${#results[@]}"; exit 1; }
"$sp_validate" "${results[@]}"
[[ -d "$out/summary.h5" ]] || { echo "FAIL: summary.h5 is no longer the directory"; exit 1; }

# An error on the ranks once MPI is up (a bad --stop-signals, found when the ranks install their
# handlers) ends the job with the error's exit code and message, within the bound too.
rc=0
timeout 120 "$mpiexec" -n 2 --bind-to none "$sp_sweep" "$tmp/tiny.toml" --threads 1 \
    --set output.dir="$tmp/signals" --stop-signals BOGUS > "$tmp/signals.log" 2>&1 || rc=$?
cat "$tmp/signals.log"
[[ $rc -eq 2 ]] || { echo "FAIL: a bad --stop-signals: exit code $rc, expected 2"; exit 1; }
grep -q 'unknown signal "BOGUS"' "$tmp/signals.log" || { echo "FAIL: no message"; exit 1; }
echo "rank 0 failing in the reduction and a bad signal on every rank: both end promptly"
