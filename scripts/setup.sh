#!/usr/bin/env bash
# The one set-up step of `make test` and `make demo` (and so of CI): installs what Keyfleet's
# tests and demo need, and nothing twice. Every step first checks whether its result is already
# there, so a re-run on a set-up machine takes a few seconds. Safe without a terminal (no stdin).
#
#   pnpm 10                      npm i -g pnpm@10 (corepack cannot be used here: its signature check fails)
#   system packages              apt-get, only for what is missing; as non-root: prints the command, exits 1
#   nats-server >= v2.15.2       go install, into $(go env GOPATH)/bin
#   mailpit v1.33.1              go install (SMTP server for the alert email tests)
#   nft, sshd                    apt-get nftables; Debian openssh-server unpacked into $KEYFLEET_CACHE
#   Keycloak distribution        scripts/fetch-keycloak.sh (cached in $KEYFLEET_CACHE/keycloak)
#   schemathesis (API fuzzer)    a Python venv in $KEYFLEET_CACHE/schemathesis-venv
#   node_modules                 pnpm install --frozen-lockfile
#
#   KEYFLEET_CACHE        cache root (default ~/.cache/keyfleet)
#   KEYFLEET_NATS_SERVER  an existing nats-server binary to use instead of the go-installed one
#   KEYFLEET_PYTHON       Python 3 that creates the venv (default python3)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
export npm_config_update_notifier=false

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

NATS_SERVER_VERSION=v2.15.2
SCHEMATHESIS_VERSION=4.32.5
PNPM_MAJOR=10
# What the tests start or call: Postgres 15 (initdb/postgres), age (backup interop), pebble
# (ACME), dockerd + debootstrap (the locally built Keycloak image), maven (fetches the Keycloak
# dist; brings a Java 17 runtime), openssl (test certificates), python3-venv (the schemathesis
# venv), util-linux (setpriv/flock), curl (the demo), prometheus (promtool: checks the fleet exposition
# and deploy/prometheus rules), knot + knot-dnsutils (the DNS server that takes RFC 2136 updates for
# the DNS-01 tests, and knsupdate for their hook script), lynis (the maintenance.scan test runs a real, read-only scan).
APT_PACKAGES=(make postgresql age pebble docker.io debootstrap maven openssl python3-venv util-linux curl prometheus knot knot-dnsutils lynis)

cache="${KEYFLEET_CACHE:-$HOME/.cache/keyfleet}"
venv="$cache/schemathesis-venv"
is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true

# Go-installed tools live in $(go env GOPATH)/bin; Go itself often in /usr/local/go/bin.
export PATH="$PATH:/usr/local/go/bin"
gobin=""
if command -v go >/dev/null; then
  gobin="$(go env GOPATH </dev/null | cut -d: -f1)/bin"
  export PATH="$PATH:$gobin"
fi

