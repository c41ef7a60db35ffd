#!/usr/bin/env bash
# One setup path for sp: installs every Debian package the project needs.
# Idempotent: when everything is present it installs nothing and touches no package list.
# Used by README.md, .ci/run and the container recipes.
#
#   scripts/setup.sh            build, run and test dependencies
#   scripts/setup.sh --print    list the packages and exit
#   scripts/setup.sh --slurm    (opt-in) only the packages of the private test Slurm cluster
#                               (tests/slurm/, which installs nothing); --slurm --print lists them
set -euo pipefail

packages=(
    # toolchain
    build-essential cmake ninja-build pkg-config git clang-format clang-tidy
    # clang + compiler-rt: the libFuzzer targets (tests/fault/fuzz.sh)
    clang libclang-rt-14-dev
    # libraries
    libtorch-dev
    # Without libopenblas0-openmp LibTorch's matrix products fall back to reference BLAS (~70x slower).
    libopenblas0-openmp
    libopenmpi-dev openmpi-bin
    libhdf5-dev hdf5-tools
    libtomlplusplus-dev libcli11-dev libgtest-dev libboost-math-dev
    libturbojpeg0-dev zlib1g-dev
    # the embedded default dataset
    dataset-fashion-mnist
    # oracles, peers and downstream analysis (Debian's /usr/bin/python3)
    python3-torch python3-torchvision python3-sklearn python3-scipy python3-h5py python3-numpy
    python3-matplotlib python3-statsmodels
    # the HTML report is checked by rendering it headless (tests/analysis)
    chromium
)

if [[ "${1:-}" == "--slurm" ]]; then
    packages=(slurmd slurmctld slurm-client munge)
    shift
fi

if [[ "${1:-}" == "--print" ]]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "setup: all ${#packages[@]} packages present"
    exit 0
fi

echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "setup: error: not root and sudo is not available; install as root: ${missing[*]}" >&2
        exit 2
    fi
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
