#!/bin/sh
# Runs an sp program inside an Apptainer image, for scripts that want one executable path
# (slurm/sweep.sh's SP_SWEEP, slurm/sweep-array.sh's SP_SWEEP and SP_REDUCE, which must name a
# file, not a command line with spaces). The program is this file's name: containers/bin/sp_sweep
# and containers/bin/sp_reduce are links to it; called as apptainer-exec.sh, the first argument
# names the program.
#
#   SP_SIF=$PWD/sp-gpu.sif SP_APPTAINER_FLAGS="--nv --bind /data/cifar" \
#       containers/bin/sp_sweep sweeps/paper.toml --dry-run
#   export SP_SIF=$PWD/sp-gpu.sif SP_APPTAINER_FLAGS="--nv --bind /data/cifar"
#   SP_SWEEP=$PWD/containers/bin/sp_sweep sbatch slurm/sweep.sh sweeps/paper.toml
#
# Environment: SP_SIF (the image; required), SP_APPTAINER_FLAGS (extra `apptainer exec` flags,
# split on spaces: --nv, --bind A:B,C:D, ...), SP_APPTAINER (the apptainer command; default
# apptainer, else singularity).
set -eu
prog=$(basename "$0")
if [ "$prog" = apptainer-exec.sh ]; then
    [ $# -ge 1 ] || { echo "usage: $0 PROGRAM [ARGS...]" >&2; exit 2; }
    prog=$1
    shift
fi
: "${SP_SIF:?set SP_SIF to the sp image (.sif)}"
app=${SP_APPTAINER:-}
if [ -z "$app" ]; then
    if command -v apptainer >/dev/null 2>&1; then app=apptainer; else app=singularity; fi
fi
# shellcheck disable=SC2086 # SP_APPTAINER_FLAGS is a word list on purpose
exec "$app" exec ${SP_APPTAINER_FLAGS:-} "$SP_SIF" "$prog" "$@"
