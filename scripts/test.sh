#!/usr/bin/env bash
# Sets up (Debian packages), builds, and runs the whole test suite: unit, mpi, e2e, oracle,
# fault and the formatting check. CI runs exactly this (.ci/run).
#   scripts/test.sh                # everything
#   scripts/test.sh -L unit        # extra arguments go to ctest
# Safe on a login node or cluster node: the tests write only the build and temporary
# directories; the `slurm` test (tests/slurm/) runs its own Slurm and munge from its temporary
# directory, only as root, and skips beside a running slurmctld, slurmd or munged. setup.sh
# installs missing Debian packages (sudo): where that is not wanted, build and run ctest yourself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset=dev
if [[ "${CI:-}" == "true" ]]; then preset=ci; fi
scripts/setup.sh
# The slurm test's packages only in CI's throwaway container (installing munge may start a system
# munged); elsewhere `scripts/setup.sh --slurm` once, or the test skips.
if [[ "${CI:-}" == "true" ]]; then scripts/setup.sh --slurm; fi
scripts/build.sh "$preset"
# Open MPI refuses to run as root without these; the tests set them too.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --preset "$preset" "$@"
