#!/usr/bin/env bash
# Downloads the Keycloak server distribution from Maven Central (with mvn) into
# ~/.cache/keyfleet/keycloak and extracts it once. Idempotent: a present dist is reused.
# Prints the extracted dist directory (the one holding bin/kc.sh) on stdout; progress goes to stderr.
#   KEYCLOAK_VERSION  dist version (default below)
#   KEYFLEET_CACHE    cache root (default ~/.cache/keyfleet)
set -euo pipefail

VERSION="${KEYCLOAK_VERSION:-26.7.4}"
CACHE="${KEYFLEET_CACHE:-$HOME/.cache/keyfleet}/keycloak"
TARBALL="$CACHE/keycloak-quarkus-dist-$VERSION.tar.gz"
DIST="$CACHE/keycloak-$VERSION"
# A newer plugin than Maven 3.8's default: `copy` with -Dartifact needs no pom.
PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

mkdir -p "$CACHE"
# Test files start in parallel; one of them downloads, the others wait.
exec 9>"$CACHE/.lock"
flock 9

if [ ! -x "$DIST/bin/kc.sh" ]; then
  if [ ! -s "$TARBALL" ]; then
    echo "fetch-keycloak: downloading keycloak-quarkus-dist $VERSION" >&2
    start=$(date +%s)
    # A private local repo keeps the 150 MB artifact out of ~/.m2; it is dropped after the copy.
    mvn -B -q -Dmaven.repo.local="$CACHE/.m2" "$PLUGIN:copy" \
      -Dartifact="org.keycloak:keycloak-quarkus-dist:$VERSION:tar.gz" \
      -DoutputDirectory="$CACHE" -Dmdep.overWriteReleases=true >&2
    rm -rf "$CACHE/.m2/org/keycloak"
    echo "fetch-keycloak: downloaded $(du -h "$TARBALL" | cut -f1) in $(( $(date +%s) - start ))s" >&2
  fi
  tmp="$(mktemp -d "$CACHE/extract.XXXXXX")"
  tar -xzf "$TARBALL" -C "$tmp"
  # The tarball holds a single keycloak-<version>/ directory; move it in place atomically.
  mv "$tmp/keycloak-$VERSION" "$DIST"
  rm -rf "$tmp"
fi

echo "$DIST"
