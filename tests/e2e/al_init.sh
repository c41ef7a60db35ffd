#!/usr/bin/env bash
# al.init = "baseline" end to end on 2 ranks: the baseline runs first, the other rank draws a
# replicate that starts from it and waits for it; both active-learning replicates start from the
# baseline's final weights bit for bit (al_init_oracle.py, h5py); the plan shows the dependency;
# a rerun skips all three. Then a baseline that fails (an unreadable dataset.cache, which is not
# in the ID) makes its dependents fail with an error naming it, exit 3, never a hang.
#   al_init.sh SP_SWEEP SP_VALIDATE MPIEXEC
set -euo pipefail
sp_sweep=$1 sp_validate=$2 mpiexec=$3
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cp "$fixtures/al_init.toml" "$tmp/s.toml"
mpi=("$mpiexec" -n 2 --bind-to none)

"$sp_sweep" "$tmp/s.toml" --dry-run > "$tmp/plan.txt"
grep -q ' from ' "$tmp/plan.txt" && grep -q '2 replicates start from the final weights' "$tmp/plan.txt" ||
    { echo "--dry-run does not show the dependency"; cat "$tmp/plan.txt"; exit 1; }

"${mpi[@]}" "$sp_sweep" "$tmp/s.toml" --threads 1 --set output.dir="$tmp/out" > "$tmp/log" 2>&1 ||
    { echo "the sweep failed"; cat "$tmp/log"; exit 1; }
grep -q 'waiting for baseline replicate' "$tmp/log" ||
    { echo "no rank waited for the baseline"; cat "$tmp/log"; exit 1; }
[[ $(grep -cE '^[0-9]+ +[0-9a-f]{16} .* complete ' "$tmp/log") -eq 3 ]] ||
    { echo "not 3 complete replicates"; cat "$tmp/log"; exit 1; }
"$sp_validate" --quiet "$tmp/out"/*.h5
/usr/bin/python3 "$here/al_init_oracle.py" "$tmp/out" 2

# Resume: everything is complete, nothing waits or runs again.
"${mpi[@]}" "$sp_sweep" "$tmp/s.toml" --threads 1 --set output.dir="$tmp/out" > "$tmp/again" 2>&1 ||
    { echo "the rerun failed"; cat "$tmp/again"; exit 1; }
[[ $(grep -cE '^[0-9]+ +[0-9a-f]{16} .* skipped ' "$tmp/again") -eq 3 ]] ||
    { echo "the rerun did not skip all three"; cat "$tmp/again"; exit 1; }

# A failing baseline: its dependents fail cleanly, naming it.
printf 'not an HDF5 file\n' > "$tmp/bad-cache.h5"
baseline=$("$sp_sweep" "$tmp/s.toml" --dry-run --format tsv --set output.dir="$tmp/bad" |
    awk -F'\t' '$4 == "baseline" {print $2}')
set +e
timeout 300 "${mpi[@]}" "$sp_sweep" "$tmp/s.toml" --threads 1 --set output.dir="$tmp/bad" \
    --set dataset.cache="$tmp/bad-cache.h5" > "$tmp/bad.log" 2>&1
rc=$?
set -e
# dataset.cache is not in the ID: setting it for all replicates keeps the pairing; the
# dependents read no cache before their baseline's failure stops them.
[[ $rc -eq 3 ]] || { echo "exit $rc with a failing baseline, expected 3"; cat "$tmp/bad.log"; exit 1; }
[[ $(grep -cE '^[0-9]+ +[0-9a-f]{16} .* failed ' "$tmp/bad.log") -eq 3 ]] ||
    { echo "not 3 failed replicates"; cat "$tmp/bad.log"; exit 1; }
/usr/bin/python3 - "$tmp/bad" "$baseline" <<'PY'
import sys, h5py, pathlib
out, baseline = pathlib.Path(sys.argv[1]), sys.argv[2]
n = 0
for p in out.glob("*.h5"):
    if p.name == "summary.h5" or p.stem == baseline:
        continue
    with h5py.File(p, "r") as f:
        assert f.attrs["status"] == "failed", p
        err = f.attrs["error"]
        assert f"baseline replicate {baseline}" in err and "which failed" in err, err
        n += 1
assert n == 2, n
print("dependents of a failed baseline: 2 failed, naming it")
PY
echo "al.init e2e: 2 ranks, baseline first, dependents from its weights bit for bit, failure clean"
