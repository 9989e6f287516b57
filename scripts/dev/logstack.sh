#!/usr/bin/env bash
# Build the embedded log stack's binaries, once, into a cache outside the
# repository, and print their paths.
#
# What it does: reads VICTORIALOGS_VERSION and OTELCOL_VERSION from versions.env and
# builds, with Go modules from the Go module proxy:
#   - victoria-logs (the log store): `go install` of
#     github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$VICTORIALOGS_VERSION;
#   - otelcol (the log collector): scripts/dev/otelcol/, pinned by its go.sum, which
#     must name contrib v$OTELCOL_VERSION;
# into ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/victoria-logs-<version> and
# otelcol-<version>-<manifest>, <manifest> being the first 16 hex digits of the SHA-256 of
# main.go, go.mod and go.sum (devpush_dev/otelcol.py computes the same name).
# A binary already there is kept (a version bump or another component builds a new file).
# What it does not do: install Go (it needs `go` >= the go.mod version on PATH or in
# /usr/local/go) or run anything.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
OTELCOL_SRC="$REPO_ROOT/scripts/dev/otelcol"
VERSIONS_FILE="$REPO_ROOT/versions.env"
BIN_DIR="$(devpush_cache_dir)/bin"
CONTRIB=github.com/open-telemetry/opentelemetry-collector-contrib

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help]

Builds victoria-logs and otelcol at the versions in versions.env into
$BIN_DIR when missing, then prints their paths (one per line).
A cold build takes a few minutes; a warm cache returns at once.
USAGE
}

build_victorialogs() {
  local go=$1 version=$2 bin="$BIN_DIR/victoria-logs-$2"
  if [[ -x $bin ]]; then
    printf '%s\n' "$bin"
    return
  fi
  printf '==> building %s (first time: about a minute)\n' "$bin" >&2
  go_install_binary "$go" "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$version" \
    "$bin" -ldflags='-s -w'
  printf '%s\n' "$bin"
}

# The collector's component list, as a cache key: a component added to main.go builds anew.
otelcol_manifest() {
  cat "$OTELCOL_SRC/main.go" "$OTELCOL_SRC/go.mod" "$OTELCOL_SRC/go.sum" | sha256sum | cut -c1-16
}

build_otelcol() {
  local go=$1 version=$2 bin
  bin="$BIN_DIR/otelcol-$2-$(otelcol_manifest)"
  # One release for every collector module: go.mod must name the contrib version pinned here.
  if ! grep -q "^[[:space:]]*$CONTRIB/receiver/filelogreceiver v$version\$" "$OTELCOL_SRC/go.mod"; then
    err "$OTELCOL_SRC/go.mod does not pin $CONTRIB/receiver/filelogreceiver v$version (OTELCOL_VERSION)"
    exit 1
  fi
  if [[ -x $bin ]]; then
    printf '%s\n' "$bin"
    return
  fi
  printf '==> building %s (first time: a few minutes, about 1 GB of memory)\n' "$bin" >&2
  (cd "$OTELCOL_SRC" && CGO_ENABLED=0 "$go" build -trimpath -ldflags='-s -w' -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  printf '%s\n' "$bin"
}

main() {
  parse_help_args "$@"
  local go
  go=$(find_go "victoria-logs and otelcol")
  mkdir -p "$BIN_DIR"
  build_victorialogs "$go" "$(pinned_version "$VERSIONS_FILE" VICTORIALOGS_VERSION)"
  build_otelcol "$go" "$(pinned_version "$VERSIONS_FILE" OTELCOL_VERSION)"
}

main "$@"
