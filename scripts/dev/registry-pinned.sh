#!/usr/bin/env bash
# Build the distribution registry at the version the Compose stack pins, once, into a
# cache outside the repository, and print its path.
#
# What it does: reads REGISTRY_VERSION from versions.env and runs `go install` of
# github.com/distribution/distribution/v3/cmd/registry@v$REGISTRY_VERSION (pinned by the
# module's own go.sum), with Go modules from the Go module proxy, into
# ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/registry-<version>. A binary already there is kept.
# What it is for: the swarm tests run it as the registry the hosts pull Dockerfile builds
# from (devpush_dev/registry.py), the binary of the image `registry:<version>` the Compose
# stack runs in swarm mode.
# What it does not do: install Go (it needs `go` on PATH or in /usr/local/go) or run it.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
VERSIONS_FILE="$REPO_ROOT/versions.env"
BIN_DIR="$(devpush_cache_dir)/bin"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help]

Builds the registry at REGISTRY_VERSION (versions.env) into $BIN_DIR when missing,
then prints its path. A cold build takes about two minutes.
USAGE
}

main() {
  parse_help_args "$@"
  pinned_go_binary "$VERSIONS_FILE" REGISTRY_VERSION github.com/distribution/distribution/v3/cmd/registry
}

main "$@"
