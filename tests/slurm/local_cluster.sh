#!/usr/bin/env bash
# A private single-node Slurm cluster that lives entirely in one directory, for tests/slurm/ and
# for trying slurm/*.sh by hand. Nothing outside DIR is written: its own slurm.conf (clients find
# it through SLURM_CONF), state, spool, pid and log files, its own munged with its own key and
# socket (slurm's munge plugins are told the socket by `AuthInfo=socket=`), TCP ports that were
# free when it started, and a cluster name of its own. /etc/slurm and /etc/munge are never read
# as configuration nor written.
#
#   local_cluster.sh check           exit 0 if a cluster can be started here, else a message and
#                                    exit 77: not root, Slurm or munge not installed
#                                    (scripts/setup.sh --slurm), or a Slurm or munge daemon
#                                    already running on this machine (a real cluster node, a
#                                    login node, a leftover: it is never touched)
#   local_cluster.sh start DIR       check, then start munged, slurmctld and slurmd from DIR
#                                    (created; must be empty or absent), wait until the node is
#                                    idle, print `export SLURM_CONF=DIR/slurm.conf`; exit 1 with
#                                    the daemons' logs when they do not come up (they are stopped)
#   local_cluster.sh stop DIR        stop the daemons whose pid files are in DIR (only those)
#   local_cluster.sh watch DIR PID   in the background: stop DIR's daemons once PID has exited
#                                    (for callers killed before their own cleanup runs)
#
#   eval "$(tests/slurm/local_cluster.sh start /tmp/my-slurm)"; sbatch ...; squeue
#   tests/slurm/local_cluster.sh stop /tmp/my-slurm && rm -rf /tmp/my-slurm
#
# Needs root: slurmd starts jobs as their user, and SlurmUser=root keeps the daemons simple.
# Configuration: one node (this host at 127.0.0.1, its CPUs and memory), partition `debug`
# (Default, MaxTime=INFINITE), select/cons_tres, proctrack/linuxproc, task/none (no cgroups),
# JobRequeue=1, no accounting database (no sacct: `scontrol show job`, kept MinJobAge=600 s).
# Also usable as a library: `source local_cluster.sh` defines the lc_* functions only.
set -euo pipefail

lc_say() { echo "local_cluster: $*" >&2; }

# lc_running_daemons: "PID NAME ARGS" of every live slurmctld, slurmd, slurmdbd or munged on this
# machine (zombies left by an exited daemon's parent do not count).
lc_running_daemons() {
    ps -e -o pid=,stat=,comm=,args= 2>/dev/null |
        awk '$2 !~ /^Z/ && ($3 == "slurmctld" || $3 == "slurmd" || $3 == "slurmdbd" || $3 == "munged") {
                 args = $0; sub(/^ *[0-9]+ +[^ ]+ +[^ ]+ +/, "", args); print "pid " $1 ": " args }'
}

# lc_check: returns 0 when a private cluster can start here; else prints why and returns 77.
lc_check() {
    if [[ $(id -u) -ne 0 ]]; then
        lc_say "needs root (slurmd starts jobs as their user)"
        return 77
    fi
    local b missing=()
    for b in munged slurmctld slurmd sbatch scontrol sinfo squeue scancel; do
        command -v "$b" >/dev/null || [[ -x /usr/sbin/$b ]] || missing+=("$b")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        lc_say "not installed: ${missing[*]} (scripts/setup.sh --slurm installs Slurm and munge)"
        return 77
    fi
    local running
    running=$(lc_running_daemons)
    if [[ -n $running ]]; then
        lc_say "refusing to start a test cluster beside Slurm or munge daemons already running" \
            "on this machine (a real cluster's, or left over; they are not touched):"
        sed 's/^/    /' <<< "$running" >&2
        return 77
    fi
}

