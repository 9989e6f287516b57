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
BIN_DIR="$(devpush_cache_dir)/bin"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help]

Builds caddy at CADDY_VERSION (versions.env) into $BIN_DIR when missing,
then prints its path. A cold build takes about two minutes.
USAGE
}

main() {
  parse_help_args "$@"
  pinned_go_binary "$VERSIONS_FILE" CADDY_VERSION github.com/caddyserver/caddy/v2/cmd/caddy
}

main "$@"
