#!/usr/bin/env bash
# Build Caddy at the version the Compose stack pins, once, into a cache outside the
# repository, and print its path.
#
# What it does: reads CADDY_VERSION from versions.env and runs `go install` of
# github.com/caddyserver/caddy/v2/cmd/caddy@v$CADDY_VERSION (pinned by the module's own
# go.sum), with Go modules from the Go module proxy, into
# ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/caddy-<version>. A binary already there is kept.
# What it is for: the tests validate the proxy config the Compose stack's worker loads
# with the very version the stack runs (`caddy validate`), and the local run and the
# end-to-end tests run it (devpush_dev/caddy.py).
# What it does not do: install Go (it needs `go` on PATH or in /usr/local/go) or run Caddy.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
VERSIONS_FILE="$REPO_ROOT/versions.env"
DEVPUSH_CACHE=${DEVPUSH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/devpush}
BIN_DIR="$DEVPUSH_CACHE/bin"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help]

Builds caddy at CADDY_VERSION (versions.env) into $BIN_DIR when missing,
then prints its path. A cold build takes about two minutes.
USAGE
}

main() {
  parse_help_args "$@"
  local version go bin gobin
  version=$(sed -n 's/^CADDY_VERSION=//p' "$VERSIONS_FILE" | tail -n 1)
  [[ -n $version ]] || die "CADDY_VERSION is not set in $VERSIONS_FILE"
  bin="$BIN_DIR/caddy-$version"
  if [[ ! -x $bin ]]; then
    go=$(find_go "caddy $version")
    mkdir -p "$BIN_DIR"
    printf '==> building %s (first time: about two minutes)\n' "$bin" >&2
    gobin=$(mktemp -d)
    if ! GOBIN=$gobin CGO_ENABLED=0 "$go" install -trimpath \
      "github.com/caddyserver/caddy/v2/cmd/caddy@v$version"; then
      rm -rf "$gobin"
      die "building caddy $version failed"
    fi
    mv "$gobin/caddy" "$bin"
    rm -rf "$gobin"
  fi
  printf '%s\n' "$bin"
}

main "$@"
