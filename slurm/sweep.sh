#!/usr/bin/env bash
# ---- resources: the one place to edit (or override any of them on the sbatch command line,
# ---- e.g. `sbatch -p debug -n 2 -c 1 -t 5 --gpus-per-task=0 slurm/sweep.sh ...`) ----------------
#SBATCH --job-name=sp-sweep
#SBATCH --account=changeme
#   ^ your project/account; clusters without accounting ignore it
#SBATCH --partition=gpu
#   ^ a partition with GPUs (a CPU partition works too: set --gpus-per-task=0)
#SBATCH --time=24:00:00
#   ^ per run; a longer sweep simply requeues itself (see MAX_REQUEUES)
#SBATCH --nodes=1
#SBATCH --ntasks=4
#   ^ MPI ranks in all: one replicate per rank at a time
#SBATCH --cpus-per-task=8
#   ^ LibTorch threads per rank (sp_sweep --threads $SLURM_CPUS_PER_TASK)
#SBATCH --gpus-per-task=1
#   ^ one GPU per rank; 0 on CPU-only partitions
#SBATCH --signal=B:USR1@300
#   ^ SIGUSR1 to this script 300 s before the time limit: long enough for every rank to finish
#     its current epoch and write a checkpoint (raise it if one epoch takes longer)
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=sp-sweep-%j.log
#   ^ one log per job id, appended to across requeues
#
# Runs an sp sweep over the allocation's MPI ranks, preemption-safe:
#
#   sbatch slurm/sweep.sh [SWEEP.toml] [sp_sweep args...]     (default sweeps/paper.toml)
#   sbatch slurm/sweep.sh sweeps/paper.toml --set output.dir=results/paper
#
# On SIGUSR1 (the warning above) or SIGTERM (preemption, scancel) every rank checkpoints at its
# next epoch/round boundary and sp_sweep exits 75; this script then requeues the job with
# `scontrol requeue`, at most MAX_REQUEUES times, and the requeued run resumes where it stopped
# (finished replicates are skipped, checkpoints resumed): the results are bit-identical to an
# uninterrupted run. Any other exit code ends the job with that code (0 done, 2 bad input,
# 3 some replicates failed: see the table at the end of the log).
#
# Launcher: Open MPI's mpirun, which reads the allocation from Slurm (Debian's Open MPI is built
# --with-slurm and starts its daemons on other nodes through srun). Debian 12's slurm-wlm
# (22.05) offers `srun --mpi=list`: pmix (pmix_v4), pmi2, cray_shasta, none, and
# `srun --mpi=pmix` works with Debian's Open MPI on one node too; mpirun is the default because
# it always matches the MPI sp was built against (many sites' Slurm has no PMIx, or another
# PMIx than the Open MPI in use), it is the same launch as outside Slurm, and it forwards
# SIGUSR1 to every rank. SP_LAUNCHER=srun uses `srun --mpi=pmix` instead.
#
# Environment: SP_SWEEP (the sp_sweep binary; else build/dev/src/apps/sp_sweep under the
# submission directory, else sp_sweep on the PATH), SP_LAUNCHER (mpirun|srun),
# SP_MPIRUN_ARGS (extra mpirun arguments), MAX_REQUEUES, SP_SLURM_DIR (the folder of
# slurm/common.sh, shared with sweep-array.sh; found on its own when sbatch was given the path
# of this script, or the job was submitted from the repository).
set -uo pipefail

script=sweep.sh
submitted=$(scontrol show job "${SLURM_JOB_ID:-none}" 2>/dev/null |
    sed -n 's/^ *Command=\([^ ]*\).*/\1/p')
# sbatch runs a copy of this script from its spool folder: common.sh lies in $SP_SLURM_DIR if
# set, else next to this script when run directly or to the one that was submitted (the first
# word of scontrol's Command=), else in slurm/ of the submission directory.
for lib in "${SP_SLURM_DIR:-}" "$(dirname "${BASH_SOURCE[0]}")" "$(dirname "${submitted:-.}")" \
    "${SLURM_SUBMIT_DIR:-.}/slurm"; do [[ -f $lib/common.sh ]] && break; done
# shellcheck source=common.sh
source "$lib/common.sh" "$@" || { echo "$script: no slurm/common.sh: set SP_SLURM_DIR"; exit 2; }

# Open MPI refuses root unless told; only then.
if [[ $(id -u) -eq 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

launcher=${SP_LAUNCHER:-mpirun}
case "$launcher" in
    mpirun)
        # -n from the allocation (SLURM_NTASKS); --bind-to none: Open MPI would otherwise pin
        # each rank to one core, starving its LibTorch threads (Slurm confines the job anyway).
        # shellcheck disable=SC2206 # SP_MPIRUN_ARGS is a word list on purpose
        cmd=(mpirun --bind-to none ${SP_MPIRUN_ARGS:-} "$sp_sweep")
        ;;
    srun) cmd=(srun --mpi=pmix --kill-on-bad-exit=1 "$sp_sweep") ;;
    *) log "error: SP_LAUNCHER=$launcher: mpirun or srun"; exit 2 ;;
esac
cmd+=("$sweep" --threads "$threads" "${args[@]}")

log "job ${SLURM_JOB_ID:-none} on ${SLURM_JOB_NODELIST:-$(hostname)}: ${SLURM_NTASKS:-?} rank(s)" \
    "x $threads thread(s), restart $restarts of at most $MAX_REQUEUES"
log "${cmd[*]}"

run_forwarded "every rank" "${cmd[@]}"
if [[ $rc -eq $REQUEUE_CODE ]]; then
    requeue
elif ((stop_requested)) && [[ $rc -eq 0 ]]; then
    log "the sweep finished before the signal took effect"
fi
exit "$rc"
