/**
 * The bootstrap `GET /v1/agent/install.sh` serves: POSIX sh, small on purpose. It checks what
 * the host needs (Node >= 20.19, curl, sha256sum), downloads the agent artifact from the hub
 * with the enrollment token (sent from a 0600 curl config file, never in a command line: the
 * token stays out of the process list), checks the download's sha256 against what the hub
 * announced and, when given, the `--sha256` the operator's CLI pinned, and hands over to the
 * artifact's own `keyfleet-agent install`, which does the rest (user, directories, agent.env,
 * unit, enrollment, waiting until the hub reports the host online) in tested TypeScript.
 *
 * Everything sits in functions called on the last line, so a download cut short runs nothing;
 * no command reads stdin, which is the rest of this script when it is piped into sh.
 */
export function installScript(): string {
  return `#!/bin/sh
# Keyfleet agent installer. Print the command with: keyfleet tokens create --label k=v --install
#   curl -fsSL HUB/v1/agent/install.sh | KEYFLEET_ENROLL_TOKEN=kfe_... sh -s -- --hub HUB [--sha256 HEX] [--version V] [install options]
#   curl -fsSL HUB/v1/agent/install.sh | sh -s -- --uninstall [--root DIR]
# Install options (see keyfleet-agent install --help): --label k=v, --supervisor systemd|process,
# --root DIR (install below DIR, for tests), --wait-online SECONDS.
set -eu

fail() {
  echo "keyfleet install: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || fail "needs $1 on PATH ($2)"
}

check_node() {
  need node "Node.js >= 20.19: the distribution's nodejs package or https://nodejs.org"
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' </dev/null ||
    fail "needs Node.js >= 20.19; $(command -v node) is $(node --version </dev/null)"
}

# $1 in single quotes, for eval.
quote() {
  printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# The value of a JSON field of the file $1, without jq.
json_field() {
  node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = j[process.argv[2]]; if (v === undefined) process.exit(1); console.log(v)' "$1" "$2" </dev/null
}

main() {
  hub=""
  pin=""
  version=""
  uninstall=""
  root="/"
  rest=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --hub) [ $# -ge 2 ] || fail "--hub needs a URL"; hub="$2"; shift 2 ;;
      --sha256) [ $# -ge 2 ] || fail "--sha256 needs a value"; pin="$2"; shift 2 ;;
      --version) [ $# -ge 2 ] || fail "--version needs a value"; version="$2"; shift 2 ;;
      --uninstall) uninstall=1; shift ;;
      --root) [ $# -ge 2 ] || fail "--root needs a directory"; root="$2"; rest="$rest --root $(quote "$2")"; shift 2 ;;
      *) rest="$rest $(quote "$1")"; shift ;;
    esac
  done
  check_node

  if [ -n "$uninstall" ]; then
    installed="$root/opt/keyfleet/agent/keyfleet-agent.mjs"
    [ -f "$installed" ] || fail "no Keyfleet agent installed at $installed"
    eval "node $(quote "$installed") uninstall $rest" </dev/null
    return
  fi

  [ -n "$hub" ] || fail "--hub URL is required (the URL this host reaches the hub at)"
  need curl "to download the agent from the hub"
  need sha256sum "coreutils, to check the download"
  hub=$(printf '%s' "$hub" | sed 's:/*$::')

  umask 077
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT INT TERM
  : >"$tmp/curl.conf"
  if [ -n "\${KEYFLEET_ENROLL_TOKEN:-}" ]; then
    printf 'header = "Authorization: Bearer %s"\\n' "$KEYFLEET_ENROLL_TOKEN" >"$tmp/curl.conf"
  fi
  query=""
  [ -z "$version" ] || query="?version=$version"

  installed="$root/opt/keyfleet/agent/keyfleet-agent.mjs"
  state="$root/var/lib/keyfleet-agent"
  if [ -f "$installed" ] && [ -f "$state/identity.json" ]; then
    # Installed and enrolled (the command run again; its token is used up): the host's own key fetches.
    echo "keyfleet install: already enrolled; downloading as the host"
    set -- fetch-artifact --state-dir "$state" --out "$tmp/keyfleet-agent.mjs" --meta "$tmp/artifact.json"
    [ -z "$version" ] || set -- "$@" --artifact-version "$version"
    node "$installed" "$@" </dev/null || fail "cannot download the agent from $hub as the enrolled host"
    version=$(json_field "$tmp/artifact.json" version) || fail "the hub's answer names no version"
    announced=$(json_field "$tmp/artifact.json" sha256) || fail "the hub's answer names no sha256"
  else
    curl -fsS --proto '=https,http' -K "$tmp/curl.conf" -o "$tmp/artifact.json" "$hub/v1/agent/artifact$query" </dev/null ||
      fail "cannot get the agent artifact's description from $hub/v1/agent/artifact$query (is KEYFLEET_ENROLL_TOKEN set to an unused token?)"
    version=$(json_field "$tmp/artifact.json" version) || fail "the hub's answer names no version"
    announced=$(json_field "$tmp/artifact.json" sha256) || fail "the hub's answer names no sha256"
    echo "keyfleet install: downloading keyfleet-agent $version from $hub"
    curl -fsS --proto '=https,http' -K "$tmp/curl.conf" -o "$tmp/keyfleet-agent.mjs" "$hub/v1/agent/artifact/file?version=$version" </dev/null ||
      fail "cannot download keyfleet-agent $version from $hub"
  fi
  actual=$(sha256sum "$tmp/keyfleet-agent.mjs" | cut -d' ' -f1)
  if [ "$actual" != "$announced" ] || { [ -n "$pin" ] && [ "$actual" != "$pin" ]; }; then
    fail "checksum mismatch: keyfleet-agent $version from $hub has sha256 $actual, but the hub announced $announced\${pin:+ and the install command pinned $pin}; refusing to install it"
  fi
  echo "keyfleet install: sha256 $actual verified"
  chmod 0755 "$tmp" "$tmp/keyfleet-agent.mjs"
  status=0
  eval "node $(quote "$tmp/keyfleet-agent.mjs") install --hub $(quote "$hub") --artifact $(quote "$tmp/keyfleet-agent.mjs") --sha256 $actual $rest" </dev/null || status=$?
  return $status
}

main "$@"
`;
}
