#!/usr/bin/env bash
# Sets up (Debian packages), builds, and runs the whole test suite: unit, mpi, e2e, oracle,
# fault and the formatting check. CI runs exactly this (.ci/run).
#   scripts/test.sh                # everything
#   scripts/test.sh -L unit        # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset=dev
if [[ "${CI:-}" == "true" ]]; then preset=ci; fi
scripts/setup.sh
scripts/build.sh "$preset"
# Open MPI refuses to run as root without these; the tests set them too.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --preset "$preset" "$@"