# lc_free_ports N: N distinct TCP ports in 20000-59999 that nothing listens on (IPv4 or IPv6).
lc_free_ports() {
    local used port found=()
    used=" "
    for port in $(awk 'NR > 1 && $4 == "0A" {n = split($2, a, ":"); print a[n]}' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
        used+="$((16#$port)) "
    done
    while [[ ${#found[@]} -lt $1 ]]; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        [[ $used == *" $port "* || " ${found[*]} " == *" $port "* ]] || found+=("$port")
    done
    echo "${found[*]}"
}

# lc_sbin NAME: the daemon's path (they live in /usr/sbin, often not on a user's PATH).
lc_sbin() { command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"; }

# lc_alive PID NAME: PID is a live process (not a zombie) named NAME.
lc_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ $stat == "$1 ($2) "* && ${stat#"$1 ($2) "} != Z* ]]
}

# lc_pid_of DIR NAME: the pid in DIR's pid file of NAME if that process is alive and is NAME.
lc_pid_of() {
    local f=$1/run/$2.pid pid
    [[ -s $f ]] || return 1
    pid=$(tr -dc '0-9' < "$f")
    [[ -n $pid ]] && lc_alive "$pid" "$2" || return 1
    echo "$pid"
}

lc_write_config() { # lc_write_config DIR
    local d=$1 host cpus mem_mb ports name
    host=$(hostname -s)
    cpus=$(nproc --all)
    # RealMemory in MB, a little under the total so slurmd's own count is never below it.
    mem_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.95}' /proc/meminfo)
    read -r -a ports <<< "$(lc_free_ports 2)"
    name=sp-test-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
    : > "$d/plugstack.conf"
    cat > "$d/slurm.conf" <<EOF
# A private test cluster written by sp's tests/slurm/local_cluster.sh; everything in $d.
ClusterName=$name
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
PlugStackConfig=$d/plugstack.conf
TmpFS=$d/tmp
MailProg=/bin/true
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
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    chmod 644 "$d/slurm.conf"
    echo "$host"
}

lc_logs() { # lc_logs DIR: the daemons' logs, for a failure message
    local f
    for f in "$1"/munge/munged.log "$1"/log/*.log; do
        [[ -f $f ]] || continue
        echo "---- $f (last 20 lines)"
        tail -n 20 "$f"
    done >&2
}

lc_start() { # lc_start DIR
    local d=$1 host state="" m
    lc_check || return $?
    if [[ -e $d && -n $(ls -A "$d" 2>/dev/null) ]]; then
        lc_say "$d is not empty: give a new directory"
        return 2
    fi
    mkdir -p "$d"
    d=$(cd "$d" && pwd)
    # munged wants its socket's directory reachable by all, and its key private.
    chmod 755 "$d"
    mkdir -p "$d"/{munge,run,log,state,spool,tmp}
    chmod 755 "$d/munge"
    dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$d/munge/munge.key"
    host=$(lc_write_config "$d")
    export SLURM_CONF=$d/slurm.conf

    m=(--socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key"
       --pid-file="$d/run/munged.pid" --log-file="$d/munge/munged.log"
       --seed-file="$d/munge/munged.seed")
    "$(lc_sbin munged)" "${m[@]}" < /dev/null >> "$d/log/daemons.out" 2>&1 ||
        { lc_say "munged did not start"; lc_logs "$d"; lc_stop "$d"; return 1; }
    "$(lc_sbin slurmctld)" -f "$SLURM_CONF" < /dev/null >> "$d/log/daemons.out" 2>&1 ||
        { lc_say "slurmctld did not start"; lc_logs "$d"; lc_stop "$d"; return 1; }
    "$(lc_sbin slurmd)" -f "$SLURM_CONF" < /dev/null >> "$d/log/daemons.out" 2>&1 ||
        { lc_say "slurmd did not start"; lc_logs "$d"; lc_stop "$d"; return 1; }
    for _ in $(seq 1 120); do
        state=$(sinfo -h -N -n "$host" -o '%t' 2>/dev/null | head -1 || true)
        case "$state" in
            idle | mix | alloc) break ;;
            down* | drain* | fail*)
                # Our own node, in our own slurmctld (a fresh state directory).
                scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 0.5
    done
    case "$state" in
        idle | mix | alloc) lc_say "cluster $(sed -n 's/^ClusterName=//p' "$SLURM_CONF") up in $d" ;;
        *)
            lc_say "node $host did not become idle (state '${state:-none}')"
            lc_logs "$d"; lc_stop "$d"; return 1 ;;
    esac
}

lc_stop() { # lc_stop DIR: cancels DIR's jobs, stops the daemons its pid files name (if alive
    #              and so named: never another process)
    local d=$1 name pid ids j
    [[ -d $d ]] || return 0
    if lc_pid_of "$d" slurmctld >/dev/null && lc_pid_of "$d" munged >/dev/null; then
        # Every job of this private cluster is ours. Cancel them while slurmd still runs, so
        # their processes end too (SIGTERM, SIGKILL after KillWait=30 s).
        mapfile -t ids < <(SLURM_CONF=$d/slurm.conf squeue -h -o %A 2>/dev/null || true)
        for j in "${ids[@]}"; do SLURM_CONF=$d/slurm.conf scancel "$j" 2>/dev/null || true; done
        for _ in $(seq 1 60); do
            [[ -z $(SLURM_CONF=$d/slurm.conf squeue -h -t R,CG,S -o %A 2>/dev/null) ]] && break
            sleep 1
        done
    fi
    for name in slurmd slurmctld munged; do
        pid=$(lc_pid_of "$d" "$name") || continue
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            lc_alive "$pid" "$name" || break
            sleep 0.1
        done
        if lc_alive "$pid" "$name"; then
            lc_say "$name ($pid) ignored SIGTERM for 10 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    return 0
}

lc_watch() { # lc_watch DIR PID: a detached watcher that stops DIR's daemons after PID exits
    local self
    self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
    setsid -f bash -c 'while kill -0 "$2" 2>/dev/null; do sleep 2; done; exec "$0" stop "$1"' \
        "$self" "$1" "$2" < /dev/null > /dev/null 2>&1
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    case "${1:-}" in
        check) lc_check ;;
        start)
            [[ $# -eq 2 ]] || { echo "usage: $0 start DIR" >&2; exit 2; }
            lc_start "$2"
            echo "export SLURM_CONF=$(cd "$2" && pwd)/slurm.conf"
            ;;
        stop)
            [[ $# -eq 2 ]] || { echo "usage: $0 stop DIR" >&2; exit 2; }
            lc_stop "$2"
            ;;
        watch)
            [[ $# -eq 3 ]] || { echo "usage: $0 watch DIR PID" >&2; exit 2; }
            lc_watch "$2" "$3"
            ;;
        *) echo "usage: $0 {check | start DIR | stop DIR | watch DIR PID}" >&2; exit 2 ;;
    esac
fi
