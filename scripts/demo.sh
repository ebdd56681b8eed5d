#!/usr/bin/env bash
# `make demo`: NATS, a hub and one enrolled agent on this machine, run from source, then the
# main job: a Postgres cluster for Keycloak, and Keycloak installed by the agent through the hub
# with a sample realm, verified by a real login (scripts/demo-keycloak.sh, in the background so
# the hub is usable meanwhile). All state is in .keyfleet/ of the checkout; later runs reuse it.
# Ctrl-C stops Keycloak, the agent, the hub, NATS and Postgres, in that order.
#   KEYFLEET_DEMO_RUNTIME=process|docker   skip the automatic runtime choice
#   KEYFLEET_DEMO_KEYCLOAK=0               only hub, NATS and agent (no Postgres, no Keycloak)
set -euo pipefail
umask 077

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# Absolute paths: the agent and Keycloak run from other working directories.
state="$repo/.keyfleet"
rel=.keyfleet
NATS_SERVER_VERSION=v2.15.2
HUB_PORT=7420
hub_url=http://127.0.0.1:$HUB_PORT
started=$(date +%s)

say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }
die() {
  printf '\033[1;31mdemo: %s\033[0m\n' "$*" >&2
  exit 1
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# --- tools (make demo ran scripts/setup.sh already) ----------------------------------------
[ "${KEYFLEET_SETUP_DONE:-}" = 1 ] || bash scripts/setup.sh </dev/null
command -v curl >/dev/null || die "curl is required (bash scripts/setup.sh installs it)"
export PATH="$PATH:/usr/local/go/bin"
gobin="$(go env GOPATH 2>/dev/null </dev/null | cut -d: -f1)"
gobin="${gobin:-${GOPATH:-$HOME/go}}/bin"
nats_version_ok() {
  local v
  v=$("$1" --version 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -1) || return 1
  [ "$(printf '%s\n%s\n' "${v#v}" "${NATS_SERVER_VERSION#v}" | sort -V | head -1)" = "${NATS_SERVER_VERSION#v}" ]
}
nats_server=""
for candidate in "${KEYFLEET_NATS_SERVER:-}" "$gobin/nats-server" "$(command -v nats-server || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && nats_version_ok "$candidate"; then
    nats_server=$candidate
    break
  fi
done
[ -n "$nats_server" ] || die "no nats-server >= $NATS_SERVER_VERSION found; run bash scripts/setup.sh (or make demo, which runs it)"

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
signals=()
kc_job=""
# setsid: children get their own session, so the terminal's Ctrl-C reaches only this script,
# which then stops them in order (it does not fork here, so $! is the process itself and the
# leader of its process group).
start() { # start <name> <stop signal> <command...>
  local name=$1 signal=$2
  shift 2
  setsid "$@" >>"$state/logs/$name.log" 2>&1 </dev/null &
  pids+=("$!")
  names+=("$name")
  signals+=("$signal")
  echo "$!" >"$state/run/$name.pid"
}
index_of() {
  local i
  for i in "${!names[@]}"; do [ "${names[$i]}" = "$1" ] && echo "$i" && return 0; done
  return 1
}
alive() { kill -0 "${pids[$1]}" 2>/dev/null; }
is_alive() { local i; i=$(index_of "$1") && alive "$i"; }
stop_one() {
  local i=$1 pid=${pids[$1]}
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping ${names[$i]}"
    kill "-${signals[$i]}" "$pid" 2>/dev/null || true
    for _ in $(seq 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  # Whatever the process left in its group (a build it ran, say) goes with it.
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$state/run/${names[$i]}.pid"
}

# Keycloak runs detached from the agent (it outlives agent restarts, as in production), so
# stopping the demo stops it explicitly: through the hub when it can, else by its pid file.
kc_pidfile="$state/agent/keycloak/keycloak.pid"
keycloak_pid() { sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$kc_pidfile" 2>/dev/null || true; }
stop_keycloak() {
  local job_running=false pid
  if [ -n "$kc_job" ] && kill -0 "$kc_job" 2>/dev/null; then
    job_running=true
    kill -TERM -- "-$kc_job" 2>/dev/null || true
    wait "$kc_job" 2>/dev/null || true
  fi
  kc_job=""
  [ -s "$state/demo/keycloak.yaml" ] || return 0
  # With an install still in flight the agent's shutdown aborts it; a stop task would race it.
  if ! $job_running && is_alive agent && is_alive hub; then
    say "stopping Keycloak (./keyfleet keycloak stop --target env=demo --wait)"
    timeout 150 ./keyfleet keycloak stop --target env=demo --wait </dev/null >>"$state/logs/keycloak-setup.log" 2>&1 ||
      say "keycloak stop did not succeed (see $rel/logs/keycloak-setup.log); stopping it directly"
  fi
  return 0
}
# After the agent is gone: nothing of the demo's Keycloak may be left running.
reap_keycloak() {
  local pid
  pid=$(keycloak_pid)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qs "$state" "/proc/$pid/cmdline"; then
    say "stopping Keycloak (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  if grep -qs 'runtime: docker' "$state/demo/keycloak.yaml" && command -v docker >/dev/null; then
    local running
    running=$(docker ps -q --filter label=keyfleet.instance 2>/dev/null || true)
    [ -z "$running" ] || say "still running (docker runtime): containers $(echo "$running" | tr '\n' ' ')— stop them with: docker stop \$(docker ps -q --filter label=keyfleet.instance)"
  fi
}
stop_all() {
  local i
  # Stopping must get through every step, whatever fails on the way.
  set +e
  stop_keycloak
  # Reverse start order, except Postgres: it goes last, after everything that may use it.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    [ "${names[$i]}" = postgres ] || stop_one "$i"
  done
  reap_keycloak
  if i=$(index_of postgres); then stop_one "$i"; fi
  pids=()
  names=()
}
on_signal() {
  echo
  trap - INT TERM
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

# Waits for a TCP port, failing early (with the log) if the process dies.
wait_port() {
  local index=$1 port=$2
  for _ in $(seq 600); do
    port_in_use "$port" && return 0
    alive "$index" || die "${names[$index]} exited; last lines of $rel/logs/${names[$index]}.log:
$(tail -n 20 "$state/logs/${names[$index]}.log")"
    sleep 0.1
  done
  die "${names[$index]} did not listen on port $port within 60s; see $rel/logs/${names[$index]}.log"
}

# --- NATS --------------------------------------------------------------------------------
if [ ! -f "$state/nats/keys.json" ]; then
  say "creating NATS operator and accounts in $rel/nats"
  node --import tsx apps/hub/src/main.ts nats-init --dir "$state/nats"
elif ! grep -q '^  type: full' "$state/nats/auth.conf"; then
  say "upgrading $rel/nats to the account resolver that lets the hub revoke agents (keys kept)"
  node --import tsx apps/hub/src/main.ts nats-init --dir "$state/nats" --upgrade
fi
nats_port=$(cat "$state/nats-port" 2>/dev/null || echo 4222)
if port_in_use "$nats_port"; then
  taken=$nats_port
  nats_port=$(free_port)
  say "port $taken is taken; NATS uses $nats_port (remembered in $rel/nats-port)"
fi
echo "$nats_port" >"$state/nats-port"
printf 'include "nats/auth.conf"\nhost: 127.0.0.1\nport: %s\nmax_payload: 4MB\n' "$nats_port" >"$state/nats.conf"
nats_url=nats://127.0.0.1:$nats_port
start nats TERM "$nats_server" -c "$state/nats.conf"
wait_port "$(index_of nats)" "$nats_port"
say "NATS listening on $nats_url"

# --- hub ---------------------------------------------------------------------------------
first_hub_start=false
[ -d "$state/hub-db" ] || first_hub_start=true
if ! $first_hub_start && [ ! -s "$state/admin-token" ]; then
  die "$rel/hub-db exists but $rel/admin-token does not (an interrupted first run?); remove $rel to start over"
fi
hub_log_offset=$(stat -c %s "$state/logs/hub.log" 2>/dev/null || echo 0)
# Run with node directly (not pnpm exec / tsx CLI) so signals reach the hub process itself.
start hub TERM env -u KEYFLEET_DATABASE_URL KEYFLEET_DATA_DIR="$state/hub-db" \
  KEYFLEET_HTTP_HOST=127.0.0.1 KEYFLEET_HTTP_PORT="$HUB_PORT" \
  KEYFLEET_NATS_URL="$nats_url" KEYFLEET_NATS_CREDS="$state/nats/hub.creds" KEYFLEET_NATS_AUTH_DIR="$state/nats" \
  KEYFLEET_NATS_PUBLIC_URL="$nats_url" \
  node --import tsx apps/hub/src/main.ts serve
wait_port "$(index_of hub)" "$HUB_PORT"
if $first_hub_start; then
  admin_token=""
  for _ in $(seq 50); do
    admin_token=$(tail -c +"$((hub_log_offset + 1))" "$state/logs/hub.log" | grep -o 'initial admin token: kf_[A-Za-z0-9_-]*' | head -1 | sed 's/^initial admin token: //') || true
    [ -n "$admin_token" ] && break
    sleep 0.1
  done
  [ -n "$admin_token" ] || die "the hub did not print 'initial admin token: kf_...' on its first start; see $rel/logs/hub.log"
  printf '%s\n' "$admin_token" >"$state/admin-token"
  chmod 600 "$state/admin-token"
  # The hub prints its first admin token once; from now on it lives only in that 0600 file. The
  # bytes are overwritten in place (same length), as the hub keeps appending to the log.
  # shellcheck disable=SC2016 # a JavaScript template literal, not shell
  KF_SECRET=$admin_token node -e '
    const fs = require("node:fs");
    const secret = Buffer.from(process.env.KF_SECRET);
    const mask = Buffer.from(`kf_${"*".repeat(secret.length - 3)}`);
    const buf = fs.readFileSync(process.argv[1]);
    const fd = fs.openSync(process.argv[1], "r+");
    for (let i = buf.indexOf(secret); i >= 0; i = buf.indexOf(secret, i + 1)) fs.writeSync(fd, mask, 0, mask.length, i);
    fs.closeSync(fd);
  ' "$state/logs/hub.log"
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
  # The single-use token goes through the environment, not the process list.
  KEYFLEET_ENROLL_TOKEN=$enroll_token node --import tsx apps/agent/src/main.ts enroll --hub "$hub_url" \
    --label env=demo --state-dir "$state/agent" </dev/null >>"$state/logs/agent.log" 2>&1 ||
    die "agent enrollment failed; last lines of $rel/logs/agent.log:
$(tail -n 20 "$state/logs/agent.log")"
  touch "$state/agent-enrolled"
fi
# NATS may have moved to another port since enrollment; tell the agent where it is now.
start agent TERM env KEYFLEET_NATS_URL="$nats_url" node --import tsx apps/agent/src/main.ts run --state-dir "$state/agent"

cat <<EOF

  Keyfleet hub is up (Keycloak is being set up below; the hub is usable meanwhile).
    hub          $hub_url
    admin token  in $rel/admin-token (./keyfleet reads $rel/cli.json)
    logs         $rel/logs/{nats,hub,agent,postgres,keycloak-setup}.log

  Try, in another terminal:
    ./keyfleet hosts list
    ./keyfleet tasks run system.info --target env=demo --wait
    ./keyfleet --help

EOF

# --- Postgres for Keycloak ------------------------------------------------------------------
# A real cluster from this machine's Postgres binaries, in $rel/postgres: socket in a 0700 dir
# (trusted only there), TCP on loopback with password (scram-sha-256) auth. As root it runs as
# the system user postgres (Postgres refuses root), which then needs to pass through $rel.
db=dev-file
db_note=""
pg_port=""
pg_dir="$state/postgres"
pg_log="$state/logs/postgres.log"
pg_fail() {
  db_note=$1
  say "Postgres: $1 — Keycloak falls back to dev-file$([ -s "$pg_log" ] && echo " (see $rel/logs/postgres.log)")"
}
find_pg_bin() { # KEYFLEET_PG_BIN_DIR when set (as in the tests), else 15, else the newest installed
  local d dirs=("${KEYFLEET_PG_BIN_DIR:-}")
  [ -n "${KEYFLEET_PG_BIN_DIR:-}" ] || mapfile -t dirs < <(printf '%s\n' /usr/lib/postgresql/15/bin; printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  for d in "${dirs[@]}"; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}
start_postgres() {
  local pg_bin psql as_pg=()
  pg_bin=$(find_pg_bin) || {
    pg_fail "no Postgres binaries (apt-get install postgresql, or set KEYFLEET_PG_BIN_DIR)"
    return
  }
  psql="$pg_bin/psql"
  [ -x "$psql" ] || psql=$(command -v psql) || {
    pg_fail "psql is missing"
    return
  }
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
    as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
    # Only traversal: every file in $rel stays 0600/0700 and root's.
    chmod 711 "$state"
    if ! "${as_pg[@]}" test -x "$state"; then
      pg_fail "the postgres user cannot reach $state (a parent directory is closed to it)"
      return
    fi
  fi
  if [ ! -s "$pg_dir/data/PG_VERSION" ]; then
    say "creating a Postgres cluster in $rel/postgres ($("$pg_bin/postgres" --version))"
    rm -rf "$pg_dir"
    mkdir -p "$pg_dir/data" "$pg_dir/run"
    [ ${#as_pg[@]} -eq 0 ] || chown -R postgres:postgres "$pg_dir"
    if ! env LC_ALL=C "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 --no-instructions </dev/null >>"$pg_log" 2>&1; then
      pg_fail "initdb failed"
      return
    fi
  fi
  pg_port=$(cat "$state/postgres-port" 2>/dev/null || free_port)
  if port_in_use "$pg_port"; then
    say "port $pg_port is taken; Postgres moves to another one (Keycloak's config follows)"
    pg_port=$(free_port)
  fi
  echo "$pg_port" >"$state/postgres-port"
  start postgres INT env LC_ALL=C "${as_pg[@]}" "$pg_bin/postgres" -D "$pg_dir/data" -k "$pg_dir/run" -p "$pg_port" \
    -c listen_addresses=127.0.0.1 -c unix_socket_permissions=0700
  local ready=false
  for _ in $(seq 300); do
    if "$pg_bin/pg_isready" -q -h "$pg_dir/run" -p "$pg_port" </dev/null 2>/dev/null; then
      ready=true
      break
    fi
    is_alive postgres || break
    sleep 0.1
  done
  if ! $ready; then
    stop_one "$(index_of postgres)"
    pg_fail "Postgres did not start: $(tail -n 3 "$pg_log" | tr '\n' ' ')"
    return
  fi
  # Keycloak's role and database; the password comes from a 0600 file, through psql's stdin.
  if [ ! -s "$state/postgres-password" ]; then
    head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n=' >"$state/postgres-password"
  fi
  chmod 600 "$state/postgres-password"
  # Restore drills create and drop a scratch database of their own: a role that may do only that.
  [ -s "$state/drill-password" ] || head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n=' >"$state/drill-password"
  chmod 600 "$state/drill-password"
  if ! "$psql" -X -q -v ON_ERROR_STOP=1 -h "$pg_dir/run" -p "$pg_port" -U postgres -d postgres >>"$pg_log" 2>&1 <<SQL; then
\\set pw \`cat '$state/postgres-password'\`
SELECT 'CREATE ROLE keycloak' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'keycloak')\\gexec
ALTER ROLE keycloak WITH LOGIN PASSWORD :'pw';
SELECT 'CREATE DATABASE keycloak OWNER keycloak' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'keycloak')\\gexec
\\set drillpw \`cat '$state/drill-password'\`
SELECT 'CREATE ROLE keyfleet_drill' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'keyfleet_drill')\\gexec
ALTER ROLE keyfleet_drill WITH LOGIN CREATEDB PASSWORD :'drillpw';
SQL
    pg_fail "creating Keycloak's role and database failed"
    return
  fi
  db=postgres
  say "Postgres listening on 127.0.0.1:$pg_port (database keycloak, user keycloak, password in $rel/postgres-password)"
}

if [ "${KEYFLEET_DEMO_KEYCLOAK:-1}" != 0 ]; then
  start_postgres
  # Its own session, like the servers: Ctrl-C reaches only this script, which then ends the job.
  KF_DEMO_STATE=$state KF_DEMO_DB=$db KF_DEMO_DB_PORT=$pg_port KF_DEMO_DB_NOTE=$db_note KF_DEMO_STARTED=$started \
    setsid bash scripts/demo-keycloak.sh </dev/null &
  kc_job=$!
fi

# Runs until Ctrl-C, or until one of the processes dies (then the others are stopped too).
while true; do
  for i in "${!pids[@]}"; do
    if ! alive "$i"; then
      wait "${pids[$i]}" && rc=0 || rc=$?
      die "${names[$i]} exited ($rc); last lines of $rel/logs/${names[$i]}.log:
$(tail -n 20 "$state/logs/${names[$i]}.log")"
    fi
  done
  if [ -n "$kc_job" ] && ! kill -0 "$kc_job" 2>/dev/null; then
    wait "$kc_job" && rc=0 || rc=$?
    kc_job=""
    [ "$rc" -eq 0 ] || say "Keycloak is not set up (above); hub, NATS and the agent keep running. Ctrl-C stops everything."
    [ "$rc" -ne 0 ] || say "running; Ctrl-C stops everything, \`make demo\` again resumes with the same state."
  fi
  sleep 1 &
  wait $! || true
done
