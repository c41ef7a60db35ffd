#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for tests/slurm/ and for trying slurm/*.sh.
#
#   scripts/slurm-local.sh start    install slurm + munge if missing (Debian packages), write
#                                   /etc/slurm/slurm.conf, start munged, slurmctld and slurmd as
#                                   root daemons, wait until the node is idle
#   scripts/slurm-local.sh stop     stop the three daemons this script started
#   scripts/slurm-local.sh status   sinfo, and which daemons run
#
# Idempotent: `start` on a running cluster checks it and returns. Needs root (it writes /etc and
# runs daemons); exit code 77 when it cannot (not root, no apt, the daemons do not come up), so
# tests can skip. No systemd needed (containers): the daemons are started directly.
# Configuration: one node (this host, its CPUs and memory), one partition `debug` (Default,
# MaxTime=INFINITE), select/cons_tres, proctrack/linuxproc, task/none (no cgroups), JobRequeue=1,
# no accounting database (so no sacct; use `scontrol show job`, kept MinJobAge=600 s).
set -euo pipefail

conf_dir=/etc/slurm
conf=$conf_dir/slurm.conf
run_dir=/run/sp-slurm
log_dir=/var/log/slurm
host=$(hostname -s)

say() { echo "slurm-local: $*"; }
skip() { echo "slurm-local: $*" >&2; exit 77; }

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
    # The one setup path, opt-in part: slurmd slurmctld slurm-client munge.
    "$(dirname "${BASH_SOURCE[0]}")/setup.sh" --slurm >/dev/null || skip "cannot install Slurm"
}

write_config() {
    local cpus mem_mb tmp
    cpus=$(nproc --all)
    # RealMemory in MB, a little under the total so slurmd's own count is never below it.
    mem_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.95}' /proc/meminfo)
    mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd "$log_dir" "$run_dir"
    tmp=$(mktemp "$conf_dir/.slurm.conf.XXXXXX")
    cat > "$tmp" <<EOF
# Written by sp's scripts/slurm-local.sh: a single-node test cluster. Rerunning the script
# rewrites this file.
ClusterName=sp-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobRequeue=1
MinJobAge=600
KillWait=30
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$run_dir/slurmctld.pid
SlurmdPidFile=$run_dir/slurmd.pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    chmod 644 "$tmp"
    if [[ -f $conf ]] && cmp -s "$tmp" "$conf"; then
        rm -f "$tmp"
        return 1 # unchanged
    fi
    mv "$tmp" "$conf"
    say "wrote $conf ($cpus CPUs, ${mem_mb} MB)"
    return 0
}

start_munge() {
    if [[ ! -s /etc/munge/munge.key ]]; then
        say "creating a munge key"
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown munge:munge /etc/munge /etc/munge/munge.key 2>/dev/null || true
    chmod 700 /etc/munge
    chmod 400 /etc/munge/munge.key
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
    # munged refuses to run as root; the Debian package's user is `munge`.
    if id munge >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged
    else
        /usr/sbin/munged --force
    fi
    for _ in $(seq 1 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    skip "munged did not start"
}

node_state() { sinfo -h -N -n "$host" -o '%t' 2>/dev/null | head -1; }

start() {
    [[ $(id -u) -eq 0 ]] || skip "needs root (writes $conf and runs the Slurm daemons)"
    install_packages
    local changed=0
    write_config && changed=1
    start_munge
    if ((changed)); then
        # A new configuration: restart what runs so it takes effect.
        stop_daemons quiet
    fi
    if ! pid_alive "$run_dir/slurmctld.pid"; then
        say "starting slurmctld"
        /usr/sbin/slurmctld -f "$conf" || skip "slurmctld did not start ($log_dir/slurmctld.log)"
    fi
    if ! pid_alive "$run_dir/slurmd.pid"; then
        say "starting slurmd"
        /usr/sbin/slurmd -f "$conf" || skip "slurmd did not start ($log_dir/slurmd.log)"
    fi
    local state=""
    for _ in $(seq 1 120); do
        state=$(node_state)
        case "$state" in
            idle | mix | alloc) break ;;
            down* | drain* | fail*)
                scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 0.5
    done
    case "$state" in
        idle | mix | alloc) say "node $host is $state" ;;
        *) skip "node $host did not become idle (state '${state:-none}'; see $log_dir/)" ;;
    esac
}

stop_daemons() {
    local name f
    for name in slurmd slurmctld; do
        f=$run_dir/$name.pid
        if pid_alive "$f"; then
            [[ ${1:-} == quiet ]] || say "stopping $name"
            local pid
            pid=$(cat "$f")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$f"
    done
}

stop() {
    stop_daemons
    # munged is left running when something else uses it; stop the one we started.
    local f=/run/munge/munged.pid
    if pid_alive "$f"; then
        say "stopping munged"
        kill "$(cat "$f")" 2>/dev/null || true
    fi
}

status() {
    local name
    for name in slurmctld slurmd; do
        if pid_alive "$run_dir/$name.pid"; then
            echo "$name: running (pid $(cat "$run_dir/$name.pid"))"
        else
            echo "$name: not running"
        fi
    done
    if command -v sinfo >/dev/null && pid_alive "$run_dir/slurmctld.pid"; then sinfo; fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
