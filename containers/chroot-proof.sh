#!/usr/bin/env bash
# Proves an Apptainer recipe without Apptainer (Debian 12 does not package it): builds a Debian
# 12 root with debootstrap, copies the recipe's %files into it, and runs the recipe's own %post,
# then %test (with %environment sourced) and %runscript, each taken from the .def file itself,
# with chroot. Reports pass/fail and the time of every step.
#
#   containers/chroot-proof.sh [DEF]               as root, from anywhere; DEF defaults to
#                                                  containers/sp-cpu.def
#
# Environment:
#   SP_PROOF_DIR   work directory (default /tmp/sp-chroot-proof): root/ is the chroot, logs/
#                  the output of each step. A root from an earlier run is reused (apt and the
#                  build are then incremental); SP_PROOF_FRESH=1 starts from a new debootstrap.
#   SP_MIRROR      Debian mirror (default: the first deb.debian.org-style URI configured in
#                  /etc/apt/sources.list*, else http://deb.debian.org/debian/)
#   SP_JOBS        confine the chroot to this many CPUs (taskset), so that the recipe's
#                  `nproc` build jobs and ctest use at most that many; default: all
#   SP_NICE        nice level for the chroot steps (default 10)
#   SP_PROOF_STEPS the steps to run, in order (default "debootstrap files post test test_ro
#                  runscript"; test_ro: %test on a read-only view of the root, like a SIF)
#   SP_PROOF_CLEAN=1  delete the work directory at the end (after unmounting)
#
# What it does not prove: Apptainer itself (the docker:// pull, the SIF, --fakeroot, binds at
# run time). The chroot stands in for `From: debian:12`: the same suites (bookworm,
# bookworm-updates, bookworm-security) from the same archive, no services started (like a
# container build), root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
def=${1:-$here/sp-cpu.def}
[[ -f $def ]] || { echo "chroot-proof: no such recipe: $def" >&2; exit 2; }
def=$(cd "$(dirname "$def")" && pwd)/$(basename "$def")
[[ $(id -u) -eq 0 ]] || { echo "chroot-proof: needs root (debootstrap, mount, chroot)" >&2; exit 2; }

work=${SP_PROOF_DIR:-/tmp/sp-chroot-proof}
root=$work/root
croot=$root    # the root the chroot steps use (step test_ro: a read-only view of it)
logs=$work/logs
steps=${SP_PROOF_STEPS:-debootstrap files post test test_ro runscript}
nice_level=${SP_NICE:-10}

mirror=${SP_MIRROR:-}
if [[ -z $mirror ]]; then
    mirror=$(grep -hoE '^(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
        2>/dev/null | awk '{print $2; exit}' || true)
    mirror=${mirror:-http://deb.debian.org/debian/}
fi
security=${mirror%/}-security

log() { echo "[chroot-proof $(date +%T)] $*"; }

# ---- the recipe's sections, parsed from the .def file ----------------------------------------
# A section runs from its "%name" line to the next line starting with a known section keyword.
section() {
    awk -v want="$1" '
        /^%(setup|files|post|test|environment|runscript|startscript|labels|help|arguments|app[a-z]+)([[:space:]]|$)/ {
            name = substr($1, 2); insec = (name == want); next
        }
        insec { print }
    ' "$def"
}
header() { # header KEY: the value of "KEY: value" before the first section
    awk -v key="$1" '
        /^%/ { exit }
        tolower($0) ~ "^" tolower(key) ":" { sub(/^[^:]*:[[:space:]]*/, ""); print; exit }
    ' "$def"
}

bootstrap=$(header Bootstrap)
from=$(header From)
osversion=$(header OSVersion)
case "$bootstrap:$from:$osversion" in
    docker:debian:12:* | docker:debian:bookworm:* | debootstrap::bookworm) ;;
    *) echo "chroot-proof: $def is not a Debian 12 recipe (Bootstrap: $bootstrap, From: $from," \
           "OSVersion: $osversion); this proof stands in for Debian 12 only" >&2; exit 2 ;;
esac
[[ -n $(section post) ]] || { echo "chroot-proof: $def has no %post" >&2; exit 2; }

