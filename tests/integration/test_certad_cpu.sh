#!/usr/bin/env bash
# cpu_affinity: with cpu_affinity = on and one worker per CPU, each worker
# keeps to its CPU and a new connection goes to the worker of the CPU that
# received it. On loopback that is the client's CPU, so a client held to
# one CPU (taskset) must be served by that CPU's worker only. By default
# (off), and with more workers than CPUs, nothing is pinned and the
# kernel's hash spreads connections. A bad value stops startup with one
# line naming it, and a reload cannot change the setting.
source "$CERTA_SRC/tests/integration/ca_common.sh"
source "$CERTA_SRC/tests/integration/certad_common.sh"

mapfile -t CPUS < <(python3 -c 'import os; print("\n".join(str(c) for c in sorted(os.sched_getaffinity(0))))')
if [ "${#CPUS[@]}" -lt 2 ]; then
  echo "skip: needs 2 CPUs, this process may use ${#CPUS[@]}"
  exit 77
fi
C0=${CPUS[0]} C1=${CPUS[1]}
make_ca "$T/ca"

# run_with CPU_AFFINITY WORKERS: certad from a config file on a fresh port
# ("-" for CPU_AFFINITY: the key left out).
run_with() {
  port=$(free_port)
  url=http://127.0.0.1:$port
  {
    echo "[server]"
    echo "listen = 127.0.0.1:$port"
    echo "workers = $2"
    [ "$1" = - ] || echo "cpu_affinity = $1"
    echo "[ca]"
    echo "dir = ca"
  } >"$T/certad.conf"
  : >"$T/certad.log"
  start_certad "$url" --config "$T/certad.conf"
}
# workers_for CPU N: the workers that served N new connections from CPU.
# Each call asks for a path of its own (a 404), so its lines are counted
# apart from any other request's, whenever those reach the log.
# (It runs in $(...): the path is made fresh there, not counted.)
workers_for() {
  local path=/cpu-probe-$1-$(date +%s%N)
  for _ in $(seq 1 "$2"); do taskset -c "$1" curl -s -o /dev/null "$url$path"; done
  log_wait_count "$T/certad.log" "path=$path " "$2" || fail "log lines of $2 requests for $path"
  grep "path=$path " "$T/certad.log" | grep -o 'worker=[0-9]*' | sort -u | tr '\n' ' '
}
# pinned_threads: "CPU-list" of every thread of certad that keeps to one CPU.
pinned_threads() {
  local all t l
  all=$(awk '/^Cpus_allowed_list/ {print $2}' "/proc/$CERTAD_PID/status")
  for t in /proc/"$CERTAD_PID"/task/*; do
    l=$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status")
    [ "$l" = "$all" ] || echo "$l"
  done | sort | tr '\n' ' '
}

# on, one worker per CPU: CPU C0's connections all reach worker 0.
run_with on ${#CPUS[@]}
grep -q "cpu_affinity: one worker on each of CPUs $(IFS=,; echo "${CPUS[*]}")" "$T/certad.log" || { cat "$T/certad.log" >&2; fail "plan not logged"; }
[ "$(workers_for "$C0" 12)" = "worker=0 " ] || fail "CPU $C0's connections went to: $(workers_for "$C0" 12)"
[ "$(workers_for "$C1" 12)" = "worker=1 " ] || fail "CPU $C1's connections went to: $(workers_for "$C1" 12)"
want=$(printf '%s\n' "${CPUS[@]}" | sort | tr '\n' ' ')
[ "$(pinned_threads)" = "$want" ] || fail "pinned threads: '$(pinned_threads)', want one on each of '$want'"
ok "on: each worker keeps to its CPU and serves the connections that CPU receives"

# A reload cannot change it: refused, logged, still pinned and steering.
sed -i 's/^cpu_affinity = on/cpu_affinity = off/' "$T/certad.conf"
kill -HUP "$CERTAD_PID"
log_wait "$T/certad.log" 'reload failed.*cpu_affinity change only on restart' || fail "reload changing cpu_affinity not refused"
[ "$(workers_for "$C1" 6)" = "worker=1 " ] || fail "steering lost after a refused reload"
[ "$(pinned_threads)" = "$want" ] || fail "pinning lost after a refused reload"
stop_certad
ok "a reload that changes cpu_affinity is refused and changes nothing"

# More workers than CPUs: no pinning, the kernel's hash.
n=${#CPUS[@]}
run_with on $((2 * n))
grep -q 'level=warn msg="cpu_affinity: on, but not one worker on each of 2 to 64 CPUs' "$T/certad.log" || fail "more workers than CPUs not logged"
[ -z "$(pinned_threads)" ] || fail "threads pinned with two workers per CPU: $(pinned_threads)"
got=$(workers_for "$C0" 40)
[ "$(wc -w <<<"$got")" -ge 2 ] || fail "with the kernel's hash, 40 connections from one CPU reached only $got"
stop_certad
ok "more workers than CPUs: nothing pinned, the kernel spreads connections"

# The default (off), from a config file and from the command line: no
# pinning; connections from one CPU spread over the workers.
for how in default flag; do
  if [ $how = default ]; then
    run_with - 2
  else
    port=$(free_port)
    url=http://127.0.0.1:$port
    : >"$T/certad.log"
    start_certad "$url" --dir "$T/ca" --listen "127.0.0.1:$port" --workers 2 --cpu-affinity off
  fi
  ! grep -q 'cpu_affinity' "$T/certad.log" || fail "$how: cpu_affinity logged while off"
  [ -z "$(pinned_threads)" ] || fail "$how: threads pinned with cpu_affinity off: $(pinned_threads)"
  [ "$(workers_for "$C0" 40)" = "worker=0 worker=1 " ] || fail "$how: 40 connections from one CPU reached one worker only"
  stop_certad
done
ok "off (the default): nothing pinned, the kernel spreads connections"

# --cpu-affinity on does what the config key does.
port=$(free_port)
url=http://127.0.0.1:$port
: >"$T/certad.log"
start_certad "$url" --dir "$T/ca" --listen "127.0.0.1:$port" --workers "$n" --cpu-affinity on
[ "$(workers_for "$C1" 8)" = "worker=1 " ] || fail "--cpu-affinity on: CPU $C1's connections went elsewhere"
[ "$(pinned_threads)" = "$want" ] || fail "--cpu-affinity on: pinned threads '$(pinned_threads)'"
stop_certad
ok "--cpu-affinity on"

# A bad value: startup fails with one line naming it; nothing listens.
port=$(free_port)
printf '[server]\nlisten = 127.0.0.1:%s\ncpu_affinity = sometimes\n[ca]\ndir = ca\n' "$port" >"$T/bad.conf"
rc=0
"$CERTAD" --config "$T/bad.conf" 2>"$T/bad.err" || rc=$?
[ $rc = 1 ] || fail "certad with cpu_affinity = sometimes exited $rc"
[ "$(wc -l <"$T/bad.err")" = 1 ] || { cat "$T/bad.err" >&2; fail "expected one line on stderr"; }
grep -q 'cpu_affinity = sometimes: want on or off' "$T/bad.err" || fail "error: $(cat "$T/bad.err")"
! curl -s -o /dev/null "http://127.0.0.1:$port/healthz" || fail "something listens after a refused start"
rc=0
"$CERTAD" --dir "$T/ca" --listen "127.0.0.1:$port" --cpu-affinity sometimes 2>"$T/bad.err" || rc=$?
[ $rc = 2 ] || fail "--cpu-affinity sometimes exited $rc"
grep -q -- '--cpu-affinity sometimes: want on or off' "$T/bad.err" || fail "error: $(cat "$T/bad.err")"
! curl -s -o /dev/null "http://127.0.0.1:$port/healthz" || fail "something listens after a refused --cpu-affinity"
ok "cpu_affinity = sometimes and --cpu-affinity sometimes are refused at startup"
