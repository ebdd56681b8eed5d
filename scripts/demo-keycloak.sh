#!/usr/bin/env bash
# The Keycloak half of `make demo`, run by scripts/demo.sh in the background once hub, NATS and
# the agent are up (so the hub is usable meanwhile): it has the demo's agent install Keycloak
# through the hub, applies the sample realm, verifies it with a real login, backs it up and proves
# the backup restores (Postgres only), schedules nightly backups and prints where everything is. Everything goes through ./keyfleet, as an operator would do it. Idempotent: a
# re-run finds Keycloak installed (and starts it), the realm in sync, and verifies again.
#
# From demo.sh (environment): KF_DEMO_STATE (absolute .keyfleet), KF_DEMO_DB (postgres |
# dev-file), KF_DEMO_DB_PORT, KF_DEMO_DB_NOTE (why dev-file), KF_DEMO_STARTED (epoch seconds).
# From the user: KEYFLEET_DEMO_RUNTIME (process | docker: skip the automatic choice),
# KEYFLEET_DEMO_IMAGE (docker runtime image), KEYCLOAK_VERSION, KEYFLEET_CACHE.
set -euo pipefail
umask 077

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
state=${KF_DEMO_STATE:?run through scripts/demo.sh}
demo="$state/demo"
rel=${state#"$repo"/}
cache="${KEYFLEET_CACHE:-$HOME/.cache/keyfleet}"
mkdir -p "$demo"

# Output: the terminal (fd 3, for the closing summary), and every line prefixed into it and the log.
exec 3>&1
exec > >(sed -u 's/^/  keycloak │ /' | tee -a "$state/logs/keycloak-setup.log") 2>&1
prefixer=$!

say() { printf '%s\n' "$*"; }
fail() {
  say "FAILED: $*"
  say "the hub, NATS and the agent keep running; fix the cause and run \`make demo\` again"
  exit 1
}
kf() { ./keyfleet "$@" </dev/null; }
new_secret() { # new_secret <file>: 32 random URL-safe characters, created once, 0600
  [ -s "$1" ] || head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n=' >"$1"
  chmod 600 "$1"
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# --- runtime: process with a JDK, else docker with an engine ---------------------------------
# The agent's own choice of JDK (apps/agent: JAVA_HOME, else the newest >= 21, else 17).
java_major() { sed -n 's/^JAVA_VERSION="\(1\.\)\{0,1\}\([0-9]*\).*/\2/p' "$1/release" 2>/dev/null; }
best_jdk="" best_major=0
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
  best_jdk=$JAVA_HOME best_major=$(java_major "$JAVA_HOME")
else
  for home in /usr/lib/jvm/*; do
    [ -x "$home/bin/java" ] && [ ! -L "$home" ] || continue
    major=$(java_major "$home")
    if [ -n "$major" ] && [ "$major" -ge 17 ] && [ "$major" -gt "$best_major" ]; then
      best_jdk=$home best_major=$major
    fi
  done
fi
docker_engine() { command -v docker >/dev/null && docker version --format '{{.Server.Version}}' 2>/dev/null; }

runtime=${KEYFLEET_DEMO_RUNTIME:-}
case "$runtime" in
  process) say "runtime: process (KEYFLEET_DEMO_RUNTIME=process)" ;;
  docker) say "runtime: docker (KEYFLEET_DEMO_RUNTIME=docker)" ;;
  "")
    if [ "$best_major" -ge 17 ]; then
      runtime=process
      say "runtime: process — Java $best_major at $best_jdk, so the agent runs the Keycloak distribution as a supervised process"
      [ "$best_major" -ge 21 ] || say "(Java 17 is deprecated for Keycloak 26; install 21 or 25 when you can)"
    elif engine=$(docker_engine); then
      runtime=docker
      say "runtime: docker — no Java 17+ here, but a Docker engine ($engine) answers"
    else
      say "no Keycloak: the process runtime needs Java 17+ (none in /usr/lib/jvm, JAVA_HOME unset) and the docker runtime a"
      say "Docker engine (none answers). Install one, e.g. apt-get install openjdk-17-jre-headless, and run make demo again."
      exit 3
    fi
    ;;
  *) fail "KEYFLEET_DEMO_RUNTIME must be process or docker, not '$runtime'" ;;
esac

# --- what to install -----------------------------------------------------------------------
dist=$(bash scripts/fetch-keycloak.sh </dev/null) || fail "fetching the Keycloak distribution failed (scripts/fetch-keycloak.sh)"
version=${dist##*/keycloak-}
tarball="$cache/keycloak/keycloak-quarkus-dist-$version.tar.gz"
[ -s "$tarball" ] || fail "$tarball is missing although scripts/fetch-keycloak.sh succeeded"

if [ "$runtime" = docker ]; then
  image=${KEYFLEET_DEMO_IMAGE:-}
  if [ -z "$image" ]; then
    if docker image inspect "keyfleet/keycloak:$version" >/dev/null 2>&1; then
      image="keyfleet/keycloak:$version"
    elif [ "$best_major" -ge 17 ]; then
      # No registry is reachable here: build the image locally from the dist and this JDK.
      say "building keyfleet/keycloak:$version locally (debootstrap + JDK + dist; ~10 minutes the first time)"
      image=$(bash scripts/build-keycloak-image.sh keycloak </dev/null) || fail "building the Keycloak image failed"
    else
      image="quay.io/keycloak/keycloak:$version"
      say "image: $image (the agent pulls it; set KEYFLEET_DEMO_IMAGE for a local one)"
    fi
  fi
fi

# Ports: 8080/9000 when free, else free ones; kept once chosen, so re-runs install the same config.
if [ -s "$demo/keycloak-ports" ]; then
  read -r http_port management_port <"$demo/keycloak-ports"
else
  http_port=8080 management_port=9000
  port_in_use "$http_port" && http_port=$(free_port)
  port_in_use "$management_port" && management_port=$(free_port)
  echo "$http_port $management_port" >"$demo/keycloak-ports"
fi
base_url="http://127.0.0.1:$http_port"

new_secret "$state/keycloak-admin-password"
new_secret "$state/demo-probe-secret"
# Secrets reach the hub on stdin (never an argument), sealed there; configs only name them.
set_secret() { ./keyfleet secrets set "$1" <"$2" >/dev/null || fail "storing secret $1 in the hub failed"; }
set_secret kc-admin "$state/keycloak-admin-password"
set_secret kc-demo-probe "$state/demo-probe-secret"
if [ "${KF_DEMO_DB:-dev-file}" = postgres ]; then
  set_secret kc-db "$state/postgres-password"
  database="{ kind: external, url: \"jdbc:postgresql://127.0.0.1:${KF_DEMO_DB_PORT:?}/keycloak\", username: keycloak, password: { \$secret: kc-db } }"
  say "database: the demo's Postgres on 127.0.0.1:$KF_DEMO_DB_PORT (database keycloak)"
else
  database="{ kind: dev-file }"
  say "database: dev-file (Keycloak's embedded H2) — a FALLBACK: ${KF_DEMO_DB_NOTE:-no Postgres}; backups, restores and side-by-side updates need Postgres"
fi
say "stored secrets kc-admin, kc-demo-probe${KF_DEMO_DB:+$([ "$KF_DEMO_DB" = postgres ] && echo ', kc-db')} in the hub (values from $rel/*-password, $rel/demo-probe-secret)"

{
  echo "# Written by scripts/demo-keycloak.sh on every \`make demo\` (ports and paths are this machine's)."
  echo "version: $version"
  echo "runtime: $runtime"
  if [ "$runtime" = process ]; then echo "distUrl: \"$tarball\""; else echo "image: \"$image\""; fi
  echo "database: $database"
  echo "hostname: \"$base_url\""
  echo "httpPort: $http_port"
  echo "managementPort: $management_port"
  echo "bootstrapAdmin: { username: admin, password: { \$secret: kc-admin } }"
} >"$demo/keycloak.yaml"
[ -s "$demo/realm.yaml" ] || cp scripts/demo/realm.yaml "$demo/realm.yaml"
[ -s "$demo/verify-login.yaml" ] || cp scripts/demo/verify-login.yaml "$demo/verify-login.yaml"

# --- install, realm, verify --------------------------------------------------------------------
say "installing Keycloak $version: ./keyfleet keycloak install --target env=demo --config $rel/demo/keycloak.yaml --wait"
kf keycloak install --target env=demo --config "$demo/keycloak.yaml" --wait || fail "keycloak install failed (above; the agent's log: $rel/logs/agent.log, Keycloak's: $rel/agent/keycloak/keycloak.log)"
say "applying the sample realm: ./keyfleet realm apply --target env=demo --spec $rel/demo/realm.yaml"
kf realm apply --target env=demo --spec "$demo/realm.yaml" || fail "realm apply failed"
say "verifying with a real login: ./keyfleet keycloak verify --target env=demo --login $rel/demo/verify-login.yaml --wait"
kf keycloak verify --target env=demo --login "$demo/verify-login.yaml" --wait || fail "keycloak verify failed"
host_id=$(kf hosts list --selector env=demo -o json | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const b=JSON.parse(s);console.log((b.items??b)[0]?.id??"<host id>")})') || host_id="<host id>"

