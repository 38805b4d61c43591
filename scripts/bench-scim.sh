#!/usr/bin/env bash
# make bench-scim: cmd/scimload against `oktasync serve` on a fresh PostgreSQL database
# (created here and dropped afterwards, never ANALYZEd), on a fresh SQLite file, and
# against scimload's two in-memory SCIM peers: "memory" (a map behind bare HTTP, no SCIM
# library) and "elimity" (a SCIM server on github.com/elimity-com/scim with Users in
# maps); then each target's total req/s and its ratios to both peers.
#
# PostgreSQL: OKTASYNC_BENCH_POSTGRES_URL, else OKTASYNC_TEST_POSTGRES_URL (a database
# whose user may CREATE DATABASE); without either the PostgreSQL run is skipped.
# Knobs: USERS (20000), CLIENTS (16), DURATION (15s), MIX (lookup=80,create=10,deactivate=10),
# BENCH_PORT (18480: one port per target, consecutive), TARGETS (postgres sqlite memory elimity),
# PROFILE=1 (a CPU profile of each serve during the timed run, and its top lines).
set -euo pipefail
BIN=${BIN:-bin}
USERS=${USERS:-20000}
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-15s}
MIX=${MIX:-lookup=80,create=10,deactivate=10}
BENCH_PORT=${BENCH_PORT:-18480}
TARGETS=${TARGETS:-postgres sqlite memory elimity}
PGURL=${OKTASYNC_BENCH_POSTGRES_URL:-${OKTASYNC_TEST_POSTGRES_URL:-}}

work=$(mktemp -d)
pid=""
pgdb=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$pgdb" ]; then psql -q "$PGURL" -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME PORT CMD...: runs a server, waits for its token line, sets pid and token.
start() {
  local name=$1 port=$2; shift 2
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  for _ in $(seq 1 100); do
    if grep -q "API token:" "$work/$name.out"; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "bench-scim: $name server exited:" >&2; cat "$work/$name.err" >&2; exit 1; fi
    sleep 0.1
  done
  token=$(awk '/API token:/ {print $NF}' "$work/$name.out")
  [ -n "$token" ] || { echo "bench-scim: $name server printed no token" >&2; exit 1; }
}

stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }

declare -A rps
load() {
  local name=$1 port=$2 profiler=${3:-}
  echo "== $name"
  OKTASYNC_SCIM_TOKEN=$token "$BIN/scimload" --url "http://127.0.0.1:$port/scim/v2" --users "$USERS" \
    --clients "$CLIENTS" --duration "$DURATION" --mix "$MIX" >"$work/$name.load" 2>"$work/$name.progress" &
  local lpid=$!
  if [ -n "$profiler" ]; then
    until grep -q "timed run started" "$work/$name.progress" 2>/dev/null || ! kill -0 "$lpid" 2>/dev/null; do sleep 0.2; done
    local secs=${DURATION%s}
    secs=$(( ${secs%.*} / 2 > 0 ? ${secs%.*} / 2 : 1 ))
    curl -s -o "$work/$name.prof" "http://$profiler/debug/pprof/profile?seconds=$secs" || true
  fi
  wait "$lpid" || true
  cat "$work/$name.load"
  grep -i "scimload:" "$work/$name.progress" >&2 || true
  rps[$name]=$(awk '$1 == "total:" {print $3}' "$work/$name.load")
  if [ -n "$profiler" ] && [ -s "$work/$name.prof" ]; then
    echo "-- CPU profile of serve ($name), top by flat time:"
    go tool pprof -top -nodecount=15 "$BIN/oktasync" "$work/$name.prof" 2>/dev/null | sed -n '4,22p'
  fi
  echo
}

# serve_env NAME DBURL PORT: the environment of a serve under test.
serve_env() {
  local prof=""
  if [ "${PROFILE:-}" = 1 ]; then prof="OKTASYNC_METRICS_LISTEN=127.0.0.1:$(( $3 + 100 ))"; fi
  echo "OKTASYNC_DB=$2 OKTASYNC_LISTEN=127.0.0.1:$3 $prof"
}
profiler() { if [ "${PROFILE:-}" = 1 ]; then echo "127.0.0.1:$(( $1 + 100 ))"; fi; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)"
echo "load: $USERS users seeded through SCIM, $CLIENTS clients, $DURATION, mix $MIX"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
port=$BENCH_PORT
for t in $TARGETS; do
  case $t in
  postgres)
    if [ -z "$PGURL" ]; then echo "== postgres: skipped (set OKTASYNC_BENCH_POSTGRES_URL or OKTASYNC_TEST_POSTGRES_URL)"; echo; continue; fi
    pgdb="oktasync_bench_$$"
    psql -q "$PGURL" -v ON_ERROR_STOP=1 -c "CREATE DATABASE $pgdb" >/dev/null
    if [[ $PGURL =~ ^(postgres(ql)?://[^/]*)/[^?]*(\?.*)?$ ]]; then
      url="${BASH_REMATCH[1]}/$pgdb${BASH_REMATCH[3]}"
    else
      echo "bench-scim: cannot read the database name in the PostgreSQL URL" >&2; exit 2
    fi
    start postgres "$port" env $(serve_env postgres "$url" "$port") "$BIN/oktasync" serve
    load postgres "$port" "$(profiler "$port")"
    stop
    ;;
  sqlite)
    start sqlite "$port" env $(serve_env sqlite "sqlite:$work/bench.db" "$port") "$BIN/oktasync" serve
    load sqlite "$port" "$(profiler "$port")"
    stop
    ;;
  memory)
    start memory "$port" "$BIN/scimload" --serve-memory "127.0.0.1:$port"
    load memory "$port"
    stop
    ;;
  elimity)
    start elimity "$port" "$BIN/scimload" --serve-elimity "127.0.0.1:$port"
    load elimity "$port"
    stop
    ;;
  *) echo "bench-scim: unknown target $t" >&2; exit 2 ;;
  esac
  port=$((port + 1))
done

# Ratios to each peer that ran: memory is a map behind bare HTTP (no SCIM processing),
# elimity a SCIM server on github.com/elimity-com/scim (the peer issue 11's targets were
# set against).
echo "== total req/s and ratios to the peers (memory: map behind bare HTTP; elimity: github.com/elimity-com/scim in memory)"
for t in $TARGETS; do
  [ -n "${rps[$t]:-}" ] || continue
  line=$(printf "%-9s %8.0f req/s" "$t" "${rps[$t]}")
  for p in memory elimity; do
    [ -n "${rps[$p]:-}" ] || continue
    line+=$(awk -v a="${rps[$t]}" -v m="${rps[$p]}" -v p="$p" 'BEGIN { printf "  %5.2fx %s", a / m, p }')
  done
  echo "$line"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
