#!/usr/bin/env bash
# Sets up (Debian packages), builds, and runs sp_sweep: with no arguments, the embedded default
# sweep (sweeps/quick.toml, Fashion-MNIST). Arguments go to sp_sweep:
#   scripts/run.sh                         # the embedded default
#   scripts/run.sh sweeps/paper.toml --dry-run
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
scripts/build.sh dev >&2
exec build/dev/src/apps/sp_sweep "$@"
