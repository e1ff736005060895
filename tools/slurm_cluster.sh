#!/usr/bin/env bash
# A one-node Slurm cluster on localhost in a folder of its own, for the sweep's tests and for
# trying `train:sweep --on=slurm` on one machine: its own slurm.conf, state, spool and log
# files, its own munge key, socket and daemon (run as the `munge` user), slurmctld and slurmd
# (as root, which slurmd needs to start jobs as their user). Nothing outside DIR is touched.
# Needs Debian's slurm-wlm and munge (`apt-get install slurm-wlm munge`) and root.
#
#   tools/slurm_cluster.sh start DIR   # starts it, waits until the node is idle, prints the
#                                      # line that points Slurm's commands at it:
#                                      #   export SLURM_CONF=DIR/slurm.conf
#   tools/slurm_cluster.sh stop DIR    # stops the daemons started in DIR (the files stay)
#
# Options (environment): SLURM_CLUSTER_CPUS (default: all of this machine's), SLURM_CLUSTER_MEMORY_MB
# (default: 90% of this machine's), SLURM_CLUSTER_KILL_WAIT (seconds between SIGTERM and SIGKILL
# on preemption, time limit or scancel; default 30, Slurm's default).
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

fail() {
  echo "slurm_cluster: $*" >&2
  exit 1
}

[[ $# -eq 2 ]] || usage
action=$1
dir=$(realpath -m "$2")

stop() {
  local conf="$dir/slurm.conf"
  if [[ -f $conf ]]; then
    for pidfile in "$dir/slurmctld.pid" "$dir/slurmd.pid"; do
      if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then kill -TERM "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
  fi
  if [[ -f $dir/munge/munged.pid ]] && kill -0 "$(cat "$dir/munge/munged.pid")" 2>/dev/null; then
    kill -TERM "$(cat "$dir/munge/munged.pid")" 2>/dev/null || true
  fi
  # Wait for them to go (jobs they ran are ended by slurmd on its way out).
  for _ in $(seq 1 100); do
    local alive=0
    for pidfile in "$dir/slurmctld.pid" "$dir/slurmd.pid" "$dir/munge/munged.pid"; do
      if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then alive=1; fi
    done
    [[ $alive -eq 0 ]] && return 0
    sleep 0.1
  done
  for pidfile in "$dir/slurmctld.pid" "$dir/slurmd.pid" "$dir/munge/munged.pid"; do
    if [[ -f $pidfile ]]; then kill -KILL "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
}

free_port() {
  # A port nobody listens on (checked with ss; the daemons bind it a moment later).
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
      echo "$port"
      return 0
    fi
  done
  fail "found no free TCP port for the daemons"
}

start() {
  [[ $(id -u) -eq 0 ]] || fail "must run as root (slurmd starts jobs as their user)"
  local missing=()
  for tool in slurmctld slurmd munged mungekey sinfo; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [[ ${#missing[@]} -eq 0 ]] || fail "missing ${missing[*]}: install them with: apt-get install slurm-wlm munge"
  id munge >/dev/null 2>&1 || fail "no 'munge' user: install munge with: apt-get install munge"
  if [[ -f $dir/slurmctld.pid ]] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    fail "a cluster already runs in $dir (stop it with: $0 stop $dir)"
  fi

  mkdir -p "$dir"/{state,spool,munge}
  chmod 0755 "$dir"
  # munged runs as munge: every folder above $dir must let other users pass (x), or it cannot even open its log.
  runuser -u munge -- test -x "$dir" ||
    fail "the munge user cannot reach $dir: a folder above it is closed to other users (mode 0700?); give them x (chmod o+x) or start the cluster under a folder such as /tmp"
  # munged refuses a key or socket folder others can write to, and a key it does not own.
  chown munge:munge "$dir/munge"
  chmod 0700 "$dir/munge"
  [[ -f $dir/munge/munge.key ]] || mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
  chown munge:munge "$dir/munge/munge.key"
  chmod 0600 "$dir/munge/munge.key"
  # munged's socket must be reachable by every user whose jobs Slurm runs; its folder stays private to munge otherwise.
  chmod 0711 "$dir/munge"
  runuser -u munge -- munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
    || fail "munged did not start; its log: $dir/munge/munged.log"

  local host cpus memory
  host=$(hostname -s)
  cpus=${SLURM_CLUSTER_CPUS:-$(nproc)}
  memory=${SLURM_CLUSTER_MEMORY_MB:-$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)}
  cat >"$dir/slurm.conf" <<EOF
# A one-node cluster on localhost, written by tools/slurm_cluster.sh.
ClusterName=localhost
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
MpiDefault=none
SwitchType=switch/none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=${SLURM_CLUSTER_KILL_WAIT:-30}
SchedulerParameters=sched_interval=1
DefMemPerCPU=1024
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -c -f "$SLURM_CONF" || fail "slurmctld did not start; its log: $dir/slurmctld.log"
  slurmd -f "$SLURM_CONF" -N "$host" || fail "slurmd did not start; its log: $dir/slurmd.log"
  for _ in $(seq 1 300); do
    if [[ $(sinfo -h -N -o %T 2>/dev/null) == idle ]]; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.1
  done
  local state
  state=$(sinfo -h -N -o '%T %E' 2>&1 || true)
  stop
  fail "the node did not become idle within 30 s (sinfo: ${state:-nothing}); logs: $dir/slurmctld.log, $dir/slurmd.log"
}

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