# --- backups: a recipient, a first backup, its restore drill, a nightly schedule ----------------
backup_note="backups need Postgres (the demo fell back to dev-file)"
if [ "${KF_DEMO_DB:-dev-file}" = postgres ]; then
  identity="$state/demo-backup-identity.txt"
  [ -s "$identity" ] || age-keygen -o "$identity" 2>/dev/null || fail "age-keygen failed (bash scripts/setup.sh installs age)"
  chmod 600 "$identity"
  say "WARNING: $rel/demo-backup-identity.txt opens every demo backup; it is kept here and in the hub for the demo only."
  say "         A real fleet makes identities offline with age-keygen and gives the hub only the public key."
  recipient=$(age-keygen -y "$identity") || fail "reading the demo backup identity failed"
  if ! kf -o json backup-keys list | grep -q "$recipient"; then
    say "adding the backup recipient: ./keyfleet backup-keys add --name demo $recipient"
    kf backup-keys add --name demo "$recipient" >/dev/null || fail "backup-keys add failed"
  fi
  # Only the key line: the file's comments are not part of the identity.
  grep '^AGE-SECRET-KEY-' "$identity" | ./keyfleet secrets set demo-backup-identity >/dev/null || fail "storing the backup identity in the hub failed"
  set_secret demo-drill-db "$state/drill-password"
  say "backing up: ./keyfleet backups run --target env=demo --wait"
  kf backups run --target env=demo --wait || fail "backups run failed"
  backup_id=$(kf -o json backups list --host "$host_id" --limit 1 | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const b=JSON.parse(s);console.log((b.items??b)[0]?.id??"")})')
  [ -n "$backup_id" ] || fail "the backup is not in the catalog"
  scratch="postgres://keyfleet_drill@127.0.0.1:$KF_DEMO_DB_PORT/postgres"
  say "proving it restores: ./keyfleet backups drill $backup_id --on $host_id --identity-secret demo-backup-identity --scratch-url $scratch --scratch-password-secret demo-drill-db --wait"
  kf backups drill "$backup_id" --on "$host_id" --identity-secret demo-backup-identity --scratch-url "$scratch" --scratch-password-secret demo-drill-db --wait ||
    fail "the restore drill failed"
  if ! kf schedules show demo-nightly >/dev/null 2>&1; then
    say "scheduling: ./keyfleet schedules create demo-nightly --cron '0 3 * * *' --selector env=demo --keep-daily 7"
    kf schedules create demo-nightly --cron '0 3 * * *' --selector env=demo --keep-daily 7 >/dev/null || fail "schedules create failed"
  fi
  backup_note="$backup_id verified by a restore drill; schedule demo-nightly backs up env=demo at 03:00 UTC"
