#!/usr/bin/env bash
# Build the Alloy config syntax checker the tests use, once, into a cache
# outside the repository, and print its path.
#
# What it does: compiles scripts/dev/alloy-syntax/ (Alloy's own parser, the
# module github.com/grafana/alloy/syntax, pinned by go.sum) with Go modules
# from the Go module proxy into
# ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/devpush-alloy-syntax-<hash>.
# The hash covers the sources, so an edit rebuilds and a warm cache does not.
# What it does not do: install Go (it needs `go` >= the go.mod version on PATH),
# or build Alloy itself: the checker knows syntax, not component arguments.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
SRC_DIR="$REPO_ROOT/scripts/dev/alloy-syntax"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help]

Builds devpush-alloy-syntax (parses config.alloy files with Alloy's parser) into
$(devpush_cache_dir)/bin when missing or out of date, then prints its path.
USAGE
}

# Same shape as compose-validator.sh on purpose: each names its own program; the work is go_tool_binary.
main() {
  parse_help_args "$@"
  go_tool_binary "$SRC_DIR" devpush-alloy-syntax "the Alloy syntax checker"
}

main "$@"
