#!/usr/bin/env bash
# Submits a sweep as a Slurm job array (slurm/sweep-array.sh: one single-rank task per
# replicate) plus a job that runs sp_reduce once every array task has ended:
#
#   slurm/submit-array.sh [sbatch options...] -- SWEEP.toml [--set key=value ...]
#   slurm/submit-array.sh -p gpu -A myproj --array-limit=16 -- sweeps/paper.toml
#
# sbatch options go to both jobs (override sweep-array.sh's #SBATCH lines); the reduce job then
# gets 1 task, 1 CPU, no GPU. --array-limit=N runs at most N tasks at a time (%N).
# Prints "array job: ID" and "reduce job: ID". Run it from the repository (or set SP_SWEEP):
# it plans the sweep here to size the array.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# sweep-array.sh runs from sbatch's spool folder: tell it where its slurm/common.sh is.
export SP_SLURM_DIR=$here
sbatch_opts=()
limit=""
while [[ $# -gt 0 && $1 != -- ]]; do
    case $1 in
        --array-limit=*) limit=%${1#*=} ;;
        *) sbatch_opts+=("$1") ;;
    esac
    shift
done
[[ ${1:-} == -- ]] && shift
[[ $# -ge 1 ]] || { echo "usage: $0 [sbatch options...] -- SWEEP.toml [--set key=value ...]" >&2; exit 2; }

sp_sweep=${SP_SWEEP:-}
if [[ -z $sp_sweep ]]; then
    for c in "$PWD/build/dev/src/apps/sp_sweep" "$here/../build/dev/src/apps/sp_sweep" \
             "$PWD/build/cluster/src/apps/sp_sweep"; do
        [[ -x $c ]] && { sp_sweep=$c; break; }
    done
    [[ -n $sp_sweep ]] || sp_sweep=$(command -v sp_sweep || true)
fi
[[ -n $sp_sweep ]] || { echo "submit-array.sh: sp_sweep not found (set SP_SWEEP)" >&2; exit 2; }

n=$("$sp_sweep" "$@" --dry-run --format tsv | awk 'NR > 1' | wc -l)
[[ $n -ge 1 ]] || { echo "submit-array.sh: the plan has no replicates" >&2; exit 2; }

array=$(sbatch --parsable --array="1-$n$limit" "${sbatch_opts[@]}" "$here/sweep-array.sh" "$@")
array=${array%%;*}
echo "array job: $array ($n tasks)"
reduce=$(sbatch --parsable --dependency="afterany:$array" "${sbatch_opts[@]}" \
    --job-name=sp-reduce --ntasks=1 --cpus-per-task=1 --gpus-per-task=0 \
    --output="sp-reduce-%j.log" --export=ALL,SP_ARRAY_REDUCE=1 "$here/sweep-array.sh" "$@")
reduce=${reduce%%;*}
echo "reduce job: $reduce"