fi

# --- hardening: a read-only audit of this host against the keycloak-host profile ---------------
say "auditing this host against the keycloak-host profile (read-only): ./keyfleet hardening audit --target env=demo"
# Failing rules are findings, not a failed demo: the score below says how far the host is.
kf hardening audit --target env=demo || true
score=$(kf -o json hardening show "$host_id" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{console.log(JSON.parse(s).report?.score??"")})') || score=""
hardening_note="no report (the audit's output is above)"
[ -z "$score" ] || hardening_note="score $score; ./keyfleet hardening plan --target env=demo shows what apply would change (nothing changed yet)"

took=""
[ -n "${KF_DEMO_STARTED:-}" ] && took=" ($(($(date +%s) - KF_DEMO_STARTED))s after the demo started)"
if [ "$runtime" = process ]; then
  kc_log="$rel/agent/keycloak/keycloak.log"
else
  kc_log="docker logs <container> (docker ps --filter label=keyfleet.instance)"
fi
# Let the prefixed lines drain before the summary goes straight to the terminal.
exec >&3 2>&3
wait "$prefixer" 2>/dev/null || true
cat <<EOF

  Keycloak is ready and verified$took.
    Keycloak       $base_url/   (admin console $base_url/admin/)
    admin login    user admin, password in $rel/keycloak-admin-password
    realm demo     $base_url/realms/demo/account/   (spec: $rel/demo/realm.yaml)
    runtime        $runtime, database $([ "${KF_DEMO_DB:-}" = postgres ] && echo "Postgres 127.0.0.1:$KF_DEMO_DB_PORT (user keycloak, password in $rel/postgres-password)" || echo "dev-file (fallback: ${KF_DEMO_DB_NOTE:-no Postgres})")
    backups        $backup_note
    hardening      $hardening_note
    logs           $rel/logs/keycloak-setup.log, Keycloak: $kc_log

  Next, in another terminal:
    ./keyfleet hosts show $host_id
    ./keyfleet keycloak status --target env=demo
    ./keyfleet realm plan --target env=demo --spec $rel/demo/realm.yaml      # edit the spec first to see a diff
    ./keyfleet realm history --host $host_id --realm demo
    ./keyfleet keycloak verify --target env=demo --login $rel/demo/verify-login.yaml --wait
    ./keyfleet backups list
    ./keyfleet schedules list
    ./keyfleet hardening audit --target env=demo
    ./keyfleet tasks list

EOF