started=$(date +%s%N)
step_started=0
step_name=""
say() { printf 'setup: %s\n' "$*"; }
die() {
  printf 'setup: error: %s\n' "$*" >&2
  exit 1
}
step() {
  step_name=$1
  step_started=$(date +%s%N)
}
ok() { # ok <what was found or done>
  printf 'setup: %-22s %s (%ss)\n' "$step_name" "$1" "$(elapsed "$step_started")"
}
elapsed() { # seconds since a date +%s%N stamp, one decimal
  local ms=$((($(date +%s%N) - $1) / 1000000))
  printf '%d.%d' $((ms / 1000)) $(((ms % 1000) / 100))
}
version_at_least() { # version_at_least <have> <want>: true when have >= want (v-prefixed or not)
  [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | head -1)" = "${2#v}" ]
}

mkdir -p "$cache"
# Two set-ups at once (make test and make demo in two terminals) would race on the same installs.
exec 8>"$cache/.setup.lock"
flock 8

# --- node ----------------------------------------------------------------------------------
step node
command -v node >/dev/null || die "node is not installed; Keyfleet needs Node 20.19 or newer (https://nodejs.org)"
node_version=$(node --version)
version_at_least "$node_version" v20.19.0 || die "node $node_version is too old; Keyfleet needs 20.19 or newer"
ok "$node_version"

# --- system packages -------------------------------------------------------------------------
step "system packages"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# Keycloak runs on the machine's Java (17+); the tests and the demo look in /usr/lib/jvm.
has_java=false
for java in /usr/lib/jvm/*/bin/java; do
  [ -x "$java" ] || continue
  release="$(dirname "$(dirname "$java")")/release"
  major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release" 2>/dev/null || true)
  if [ -n "$major" ] && [ "$major" -ge 17 ]; then
    has_java=true
    break
  fi
done
$has_java || missing+=(openjdk-17-jre-headless)
if [ ${#missing[@]} -eq 0 ]; then
  ok "all present (${APT_PACKAGES[*]}, Java 17+)"
elif ! command -v apt-get >/dev/null; then
  die "missing: ${missing[*]}; this is not a Debian-like system, so install their equivalents yourself and run again"
elif ! $is_root; then
  die "missing system packages: ${missing[*]}. Install them as root, then run this again:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
else
  say "installing ${missing[*]} (apt-get)"
  apt-get update -q </dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
  ok "installed ${missing[*]}"
fi

# --- pnpm ------------------------------------------------------------------------------------
step pnpm
pnpm_version=$(pnpm --version </dev/null 2>/dev/null || true)
if [ -n "$pnpm_version" ] && version_at_least "$pnpm_version" "$PNPM_MAJOR.0.0"; then
  ok "$pnpm_version"
else
  npm_prefix=$(npm prefix -g </dev/null)
  if ! $is_root && ! [ -w "$npm_prefix/lib" ] && ! [ -w "$npm_prefix" ]; then
    die "pnpm $PNPM_MAJOR is missing and npm's global prefix ($npm_prefix) is not writable by you. Run one of:
    sudo npm i -g pnpm@$PNPM_MAJOR
    npm config set prefix ~/.local && npm i -g pnpm@$PNPM_MAJOR   (then put ~/.local/bin on PATH)"
  fi
  # corepack cannot be used here: its signature check fails.
  npm i -g "pnpm@$PNPM_MAJOR" </dev/null
  hash -r
  command -v pnpm >/dev/null || die "npm installed pnpm into $npm_prefix/bin, which is not on PATH; add it to PATH"
  ok "installed $(pnpm --version </dev/null)"
fi

# --- nats-server -----------------------------------------------------------------------------
step nats-server
nats_version() { "$1" --version </dev/null 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -1; }
nats_bin=""
for candidate in "${KEYFLEET_NATS_SERVER:-}" "${gobin:+$gobin/nats-server}"; do
  [ -n "$candidate" ] && [ -x "$candidate" ] || continue
  have=$(nats_version "$candidate")
  if [ -n "$have" ] && version_at_least "$have" "$NATS_SERVER_VERSION"; then
    nats_bin=$candidate
    break
  fi
  if [ "$candidate" = "${KEYFLEET_NATS_SERVER:-}" ]; then
    die "KEYFLEET_NATS_SERVER=$candidate is ${have:-not a nats-server}; Keyfleet needs $NATS_SERVER_VERSION or newer"
  fi
done
if [ -n "$nats_bin" ]; then
  ok "$(nats_version "$nats_bin") at $nats_bin"
else
  [ -n "$gobin" ] || die "nats-server $NATS_SERVER_VERSION+ is needed and Go is missing to build it (Debian's nats-server 2.9 is too old).
    Install Go (https://go.dev/dl, into /usr/local/go) and run again, or set KEYFLEET_NATS_SERVER to a nats-server >= $NATS_SERVER_VERSION"
  say "building nats-server $NATS_SERVER_VERSION (go install; a few minutes, once)"
  go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION" </dev/null
  ok "installed $(nats_version "$gobin/nats-server") at $gobin/nats-server"
fi

# --- Go-built test servers --------------------------------------------------------------------
# go_tool <binary> <module@version path> <version> <what it is for> <how long the build takes>:
# reuses $gobin/<binary> only when `go version -m` says it was built from that module version.
go_tool() {
  local bin=$1 pkg=$2 version=$3 purpose=$4 duration=$5
  step "$bin"
  if [ -n "$gobin" ] && [ -x "$gobin/$bin" ] && go version -m "$gobin/$bin" </dev/null 2>/dev/null | grep -q "mod.*${pkg%%/cmd/*}.*$version"; then
    ok "$version at $gobin/$bin"
    return
  fi
  [ -n "$gobin" ] || die "$bin $version is needed for $purpose and Go is missing to build it"
  say "building $bin $version (go install; $duration, once)"
  go install "$pkg@$version" </dev/null
  ok "installed at $gobin/$bin"
}
go_tool versitygw github.com/versity/versitygw/cmd/versitygw v1.8.0 "the S3 backup storage tests" "a few minutes"
# pebble v2.10.3: validity profiles and ARI, which Debian's 2.4 lacks.
go_tool pebble github.com/letsencrypt/pebble/v2/cmd/pebble v2.10.3 "the certificate tests" "a minute"
# mailpit: SMTP server for the alert email tests, read back through its API.
go_tool mailpit github.com/axllent/mailpit v1.33.1 "the alert email tests" "a few minutes"

# --- hardening tools -------------------------------------------------------------------------
# nft for the firewall tests (they run in network namespaces of their own), and sshd to validate
# test configs: Debian's openssh-server unpacked into the cache, not installed, so this machine
# gets no SSH daemon, host keys or /etc/ssh changes.
step "hardening tools"
if ! command -v nft >/dev/null; then
  [ "$(id -u)" -eq 0 ] || die "nft is missing (the hardening tests need it): sudo apt-get install -y --no-install-recommends nftables"
  say "installing nftables (apt-get)"
  apt-get install -y -q --no-install-recommends nftables </dev/null
fi
sshd_dir="$cache/openssh-server"
if [ ! -x "$sshd_dir/usr/sbin/sshd" ]; then
  say "unpacking Debian openssh-server into $sshd_dir"
  tmp=$(mktemp -d)
  # As root apt warns that its _apt user cannot write the temp dir; the download itself works.
  (cd "$tmp" && apt-get download openssh-server </dev/null >/dev/null 2>&1) || die "apt-get download openssh-server failed"
  mkdir -p "$sshd_dir"
  dpkg-deb -x "$tmp"/openssh-server_*.deb "$sshd_dir"
  rm -rf "$tmp"
fi
ok "$(command -v nft), $sshd_dir/usr/sbin/sshd"

# --- Keycloak distribution -------------------------------------------------------------------
step "keycloak dist"
dist=$(bash scripts/fetch-keycloak.sh </dev/null)
ok "$dist"

# --- schemathesis ----------------------------------------------------------------------------
step schemathesis
schemathesis_ok() { [ -x "$venv/bin/schemathesis" ] && [ "$(cat "$venv/.keyfleet-version" 2>/dev/null)" = "$SCHEMATHESIS_VERSION" ]; }
if schemathesis_ok; then
  ok "$SCHEMATHESIS_VERSION at $venv/bin/schemathesis"
else
  python=${KEYFLEET_PYTHON:-python3}
  command -v "$python" >/dev/null || die "$python is missing (needed for the schemathesis venv): apt-get install python3-venv"
  "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' </dev/null 2>/dev/null ||
    die "$python cannot create a venv with pip (needs Python 3.9+ with venv and ensurepip): apt-get install python3-venv"
  say "creating $venv with schemathesis $SCHEMATHESIS_VERSION (PyPI)"
  rm -rf "$venv"
  "$python" -m venv "$venv" </dev/null
  "$venv/bin/pip" install -q --disable-pip-version-check --no-input "schemathesis==$SCHEMATHESIS_VERSION" </dev/null
  "$venv/bin/schemathesis" --version </dev/null >/dev/null || die "schemathesis was installed into $venv but does not run"
  echo "$SCHEMATHESIS_VERSION" >"$venv/.keyfleet-version"
  ok "installed $SCHEMATHESIS_VERSION at $venv/bin/schemathesis"
fi

# --- node_modules ----------------------------------------------------------------------------
step "pnpm install"
# pnpm itself notices an up-to-date node_modules in about a second; its output is shown on failure.
pnpm_log=$(mktemp -t kf-pnpm-install-XXXXXX)
trap 'rm -f "$pnpm_log"' EXIT
if ! pnpm install --frozen-lockfile --reporter=append-only </dev/null >"$pnpm_log" 2>&1; then
  cat "$pnpm_log" >&2
  die "pnpm install --frozen-lockfile failed (if pnpm-lock.yaml is out of date with a package.json: pnpm install, and commit the lockfile)"
fi
ok "node_modules match pnpm-lock.yaml"

say "ready in $(elapsed "$started")s"
