#!/usr/bin/env bash
# Build the Compose/Dockerfile validator the tests use, once, into a cache
# outside the repository, and print its path.
#
# What it does: compiles scripts/dev/compose-validator/ (compose-go, the loader
# of `docker compose`, and BuildKit's Dockerfile frontend, the checks of
# `docker build --check`) with Go modules from the Go module proxy, pinned by
# go.sum, into ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/devpush-validate-<hash>.
# The hash covers the sources, so an edit rebuilds and a warm cache does not.
# What it does not do: install Go (it needs `go` >= the go.mod version on PATH)
# or any Docker CLI plugin.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
SRC_DIR="$REPO_ROOT/scripts/dev/compose-validator"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help]

Builds devpush-validate (Compose and Dockerfile checks) into
$(devpush_cache_dir)/bin when missing or out of date, then prints its path.
USAGE
}

# Same shape as alloy-syntax.sh on purpose: each names its own program; the work is go_tool_binary.
main() {
  parse_help_args "$@"
  go_tool_binary "$SRC_DIR" devpush-validate "the validator"
}

main "$@"
