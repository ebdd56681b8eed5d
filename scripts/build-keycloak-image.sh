#!/usr/bin/env bash
# Builds the container images Keycloak tests need, locally: no container registry is reachable,
# so the base is a debootstrap rootfs imported into Docker. Idempotent: an existing tag is kept.
#   build-keycloak-image.sh [keycloak] [postgres]     (default: keycloak)
# Prints each tag on stdout; progress goes to stderr.
#   DOCKER_HOST          engine to use (default: the docker CLI's default)
#   KEYCLOAK_VERSION     dist version (see fetch-keycloak.sh)
#   KEYCLOAK_IMAGE_DB    build-time --db of the Keycloak image (default postgres; other values
#                        get a "-<db>" tag suffix, e.g. keyfleet/keycloak:26.7.4-dev-file)
#   KEYFLEET_IMAGE_JDK   JDK copied into the image (default: 21, else 25, else 17 from /usr/lib/jvm)
#   DEBIAN_MIRROR        mirror for debootstrap (default: the first one apt uses here)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES="$ROOT/test/harness/images"
CACHE="${KEYFLEET_CACHE:-$HOME/.cache/keyfleet}/docker"
BASE_TAG="keyfleet/debian-base:bookworm"
BASE_TAR="$CACHE/debian-bookworm-minbase.tar"
export DOCKER_BUILDKIT=0 # the legacy builder: Debian's engine has no buildx here

log() { echo "build-keycloak-image: $*" >&2; }
has_image() { docker image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri
  uri="$(grep -hsE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | head -n1 | awk '{print $2}')"
  [ -n "$uri" ] || uri="$(grep -hsE '^deb .*/debian/? ' /etc/apt/sources.list | head -n1 | awk '{print $2}')"
  echo "${uri:-http://deb.debian.org/debian}"
}

pick_jdk() {
  if [ -n "${KEYFLEET_IMAGE_JDK:-}" ]; then echo "$KEYFLEET_IMAGE_JDK"; return; fi
  local major dir
  for major in 21 25 17; do
    for dir in /usr/lib/jvm/*"-$major-"* /usr/lib/jvm/*"-$major"; do
      if [ -x "$dir/bin/java" ]; then echo "$dir"; return; fi
    done
  done
  log "no JDK 21, 25 or 17 in /usr/lib/jvm (set KEYFLEET_IMAGE_JDK or apt-get install openjdk-17-jdk-headless)"
  exit 1
}

# Hard links make the build context instant; a copy is the fallback across file systems.
link_or_copy() { cp -al "$1" "$2" 2>/dev/null || { rm -rf "$2"; cp -a "$1" "$2"; }; }

timed() {
  local what="$1" start; shift
  start=$(date +%s)
  "$@"
  log "$what took $(( $(date +%s) - start ))s"
}

ensure_base() {
  has_image "$BASE_TAG" && return
  if [ ! -s "$BASE_TAR" ]; then
    local mirror rootfs
    mirror="$(debian_mirror)"
    rootfs="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
    log "debootstrap bookworm (minbase) from $mirror"
    timed debootstrap debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2
    # apt inside derived builds needs no caches; they only bloat every vfs layer.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    # mktemp made the directory 0700; as the image's "/" that would lock out non-root users.
    chmod 0755 "$rootfs"
    tar -C "$rootfs" -c . > "$BASE_TAR.tmp"
    mv "$BASE_TAR.tmp" "$BASE_TAR"
    rm -rf "$rootfs"
  fi
  timed "docker import" docker import - "$BASE_TAG" < "$BASE_TAR" >&2
}

build_keycloak() {
  local version="${KEYCLOAK_VERSION:-26.7.4}" db="${KEYCLOAK_IMAGE_DB:-postgres}" tag ctx dist jdk
  tag="keyfleet/keycloak:$version"
  [ "$db" = postgres ] || tag="$tag-$db"
  if ! has_image "$tag"; then
    ensure_base
    dist="$(KEYCLOAK_VERSION="$version" "$ROOT/scripts/fetch-keycloak.sh")"
    jdk="$(pick_jdk)"
    ctx="$(mktemp -d "$CACHE/ctx.XXXXXX")"
    mkdir -p "$ctx/opt"
    link_or_copy "$dist" "$ctx/opt/keycloak"
    link_or_copy "$jdk" "$ctx/opt/java"
    # Only the runtime is needed; removing links does not touch the host JDK.
    rm -rf "$ctx/opt/java/lib/src.zip" "$ctx/opt/java/lib/ct.sym" "$ctx/opt/java/jmods" \
      "$ctx/opt/java/man" "$ctx/opt/java/include" "$ctx/opt/java/demo" "$ctx/opt/keycloak/data"
    # Debian-packaged JDKs link their cacerts to /etc/ssl/certs/java: copy what absolute links
    # point to, or Keycloak finds no system truststore in the image.
    find "$ctx/opt/java" -type l -lname '/*' | while read -r link; do
      target="$(readlink -f "$link")"
      rm "$link"
      [ -f "$target" ] && cp "$target" "$link"
    done
    cp "$IMAGES/keycloak/Dockerfile" "$ctx/Dockerfile"
    log "building $tag (JDK $jdk, --db=$db)"
    timed "docker build $tag" docker build -q --build-arg KC_DB="$db" -t "$tag" "$ctx" >&2
    rm -rf "$ctx"
  fi
  echo "$tag"
}

build_postgres() {
  local tag="keyfleet/postgres:15"
  if ! has_image "$tag"; then
    ensure_base
    log "building $tag"
    timed "docker build $tag" docker build -q --network host -t "$tag" "$IMAGES/postgres" >&2
  fi
  echo "$tag"
}

mkdir -p "$CACHE"
# Parallel test files may ask at once: one builds, the others wait and then find the tag.
exec 9>"$CACHE/.lock"
flock 9

[ $# -gt 0 ] || set -- keycloak
for image in "$@"; do
  case "$image" in
    keycloak) build_keycloak ;;
    postgres) build_postgres ;;
    *) log "unknown image '$image' (expected keycloak or postgres)"; exit 2 ;;
  esac
done
