# What slurm/sweep.sh and slurm/sweep-array.sh share, sourced by both (`source common.sh "$@"`)
# after each has set `script`, its name in log lines: the requeue settings, the log line, the
# submission directory, finding the sp binaries, reading the command line (`sweep`, `args`,
# `sp_sweep`), running sp_sweep with the time-limit warning forwarded to it, and requeueing the
# job after a checkpoint. Not a job script itself.
# shellcheck shell=bash disable=SC2034,SC2154 # variables set here are used by the two scripts

MAX_REQUEUES=${MAX_REQUEUES:-20}    # requeues after exit 75 before the job gives up (exit 75)
REQUEUE_CODE=75                     # sp_sweep's "checkpointed after a signal, requeue me"

log() { echo "[$script $(date '+%F %T')] $*"; }

submit_dir=${SLURM_SUBMIT_DIR:-$PWD}
cd "$submit_dir" || exit 2
threads=${SLURM_CPUS_PER_TASK:-1}
restarts=${SLURM_RESTART_COUNT:-0}

# find_bin NAME OVERRIDE: the binary NAME (sp_sweep, sp_reduce): OVERRIDE when set, else
# build/dev/ then build/cluster/ under the submission directory, else the PATH. Exits 2 when
# there is none (call it as `x=$(find_bin ...) || exit 2`).
find_bin() {
    local b=$2 var=SP_${1#sp_}
    if [[ -z $b ]]; then
        if [[ -x $submit_dir/build/dev/src/apps/$1 ]]; then
            b=$submit_dir/build/dev/src/apps/$1
        elif [[ -x $submit_dir/build/cluster/src/apps/$1 ]]; then
            b=$submit_dir/build/cluster/src/apps/$1
        else
            b=$(command -v "$1" || true)
        fi
    fi
    [[ -n $b && -x $b ]] || { log "error: $1 not found (set ${var^^})" >&2; exit 2; }
    echo "$b"
}

# The command line: `sweep`, the first argument unless it is an option
# (default sweeps/paper.toml), and `args`, the rest (sp_sweep options and --set overrides).
sweep=sweeps/paper.toml
if [[ $# -gt 0 && $1 != -* ]]; then
    sweep=$1
    shift
fi
args=("$@")
sp_sweep=$(find_bin sp_sweep "${SP_SWEEP:-}") || exit 2

# run_forwarded WHO CMD...: runs CMD in the background and sets `rc` to its exit code. SIGUSR1
# (the warning before the time limit) or SIGTERM (preemption, scancel) to this script is passed
# on to CMD as SIGUSR1, "asking WHO to checkpoint" (sp treats USR1 and TERM alike; mpirun
# forwards USR1 to every rank, while a TERM would make it abort the ranks); `stop_requested`
# says whether one came.
run_forwarded() {
    checkpoint_who=$1
    shift
    child=""
    stop_requested=0
    trap 'forward USR1' USR1
    trap 'forward TERM' TERM
    "$@" &
    child=$!
    # `wait` returns early (status > 128) whenever a trapped signal arrives: wait again until
    # the command itself has exited.
    while :; do
        wait "$child"
        rc=$?
        kill -0 "$child" 2>/dev/null || break
    done
    trap - USR1 TERM
    log "sp_sweep exited with $rc"
}

forward() {
    stop_requested=1
    log "got SIG$1: asking $checkpoint_who to checkpoint"
    [[ -n $child ]] && kill -USR1 "$child" 2>/dev/null
}

# requeue: after exit 75 (checkpointed), requeue this job with `scontrol requeue`, at most
# MAX_REQUEUES times; exits 0 once the requeue is accepted, else logs why not and returns.
requeue() {
    if [[ -z ${SLURM_JOB_ID:-} ]]; then
        log "not under Slurm: rerun the same command to resume"
    elif ((restarts >= MAX_REQUEUES)); then
        log "checkpointed, but already requeued $restarts times (MAX_REQUEUES=$MAX_REQUEUES):" \
            "resubmit the same command to resume"
    else
        # Log first: Slurm ends this script as soon as the requeue takes effect.
        log "checkpointed: requeueing job $SLURM_JOB_ID (restart $((restarts + 1)))"
        scontrol requeue "$SLURM_JOB_ID" && exit 0
        log "checkpointed, but scontrol requeue failed: resubmit the same command to resume"
    fi
}
