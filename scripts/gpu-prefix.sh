#!/usr/bin/env bash
# A private prefix of the Debian 12 packages sp needs besides LibTorch (HDF5, Open MPI, toml++,
# CLI11, GoogleTest, Boost.Math headers, libturbojpeg, zlib, pkgconf, and the libraries they load),
# for a machine that has a compiler, CMake, ninja and a Python with PyTorch but none of these:
# a GPU node, or a cluster where you cannot install packages (slurm/README.md, "Building on a
# cluster with only PyTorch installed").
#
#   scripts/gpu-prefix.sh [all|download|unpack|check|env] [--prefix DIR]
#     download  on a Debian 12 machine with apt: `apt-get download` the packages into DIR/debs
#     unpack    `dpkg-deb -x` each into DIR/root (never into /), prune what sp never reads
#               (documentation, static libraries, unused Boost headers, Open MPI plugins for
#               network fabrics), and write DIR/env.sh, DIR/bin/h5cc and DIR/sp-deps.cmake
#     check     every ELF file's libraries resolve inside the prefix or glibc/libstdc++; the
#               size; with g++, that sp's Boost headers all come from the prefix
#     env       print the line to source: `source "$(scripts/gpu-prefix.sh env)"`
#     all       download, unpack, check (the default)
#   DIR defaults to .gpu-prefix in the repository root (git-ignored; it travels with the tree).
#
# Then configure sp against it and a PyTorch's LibTorch:
#   source .gpu-prefix/env.sh                # LD_LIBRARY_PATH, OPAL_PREFIX, PATH (mpirun), ...
#   SP_TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)') \
#     cmake --preset cluster                 # the preset reads SP_DEPS_PREFIX (set by env.sh)
#
# The binaries are Debian 12's (glibc 2.36, libstdc++ of GCC 12): the machine needs glibc >= 2.36
# and a libstdc++ at least as new (Debian 12, Ubuntu 22.10 and later, RHEL 10). Relocation:
# Open MPI reads OPAL_PREFIX, PMIx PMIX_PREFIX/PMIX_LIBDIR; the .pc files are read with
# PKG_CONFIG_SYSROOT_DIR; HDF5's compiler wrapper is replaced by DIR/bin/h5cc (shared linking).
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
action="all"
prefix="$root_dir/.gpu-prefix"
while [[ $# -gt 0 ]]; do
    case "$1" in
        all | download | unpack | check | env) action="$1" ;;
        --prefix) prefix="$2"; shift ;;
        --prefix=*) prefix="${1#--prefix=}" ;;
        -h | --help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu-prefix: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
debs="$prefix/debs"
dest="$prefix/root"
arch_lib="usr/lib/x86_64-linux-gnu"

# What sp's CMake files find (CMakeLists.txt, src/CMakeLists.txt), and the libraries those load
# at run time that a machine with only Python, PyTorch, CUDA and a compiler may lack. Not here:
# glibc, libstdc++, libgcc (the machine's own, newer ones are compatible); Open MPI's plugins for
# InfiniBand/UCX/libfabric/PSM (pruned: sp's single-node checks use shared memory); Fortran.
packages=(
    # HDF5 1.10 (C); libhdf5_serial.so loads libsz (libaec) and libcurl (OpenSSL flavour)
    libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0 libaec-dev
    libcurl4 libnghttp2-14 libidn2-0 libunistring2 librtmp1 libssh2-1 libpsl5 libbrotli1
    libgnutls30 libnettle8 libhogweed6 libgmp10 libp11-kit0 libtasn1-6 libffi8
    libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
    libldap-2.5-0 libsasl2-2 libzstd1 libssl3
    # Open MPI 4.1 (headers, libraries, mpirun) and what it loads
    libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libpmix2 libmunge2 libhwloc15 libudev1
    libevent-core-2.1-7 libevent-pthreads-2.1-7 libevent-2.1-7
    # header-only or small C++ libraries
    libtomlplusplus-dev libtomlplusplus3 libcli11-dev libgtest-dev
    libboost1.74-dev libboost-math1.74-dev
    # data decoding
    libturbojpeg0-dev libturbojpeg0 zlib1g-dev zlib1g
    # pkg-config (FindPkgConfig), for libturbojpeg
    pkgconf pkgconf-bin libpkgconf3
)

