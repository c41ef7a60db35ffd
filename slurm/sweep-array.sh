#!/usr/bin/env bash
# ---- resources of ONE array task (one replicate): the one place to edit, or override on the
# ---- sbatch / submit-array.sh command line -----------------------------------------------------
#SBATCH --job-name=sp-array
#SBATCH --account=changeme
#   ^ your project/account; clusters without accounting ignore it
#SBATCH --partition=gpu
#   ^ a partition with GPUs (a CPU partition works too: set --gpus-per-task=0)
#SBATCH --time=12:00:00
#   ^ per run of one replicate; a longer one requeues itself (see MAX_REQUEUES)
#SBATCH --ntasks=1
#   ^ one rank: array tasks never talk to each other (no MPI across nodes)
#SBATCH --cpus-per-task=8
#   ^ LibTorch threads (sp_sweep --threads $SLURM_CPUS_PER_TASK)
#SBATCH --gpus-per-task=1
#   ^ 0 on CPU-only partitions
#SBATCH --signal=B:USR1@300
#   ^ SIGUSR1 300 s before the time limit: time to finish the epoch and checkpoint
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=sp-array-%A_%a.log
#   ^ one log per array task, appended to across requeues
#
# The job-array variant of slurm/sweep.sh, for clusters where MPI jobs across nodes are unwelcome.
# Submit it with slurm/submit-array.sh, which sizes the array from the plan and adds the final
# sp_reduce job:
#
#   slurm/submit-array.sh [sbatch options...] -- SWEEP.toml [--set key=value ...]
#
# Array task i runs replicate i of the plan (`sp_sweep SWEEP --dry-run --format tsv`, column
# `index`): it writes that replicate's resolved configuration (`sp_sweep SWEEP --show-config ID`)
# to <output.dir>/array/ID.toml, checks that it plans to the same ID, and runs it single-rank
# (no MPI launcher) with output.dir=<output.dir>/array/ID/, so that no two tasks ever write the
# same file (each sp_sweep run ends by writing summary.h5 of its own directory). A finished
# replicate file is then renamed into <output.dir>/ (atomic: same file system) and its task
# directory removed; a task whose replicate file is already there does nothing. On SIGUSR1/SIGTERM
# the replicate checkpoints, sp_sweep exits 75 and the task requeues itself, at most MAX_REQUEUES
# times, resuming from <output.dir>/array/ID/checkpoints/.
#
# With SP_ARRAY_REDUCE=1 (set by submit-array.sh on a job depending on the array) the script
# instead writes the sweep's records into its output directories (`sp_sweep SWEEP --record`: what
# was planned, and the [analysis] table) and runs sp_reduce on them: summary.h5 and summary.md.
#
# Arguments after SWEEP are sp_sweep configuration overrides (--set key=value); they are applied
# when resolving each replicate. Environment: SP_SWEEP, SP_REDUCE (the binaries; else build/dev
# under the submission directory, else the PATH), MAX_REQUEUES, SP_SLURM_DIR (the folder of
# slurm/common.sh, shared with sweep.sh; submit-array.sh sets it).
set -uo pipefail

script="sweep-array.sh"
submitted=$(scontrol show job "${SLURM_JOB_ID:-none}" 2>/dev/null |
    sed -n 's/^ *Command=\([^ ]*\).*/\1/p')
# sbatch runs a copy of this script from its spool folder: common.sh lies in $SP_SLURM_DIR (set by
# submit-array.sh), else next to the script that was submitted (the first word of scontrol's
# Command=).
for lib in "${SP_SLURM_DIR:-}" "$(dirname "${BASH_SOURCE[0]}")" "$(dirname "${submitted:-.}")" \
    "${SLURM_SUBMIT_DIR:-.}/slurm"; do [[ -f $lib/common.sh ]] && break; done
# shellcheck source=common.sh
source "$lib/common.sh" "$@" || { echo "$script: no slurm/common.sh: set SP_SLURM_DIR"; exit 2; }

