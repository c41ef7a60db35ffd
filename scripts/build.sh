#!/usr/bin/env bash
# Configures and builds one CMake preset (default: dev), incrementally.
#   scripts/build.sh [dev|ci|tidy|cluster]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset="${1:-dev}"
cmake --preset "$preset"
cmake --build --preset "$preset" -j "$(nproc)"
