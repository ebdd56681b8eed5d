#!/usr/bin/env bash
# `make demo`: NATS, a hub and one enrolled agent on this machine, run from source, with all
# state in .keyfleet/ of the checkout. The first run initialises everything; later runs reuse
# it. Ctrl-C stops agent, hub and NATS in that order.
set -euo pipefail
umask 077

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
state=.keyfleet
NATS_SERVER_VERSION=v2.15.2
HUB_PORT=7420
hub_url=http://127.0.0.1:$HUB_PORT

say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }
die() {
  printf '\033[1;31mdemo: %s\033[0m\n' "$*" >&2
  exit 1
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# --- tools -------------------------------------------------------------------------------
command -v node >/dev/null || die "node (20.19+) is required"
command -v curl >/dev/null || die "curl is required"
if ! command -v pnpm >/dev/null; then
  say "installing pnpm"
  npm install -g pnpm@10
fi
if [ ! -d node_modules ]; then
  say "installing dependencies (pnpm install)"
  pnpm install
fi

nats_version_ok() { # Debian's 2.9 lacks features Keyfleet uses.
  local v
  v=$("$1" --version 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -1) || return 1
  [ "$(printf '%s\nv2.10.0\n' "$v" | sort -V | head -1)" = "v2.10.0" ]
}
gobin="${GOPATH:-$HOME/go}/bin"
nats_server=""
for candidate in "${KEYFLEET_NATS_SERVER:-}" "$gobin/nats-server" "$(command -v nats-server || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && nats_version_ok "$candidate"; then
    nats_server=$candidate
    break
  fi
done
if [ -z "$nats_server" ]; then
  command -v go >/dev/null || die "nats-server 2.10+ not found and Go is missing to build it: install Go, or put nats-server on PATH"
  say "installing nats-server $NATS_SERVER_VERSION (go install, takes a few minutes once)"
  go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
  nats_server="$(go env GOPATH)/bin/nats-server"
fi

# --- not twice ---------------------------------------------------------------------------
mkdir -p "$state/logs" "$state/run"
for pidfile in "$state"/run/*.pid; do
  [ -e "$pidfile" ] || continue
  if kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    die "a demo is already running ($(basename "$pidfile" .pid) pid $(cat "$pidfile")); stop it with Ctrl-C, or: kill $(cat "$state"/run/*.pid | tr '\n' ' ')"
  fi
  rm -f "$pidfile"
done
port_in_use "$HUB_PORT" && die "port $HUB_PORT is in use by another program; the demo hub needs it"

# --- processes ---------------------------------------------------------------------------
pids=()
names=()
# setsid: children get their own session, so the terminal's Ctrl-C reaches only this script,
# which then stops them in order (it does not fork here, so $! is the process itself).
start() {
  local name=$1
  shift
  setsid "$@" >>"$state/logs/$name.log" 2>&1 </dev/null &
  pids+=("$!")
  names+=("$name")
  echo "$!" >"$state/run/$name.pid"
}
stop_all() {
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    if kill -0 "$pid" 2>/dev/null; then
      say "stopping ${names[$i]}"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$state/run/${names[$i]}.pid"
  done
  pids=()
}
on_signal() {
  echo
  stop_all
  say "stopped"
  exit 0
}
on_exit() {
  local rc=$?
  stop_all
  exit "$rc"
}
trap on_signal INT TERM
trap on_exit EXIT

alive() { kill -0 "${pids[$1]}" 2>/dev/null; }
# Waits for a TCP port, failing early (with the log) if the process dies.
wait_port() {
  local index=$1 port=$2
  for _ in $(seq 600); do
    port_in_use "$port" && return 0
    alive "$index" || die "${names[$index]} exited; last lines of $state/logs/${names[$index]}.log:
$(tail -n 20 "$state/logs/${names[$index]}.log")"
    sleep 0.1
  done
  die "${names[$index]} did not listen on port $port within 60s; see $state/logs/${names[$index]}.log"
}

# --- NATS --------------------------------------------------------------------------------
if [ ! -f "$state/nats/keys.json" ]; then
  say "creating NATS operator and accounts in $state/nats"
  node --import tsx apps/hub/src/main.ts nats-init --dir "$state/nats"
fi
nats_port=$(cat "$state/nats-port" 2>/dev/null || echo 4222)
if port_in_use "$nats_port"; then
  taken=$nats_port
  nats_port=$(free_port)
  say "port $taken is taken; NATS uses $nats_port (remembered in $state/nats-port)"
fi
echo "$nats_port" >"$state/nats-port"
printf 'include "nats/auth.conf"\nhost: 127.0.0.1\nport: %s\n' "$nats_port" >"$state/nats.conf"
nats_url=nats://127.0.0.1:$nats_port
start nats "$nats_server" -c "$state/nats.conf"
wait_port 0 "$nats_port"
say "NATS listening on $nats_url"

# --- hub ---------------------------------------------------------------------------------
first_hub_start=false
[ -d "$state/hub-db" ] || first_hub_start=true
if ! $first_hub_start && [ ! -s "$state/admin-token" ]; then
  die "$state/hub-db exists but $state/admin-token does not (an interrupted first run?); remove $state to start over"
fi
hub_log_offset=$(stat -c %s "$state/logs/hub.log" 2>/dev/null || echo 0)
# Run with node directly (not pnpm exec / tsx CLI) so signals reach the hub process itself.
start hub env -u DATABASE_URL KEYFLEET_DATA_DIR="$state/hub-db" \
  KEYFLEET_HTTP_HOST=127.0.0.1 KEYFLEET_HTTP_PORT="$HUB_PORT" \
  NATS_URL="$nats_url" NATS_CREDS="$state/nats/hub.creds" KEYFLEET_NATS_AUTH_DIR="$state/nats" \
  KEYFLEET_NATS_PUBLIC_URL="$nats_url" \
  node --import tsx apps/hub/src/main.ts serve
wait_port 1 "$HUB_PORT"
if $first_hub_start; then
  admin_token=""
  for _ in $(seq 50); do
    admin_token=$(tail -c +"$((hub_log_offset + 1))" "$state/logs/hub.log" | grep -o 'initial admin token: kf_[A-Za-z0-9_-]*' | head -1 | sed 's/^initial admin token: //') || true
    [ -n "$admin_token" ] && break
    sleep 0.1
  done
  [ -n "$admin_token" ] || die "the hub did not print 'initial admin token: kf_...' on its first start; see $state/logs/hub.log"
  printf '%s\n' "$admin_token" >"$state/admin-token"
  chmod 600 "$state/admin-token"
fi
admin_token=$(cat "$state/admin-token")
say "hub listening on $hub_url"

# The CLI finds this file when run through ./keyfleet (KEYFLEET_REPO_DIR).
printf '{"hub":"%s","token":"%s"}\n' "$hub_url" "$admin_token" >"$state/cli.json"
chmod 600 "$state/cli.json"

# --- agent -------------------------------------------------------------------------------
if [ ! -f "$state/agent-enrolled" ]; then
  say "enrolling a local agent (label env=demo)"
  # The admin token goes to curl through stdin, never on a command line (ps shows those).
  response=$(printf 'header = "Authorization: Bearer %s"\n' "$admin_token" |
    curl -sS --fail-with-body -K - -X POST -H 'content-type: application/json' \
      -d '{"labels":{"env":"demo"}}' "$hub_url/v1/enrollment-tokens") ||
    die "creating an enrollment token failed: $response"
  enroll_token=$(printf '%s' "$response" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const t=JSON.parse(s).token;if(!t)process.exit(1);console.log(t)})') ||
    die "unexpected answer from POST /v1/enrollment-tokens (no token field)"
  node --import tsx apps/agent/src/main.ts enroll --hub "$hub_url" --token "$enroll_token" \
    --label env=demo --state-dir "$state/agent" >>"$state/logs/agent.log" 2>&1 ||
    die "agent enrollment failed; last lines of $state/logs/agent.log:
$(tail -n 20 "$state/logs/agent.log")"
  touch "$state/agent-enrolled"
fi
# NATS may have moved to another port since enrollment; tell the agent where it is now.
start agent env KEYFLEET_NATS_URL="$nats_url" node --import tsx apps/agent/src/main.ts run --state-dir "$state/agent"

cat <<EOF

  Keyfleet demo is running.
    hub          $hub_url
    admin token  $admin_token   (also in $state/admin-token)
    logs         $state/logs/{nats,hub,agent}.log

  Try, in another terminal:
    ./keyfleet hosts list
    ./keyfleet tasks run system.info --target env=demo --wait
    ./keyfleet --help

  Ctrl-C stops everything; \`make demo\` again resumes with the same state.

EOF

# Runs until Ctrl-C, or until one of the processes dies (then the others are stopped too).
while true; do
  for i in "${!pids[@]}"; do
    if ! alive "$i"; then
      wait "${pids[$i]}" && rc=0 || rc=$?
      die "${names[$i]} exited ($rc); last lines of $state/logs/${names[$i]}.log:
$(tail -n 20 "$state/logs/${names[$i]}.log")"
    fi
  done
  sleep 1 &
  wait $! || true
done