# The plan: index<TAB>id ... (header first).
plan=$("$sp_sweep" "$sweep" "${args[@]}" --dry-run --format tsv) ||
    { log "error: cannot plan $sweep"; exit 2; }

output_dir_of() { # output_dir_of ID: output.dir from the replicate's resolved configuration
    "$sp_sweep" "$sweep" "${args[@]}" --show-config "$1" |
        awk '/^\[/ {s = $0} s == "[output]" && $1 == "dir" {sub(/^[^=]*= */, ""); gsub(/^"|"$/, ""); print; exit}'
}

if [[ ${SP_ARRAY_REDUCE:-0} == 1 ]]; then
    sp_reduce=$(find_bin sp_reduce "${SP_REDUCE:-}") || exit 2
    mapfile -t dirs < <(while IFS=$'\t' read -r idx id _; do
        [[ $idx == index ]] && continue
        output_dir_of "$id"
    done <<< "$plan" | sort -u)
    # The sweep record of each directory (what the sweep planned, and its [analysis] table):
    # the array tasks ran one replicate each, in their own directories.
    log "$sp_sweep $sweep ${args[*]} --record"
    "$sp_sweep" "$sweep" "${args[@]}" --record > /dev/null ||
        { log "error: cannot write the sweep records of $sweep"; exit 2; }
    rc=0
    for d in "${dirs[@]}"; do
        left=$(find "$d/array" -maxdepth 1 -name '*.toml' 2>/dev/null | wc -l)
        [[ $left -eq 0 ]] || log "warning: $left replicate(s) of $d did not finish (see $d/array/)"
        log "$sp_reduce $d"
        "$sp_reduce" "$d" || rc=$?
        rmdir "$d/array" 2>/dev/null || true
    done
    exit "$rc"
fi

task=${SLURM_ARRAY_TASK_ID:?not an array task: submit with slurm/submit-array.sh}
id=$(awk -F'\t' -v i="$task" 'NR > 1 && $1 == i {print $2}' <<< "$plan")
[[ -n $id ]] || { log "error: the plan of $sweep has no replicate $task"; exit 2; }
out=$(output_dir_of "$id")
[[ -n $out ]] || { log "error: no output.dir in the configuration of $id"; exit 2; }
log "array task $task: replicate $id of $sweep into $out (restart $restarts of at most $MAX_REQUEUES)"

if [[ -f $out/$id.h5 ]]; then
    log "replicate $id is already in $out: nothing to do"
    exit 0
fi
mkdir -p "$out/array" || exit 2
resolved=$out/array/$id.toml
workdir=$out/array/$id
tmp=$resolved.tmp.$$
"$sp_sweep" "$sweep" "${args[@]}" --show-config "$id" > "$tmp" && mv "$tmp" "$resolved" ||
    { log "error: cannot write $resolved"; exit 2; }
check=$("$sp_sweep" "$resolved" --set output.dir="$workdir" --dry-run --format tsv |
    awk -F'\t' 'NR > 1 {print $2}')
[[ $check == "$id" ]] ||
    { log "error: $resolved plans to '${check//$'\n'/ }', not $id"; exit 2; }

cmd=("$sp_sweep" "$resolved" --threads "$threads" --set output.dir="$workdir")
log "${cmd[*]}"

run_forwarded "the replicate" "${cmd[@]}"
case $rc in
    0 | 3)
        # Complete (or failed, with its message): move the replicate file next to the others.
        if [[ -f $workdir/$id.h5 ]] && mv "$workdir/$id.h5" "$out/$id.h5"; then
            rm -rf "$workdir" "$resolved"
            log "replicate $id: $out/$id.h5"
        else
            log "error: no $workdir/$id.h5 after exit $rc"
            [[ $rc -eq 0 ]] && rc=1
        fi
        ;;
    "$REQUEUE_CODE") requeue ;;
esac
exit "$rc"