# Boost: only the headers sp's files include (their closure, computed with g++ -M at unpack
# time when g++ is present) plus these whole directories (compiler-dependent selections).
boost_keep_dirs=(config predef)
boost_users=(src/sp/stats/power.cpp src/sp/stats/paired.cpp src/sp/stats/stats.cpp)

log() { echo "[gpu-prefix] $*"; }

download() {
    command -v apt-get >/dev/null || { echo "gpu-prefix: download needs apt-get (Debian 12)" >&2; exit 2; }
    local codename
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    if [[ "$codename" != "bookworm" ]]; then
        log "warning: this is '$codename', not Debian 12 (bookworm): the versions may differ"
    fi
    mkdir -p "$debs"
    rm -f "$debs"/*.deb
    log "downloading ${#packages[@]} packages into $debs"
    # apt-get download runs as _apt when root; a private folder it cannot write makes it
    # fall back to root with a warning, which is harmless.
    (cd "$debs" && apt-get download -q "${packages[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    local n
    n=$(find "$debs" -name '*.deb' | wc -l)
    if [[ "$n" -ne ${#packages[@]} ]]; then
        echo "gpu-prefix: downloaded $n of ${#packages[@]} packages" >&2
        exit 1
    fi
    (cd "$debs" && for d in *.deb; do dpkg-deb -f "$d" Package Version | paste -sd' '; done) >"$prefix/packages.txt"
    log "$(du -sh "$debs" | cut -f1) of packages"
}

prune() {
    # Documentation, manuals, static libraries (GoogleTest's are the only ones sp links),
    # Java/Fortran bindings, and the Open MPI plugins that need network-fabric libraries.
    rm -rf "$dest/usr/share/doc" "$dest/usr/share/man" "$dest/usr/share/lintian" \
        "$dest/usr/share/info" "$dest/usr/share/bug" "$dest/usr/share/locale" "$dest/etc/init.d"
    find "$dest" -name '*.a' ! -name 'libgtest*.a' ! -name 'libgmock*.a' -delete
    find "$dest" \( -name '*.jar' -o -name '*fortran*' -o -name '*.mod' -o -name 'mpif*.h' \) \
        -prune -exec rm -rf {} +
    local mca="$dest/$arch_lib/openmpi/lib/openmpi3"
    rm -f "$mca"/mca_*_ucx.so "$mca"/mca_*_ofi.so "$mca"/mca_*_psm*.so "$mca"/mca_btl_openib.so \
        "$mca"/mca_btl_uct.so "$mca"/mca_reachable_netlink.so
    # OpenSHMEM (oshmem), which sp does not use.
    rm -rf "$mca"/mca_spml_*.so "$mca"/mca_sshmem_*.so "$mca"/mca_scoll_*.so \
        "$mca"/mca_atomic_*.so "$mca"/mca_memheap_*.so "$dest/$arch_lib"/liboshmem.so* \
        "$dest/$arch_lib/openmpi/include/openmpi/oshmem" "$dest/$arch_lib/openmpi/include"/*shmem* \
        "$dest/usr/bin"/osh* "$dest/usr/bin"/shmem*
    rm -f "$dest/$arch_lib"/libmca_common_ucx.so* "$dest/$arch_lib"/libmca_common_ofi.so* \
        "$dest/$arch_lib"/libmca_common_verbs.so*
    # Boost: the headers sp includes and their closure.
    local inc="$dest/usr/include/boost" keep="$prefix/boost-keep.txt"
    if [[ -d "$inc" ]]; then
        : >"$keep"
        if command -v g++ >/dev/null; then
            for f in "${boost_users[@]}"; do
                g++ -std=c++17 -M -MG -isystem "$dest/usr/include" -I"$root_dir/src" \
                    "$root_dir/$f" | tr ' \\' '\n\n' | grep "^$inc/" >>"$keep" || true
            done
        fi
        if [[ ! -s "$keep" ]]; then
            log "no g++ to list sp's Boost headers: keeping all of Boost"
        else
            local kept
            kept="$(mktemp -d)"
            for d in "${boost_keep_dirs[@]}"; do
                mkdir -p "$kept/$d" && cp -a "$inc/$d/." "$kept/$d/"
            done
            sort -u "$keep" | while read -r h; do
                rel="${h#"$inc"/}"
                mkdir -p "$kept/$(dirname "$rel")"
                cp -a "$h" "$kept/$rel"
            done
            rm -rf "$inc"
            mv "$kept" "$inc"
            chmod 755 "$inc"
        fi
    fi
    # Links left pointing at what was pruned (or never shipped: GoogleTest's sources).
    find "$dest" -xtype l -delete
}

write_support_files() {
    local hdf5_version
    hdf5_version="$(sed -n 's/^#define H5_VERSION "\(.*\)"/\1/p' "$dest/usr/include/hdf5/serial/H5pubconf.h")"
    mkdir -p "$prefix/bin"
    # FindHDF5 asks the wrapper compiler for flags. Debian's h5cc names /usr and static
    # libraries with their dependencies (-lcrypto -lcurl); this one names the prefix and the
    # shared library, whose own dependencies the loader finds.
    cat >"$prefix/bin/h5cc" <<EOF
#!/bin/sh
# HDF5 compiler wrapper for FindHDF5 (scripts/gpu-prefix.sh): shared linking from this prefix.
p="\$(cd "\$(dirname "\$0")/.." && pwd)/root"
case " \$* " in
*" -showconfig "*) printf 'HDF5 Version: $hdf5_version\nParallel HDF5: no\n' ;;
*" -show "*) echo "cc -I\$p/usr/include/hdf5/serial -L\$p/$arch_lib/hdf5/serial -lhdf5 -lm" ;;
*) exec cc -I"\$p/usr/include/hdf5/serial" "\$@" -L"\$p/$arch_lib/hdf5/serial" -lhdf5 -lm ;;
esac
EOF
    chmod +x "$prefix/bin/h5cc"

    cat >"$prefix/env.sh" <<'EOF'
# Source me (bash): the environment for building and running sp against this prefix
# (scripts/gpu-prefix.sh). Safe to source twice.
SP_DEPS_PREFIX="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export SP_DEPS_PREFIX
_sp_r="$SP_DEPS_PREFIX/root"
_sp_l="$_sp_r/usr/lib/x86_64-linux-gnu"
case ":${LD_LIBRARY_PATH:-}:" in
*":$_sp_l:"*) ;;
*) export LD_LIBRARY_PATH="$_sp_l:$_sp_l/openmpi/lib:$_sp_l/pmix2/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
esac
case ":$PATH:" in
*":$SP_DEPS_PREFIX/bin:"*) ;;
*) export PATH="$SP_DEPS_PREFIX/bin:$PATH" ;;
esac
# Open MPI and PMIx, relocated; single node over shared memory, no fabric probing.
export OPAL_PREFIX="$_sp_r/usr"
export OPAL_SYSCONFDIR="$_sp_r/etc/openmpi"
export PMIX_PREFIX="$_sp_l/pmix2" PMIX_LIBDIR="$_sp_l/pmix2/lib"
export PMIX_MCA_mca_base_component_path="$_sp_l/pmix2/lib/pmix"
# hwloc's optional plugins (GL, OpenCL, PCI) are not in the prefix: none from /usr either.
export HWLOC_PLUGINS_PATH="$_sp_l/hwloc"
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_mca_base_component_show_load_errors=0
export PKG_CONFIG_LIBDIR="$_sp_l/pkgconfig:$_sp_r/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$_sp_r"
unset _sp_r _sp_l
EOF
    # Names the programs that have no unsuffixed name without update-alternatives.
    local b="$dest/usr/bin"
    for n in mpirun mpiexec mpicxx mpicc; do
        [[ -e "$b/$n.openmpi" ]] && ln -sf "../root/usr/bin/$n.openmpi" "$prefix/bin/$n"
    done
    ln -sf ../root/usr/bin/pkgconf "$prefix/bin/pkg-config"
    echo "hdf5 $hdf5_version" >"$prefix/STAMP"
}

relocate_links() {
    # Debian 12 still ships some libraries in /lib (zlib, keyutils, com_err): merge them into
    # usr/lib, as a merged-/usr system has them, so one library folder holds them all.
    if [[ -d "$dest/lib" && ! -L "$dest/lib" ]]; then
        cp -a "$dest/lib/." "$dest/usr/lib/"
        rm -rf "${dest:?}/lib"
    fi
    # Absolute symbolic links (libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) would leave the
    # prefix: point them at the same file inside it, relatively.
    local link target inside
    while IFS= read -r -d '' link; do
        target="$(readlink "$link")"
        [[ "$target" == /* ]] || continue
        inside="$dest/usr${target#/usr}"
        [[ -e "$inside" ]] || inside="$dest$target"
        ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$inside")" "$link"
    done < <(find "$dest" -type l -print0)
}

unpack() {
    [[ -d "$debs" ]] || { echo "gpu-prefix: no $debs: run download first" >&2; exit 2; }
    case "$dest" in
        / | /usr | /usr/*) echo "gpu-prefix: refusing to unpack into $dest" >&2; exit 2 ;;
    esac
    rm -rf "${dest:?}" "${prefix:?}/bin"
    mkdir -p "$dest"
    local d
    for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$dest"; done
    relocate_links
    prune
    write_support_files
    log "unpacked $(find "$debs" -name '*.deb' | wc -l) packages into $dest: $(du -sh "$prefix" --exclude=debs | cut -f1) without the .deb files"
}

check() {
    [[ -f "$prefix/STAMP" ]] || { echo "gpu-prefix: $prefix is not unpacked" >&2; exit 2; }
    local provided missing=0 f n
    provided="$(find "$dest" \( -type f -o -type l \) -name '*.so*' -printf '%f\n' | sort -u)"
    # The machine's own: glibc, libstdc++, libgcc.
    local base='^(libc|libm|libdl|librt|libpthread|libresolv|libutil|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so'
    while IFS= read -r -d '' f; do
        head -c4 "$f" | grep -q 'ELF' || continue
        while read -r n; do
            [[ "$n" =~ $base ]] && continue
            if ! grep -qxF "$n" <<<"$provided"; then
                echo "gpu-prefix: ${f#"$dest"/} needs $n, which the prefix lacks" >&2
                missing=1
            fi
        done < <(readelf -d "$f" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
    done < <(find "$dest" -type f \( -name '*.so*' -o -perm -u+x \) -print0)
    while IFS= read -r -d '' f; do
        if [[ "$(readlink "$f")" == /* ]]; then
            echo "gpu-prefix: ${f#"$dest"/} is an absolute link, out of the prefix" >&2
            missing=1
        fi
    done < <(find "$dest" -type l -print0)
    if command -v g++ >/dev/null && [[ -d "$dest/usr/include/boost" ]]; then
        for f in "${boost_users[@]}"; do
            if g++ -std=c++17 -M -MG -isystem "$dest/usr/include" -I"$root_dir/src" \
                "$root_dir/$f" | tr ' \\' '\n\n' | grep -E '^/usr/(local/)?include/boost/'; then
                echo "gpu-prefix: $f includes Boost headers from outside the prefix" >&2
                missing=1
            fi
        done
    fi
    local size
    size="$(du -sm "$prefix" --exclude=debs | cut -f1)"
    log "size without the .deb files: ${size} MiB (limit 64)"
    [[ "$size" -lt 64 ]] || { echo "gpu-prefix: the prefix is ${size} MiB, over 64" >&2; missing=1; }
    [[ "$missing" -eq 0 ]] && log "check passed: every library resolves inside the prefix or glibc/libstdc++"
    return "$missing"
}

case "$action" in
    download) download ;;
    unpack) unpack ;;
    check) check ;;
    env) echo "$prefix/env.sh" ;;
    all) download; unpack; check ;;
esac