# ---- mounts: only while a step runs in the chroot; always undone -----------------------------
mounted=()
mount_chroot() {
    mountpoint -q "$croot/proc" || { mount -t proc proc "$croot/proc"; mounted+=("$croot/proc"); }
    mountpoint -q "$croot/sys" || { mount -t sysfs sysfs "$croot/sys"; mounted+=("$croot/sys"); }
    mountpoint -q "$croot/dev" || { mount --bind /dev "$croot/dev"; mounted+=("$croot/dev"); }
    mkdir -p "$croot/dev/pts" "$croot/dev/shm"
    # Open MPI's shared memory and ctest's tests want a private, writable /dev/shm.
    mountpoint -q "$croot/dev/pts" || { mount --bind /dev/pts "$croot/dev/pts"; mounted+=("$croot/dev/pts"); }
    mountpoint -q "$croot/dev/shm" || { mount -t tmpfs -o mode=1777 tmpfs "$croot/dev/shm"; mounted+=("$croot/dev/shm"); }
}
unmount_chroot() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
    done
    mounted=()
}
cleanup() {
    local rc=$?
    unmount_chroot
    if [[ ${SP_PROOF_CLEAN:-0} == 1 && -d $work ]]; then
        if grep -q " $root" /proc/mounts; then
            echo "chroot-proof: something is still mounted under $root; not deleting $work" >&2
        else
            rm -rf "$work"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# chroot_sh LOGNAME SCRIPT: runs SCRIPT with /bin/sh in the chroot, in a clean environment like
# Apptainer's build, niced and optionally confined to SP_JOBS CPUs.
chroot_sh() {
    local name=$1 script=$2 confine=()
    if [[ -n ${SP_JOBS:-} ]]; then
        confine=(taskset -c "0-$((SP_JOBS - 1))")
    fi
    mount_chroot
    local rc=0
    "${confine[@]}" nice -n "$nice_level" \
        chroot "$croot" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/sh -e -x -c "$script" >"$logs/$name.log" 2>&1 || rc=$?
    unmount_chroot
    return "$rc"
}

# ---- steps -----------------------------------------------------------------------------------
step_debootstrap() {
    if [[ -f $root/.sp-debootstrap-ok && ${SP_PROOF_FRESH:-0} != 1 ]]; then
        log "reusing the Debian 12 root in $root (SP_PROOF_FRESH=1 for a new one)"
    else
        debootstrap_root
    fi
    configure_base || return 1
}

debootstrap_root() {
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap \
            >"$logs/apt-debootstrap.log" 2>&1 || return 1
    fi
    if [[ -d $root ]]; then
        grep -q " $root" /proc/mounts && { echo "chroot-proof: $root has mounts" >&2; return 1; }
        rm -rf "$root"
    fi
    nice -n "$nice_level" debootstrap --variant=minbase bookworm "$root" "$mirror" \
        >"$logs/debootstrap.log" 2>&1 || return 1
    touch "$root/.sp-debootstrap-ok"
}

configure_base() {
    # What `From: debian:12` has and a bare debootstrap lacks: the updates and security suites,
    # and no daemons started by package installs (a container build starts none).
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${mirror%/}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
}

step_files() {
    # %files: "SRC [DST]" per line, SRC relative to where `apptainer build` runs (the
    # repository root), copied with symlinks followed; a fresh copy each run.
    local src dst rest n=0
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" || return 1
    while read -r src dst rest; do
        [[ -z $src || $src == \#* ]] && continue
        [[ -z $rest ]] || { echo "chroot-proof: %files line with extra words: $src $dst $rest" >&2; return 1; }
        dst=${dst:-$src}
        [[ $src == /* ]] || src=$repo/$src
        [[ -e $src ]] || { echo "chroot-proof: %files source missing: $src" >&2; return 1; }
        mkdir -p "$root$(dirname "$dst")" || return 1
        rm -rf "${root:?}$dst"
        cp -rL "$src" "$root$dst" || return 1
        n=$((n + 1))
    done < <(section files)
    log "%files: $n entries copied"
}

step_post() {
    chroot_sh post "$(section post)"
}

step_test() {
    # %environment is sourced before %test, as Apptainer does (/.singularity.d/env/).
    mkdir -p "$root/.singularity.d/env"
    section environment >"$root/.singularity.d/env/90-environment.sh"
    chroot_sh test ". /.singularity.d/env/90-environment.sh
$(section test)"
}

step_test_ro() {
    # %test again on a read-only view of the root with a fresh /tmp, as `apptainer test
    # sp-cpu.sif` runs it on the finished (read-only) image.
    local ro=$work/ro rc=0
    mkdir -p "$ro"
    mount --bind "$root" "$ro" || return 1
    mounted+=("$ro")
    mount -o remount,bind,ro "$ro" || { unmount_chroot; return 1; }
    mount -t tmpfs -o mode=1777 tmpfs "$ro/tmp" || { unmount_chroot; return 1; }
    mounted+=("$ro/tmp")
    croot=$ro
    # chroot_sh unmounts everything in `mounted` afterwards, the read-only view included.
    chroot_sh test_ro ". /.singularity.d/env/90-environment.sh
$(section test)" || rc=$?
    croot=$root
    unmount_chroot
    return "$rc"
}

step_runscript() {
    # %runscript with arguments that plan and exit: the image's entry point works.
    mkdir -p "$root/.singularity.d/env"
    section environment >"$root/.singularity.d/env/90-environment.sh"
    { echo '#!/bin/sh'; section runscript; } >"$root/.singularity.d/runscript"
    chmod 755 "$root/.singularity.d/runscript"
    # shellcheck disable=SC2016 # expanded in the chroot
    chroot_sh runscript '. /.singularity.d/env/90-environment.sh
cd /tmp
/.singularity.d/runscript "$SP_HOME/sweeps/paper.toml" --dry-run --ranks 8 >/tmp/sp-runscript.out
tail -n 3 /tmp/sp-runscript.out'
}

mkdir -p "$logs"
log "recipe $def (Bootstrap: $bootstrap ${from:-$osversion}); root $root; mirror $mirror;" \
    "jobs ${SP_JOBS:-all}; nice $nice_level"
summary=()
failed=""
for s in $steps; do
    declare -F "step_$s" >/dev/null || { echo "chroot-proof: unknown step $s" >&2; exit 2; }
    log "step $s ..."
    t0=$(date +%s)
    if "step_$s"; then
        status=pass
    else
        status=FAIL
        failed=$s
    fi
    dt=$(($(date +%s) - t0))
    summary+=("$(printf '%-12s %-5s %6d s' "$s" "$status" "$dt")")
    log "step $s: $status in ${dt}s${failed:+ (log: $logs/$s.log)}"
    if [[ -n $failed ]]; then
        [[ -f $logs/$s.log ]] && tail -n 30 "$logs/$s.log"
        break
    fi
done
echo "chroot-proof summary ($def):"
printf '  %s\n' "${summary[@]}"
if [[ -n $failed ]]; then
    echo "chroot-proof: FAIL at $failed"
    exit 1
fi
echo "chroot-proof: PASS"
