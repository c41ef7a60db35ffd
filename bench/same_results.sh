#!/usr/bin/env bash
# Proof that a change of structure changed no result: two builds of sp (before and after) run the
# same plans, sweeps, reductions and analyses, and every output must be identical: every dataset
# and attribute of every HDF5 file bit for bit (only clock and host fields aside, see
# same_results/h5_same.py), every plan and summary.md byte for byte, every exit code.
#
#   bench/same_results.sh run APPS_DIR OUT_DIR [--quick]   # one build's outputs into OUT_DIR
#   bench/same_results.sh compare BEFORE_OUT AFTER_OUT      # exit 0 only when identical
#   bench/same_results.sh both BEFORE_APPS AFTER_APPS WORK_DIR [--quick]
#
# APPS_DIR holds sp_sweep, sp_reduce and sp_analyze (e.g. build/dev/src/apps; copy it aside
# before changing the code). The sweeps: every file in sweeps/ planned (--dry-run --format tsv,
# which plans without the data; --ranks 8,
# --show-config of its first replicate, --list-keys); bench/same_results/*.toml (all strategies
# with every round recorded; optimizer, schedule, cold start, t-SNE and cosine variants) and the
# e2e tests' sweep files (tests/fixtures/{sweep_mpi,reduce,failure}.toml) run on 1 rank with
# --threads 1; sp_reduce redone on one directory; sp_analyze on a copy of one result file; with
# --quick also the embedded quick sweep (--threads 1: about 10 minutes).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
python=${SP_PYTHON:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" >&2; exit 2; }

run() {
    local apps=$1 out=$2 quick=${3:-}
    [[ -x $apps/sp_sweep && -x $apps/sp_reduce && -x $apps/sp_analyze ]] ||
        { echo "same_results: $apps lacks sp_sweep, sp_reduce or sp_analyze" >&2; exit 2; }
    [[ ! -e $out ]] || { echo "same_results: $out exists; give a new directory" >&2; exit 2; }
    mkdir -p "$out/plans" "$out/sweeps" "$out/in"
    local f name rc
    "$apps/sp_sweep" --list-keys > "$out/plans/list-keys.txt"
    for f in "$root"/sweeps/*.toml "$here"/same_results/*.toml; do
        name=$(basename "$f" .toml)
        (cd "$root" && "$apps/sp_sweep" "$f" --dry-run --format tsv) > "$out/plans/$name.txt"
        (cd "$root" && "$apps/sp_sweep" "$f" --dry-run --format tsv --ranks 8) > "$out/plans/$name.ranks8.txt"
        local id
        id=$(grep -oE '\b[0-9a-f]{16}\b' "$out/plans/$name.txt" | head -n 1)
        (cd "$root" && "$apps/sp_sweep" "$f" --show-config "$id") > "$out/plans/$name.show.txt"
    done
    cp "$here"/same_results/*.toml "$out/in/"
    # The e2e tests' sweep files (tests/e2e/{sweep_mpi,reduce,failure}.sh use them as they are).
    for f in sweep_mpi reduce failure; do cp "$root/tests/fixtures/$f.toml" "$out/in/e2e_$f.toml"; done
    for f in "$out"/in/*.toml; do
        name=$(basename "$f" .toml)
        set +e
        "$apps/sp_sweep" "$f" --threads 1 --set output.dir="$out/sweeps/$name" \
            > "$out/$name.log" 2>&1
        rc=$?
        set -e
        echo "$name $rc" >> "$out/exit-codes.txt"
    done
    if [[ $quick == --quick ]]; then
        set +e
        "$apps/sp_sweep" --threads 1 --set output.dir="$out/sweeps/quick" > "$out/quick.log" 2>&1
        echo "quick $?" >> "$out/exit-codes.txt"
        set -e
    fi
    # The reduction redone by hand, into a copy; sp_analyze on a copy of one replicate file.
    mkdir -p "$out/reduce"
    cp "$out"/sweeps/e2e_reduce/*.h5 "$out/reduce/"
    rm -f "$out/reduce/summary.h5"
    "$apps/sp_reduce" "$out/reduce" > "$out/reduce.log" 2>&1
    f=$(ls "$out"/sweeps/all_strategies/*.h5 | grep -v summary.h5 | head -n 1)
    cp "$f" "$out/analyze.h5"
    "$apps/sp_analyze" "$out/analyze.h5" > "$out/analyze.log" 2>&1
    echo "same_results: outputs of $apps in $out"
}

compare() {
    local a=$1 b=$2 bad=0 f rel
    diff <(cd "$a" && find . -name '*.h5' -o -name '*.md' -o -path './plans/*' -o -path './in/*' | sort) \
         <(cd "$b" && find . -name '*.h5' -o -name '*.md' -o -path './plans/*' -o -path './in/*' | sort) ||
        { echo "same_results: the two runs wrote different files"; bad=1; }
    diff "$a/exit-codes.txt" "$b/exit-codes.txt" || { echo "same_results: exit codes differ"; bad=1; }
    local n=0
    while IFS= read -r rel; do
        [[ -e $b/$rel ]] || continue
        n=$((n + 1))
        case $rel in
        *.h5) "$python" "$here/same_results/h5_same.py" "$a/$rel" "$b/$rel" "$a" "$b" || bad=1 ;;
        # summary.md names its directory, and its sweep record when and how sp_sweep was
        # started (which binary); everything else must match.
        *.md) diff <(sed -e "s|$a|<out>|g" -e '/^Started /d' -e '/^    .*sp_sweep /d' "$a/$rel") \
                   <(sed -e "s|$b|<out>|g" -e '/^Started /d' -e '/^    .*sp_sweep /d' "$b/$rel") ||
                  { echo "same_results: $rel differs"; bad=1; } ;;
        *) cmp -s "$a/$rel" "$b/$rel" || { diff "$a/$rel" "$b/$rel" | head -n 20 || true; bad=1; } ;;
        esac
    done < <(cd "$a" && find . -name '*.h5' -o -name '*.md' -o -path './plans/*' -o -path './in/*' -type f | sort)
    if [[ $bad -ne 0 ]]; then
        echo "same_results: DIFFERENT ($n files compared)"
        return 1
    fi
    echo "same_results: identical ($n files compared: plans, replicate files, summaries)"
}

# Everything is in functions and read before it runs, so editing this file during a run is safe.
main() {
    case "${1:-}" in
    run) [[ $# -ge 3 ]] || usage; run "$2" "$3" "${4:-}" ;;
    compare) [[ $# -eq 3 ]] || usage; compare "$2" "$3" ;;
    both)
        [[ $# -ge 4 ]] || usage
        run "$2" "$4/before" "${5:-}" &
        pid=$!
        run "$3" "$4/after" "${5:-}"
        wait "$pid"
        compare "$4/before" "$4/after"
        ;;
    *) usage ;;
    esac
}

main "$@"
exit $?
