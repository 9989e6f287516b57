#!/usr/bin/env bash
# Build one of the Go programs the local run and the tests use, once, into a cache outside
# the repository, and print its path.
#
# What it does: for a pinned release (caddy, registry), reads its version from versions.env
# and runs `go install <package>@v<version>` (pinned by the module's own go.sum) into
# ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/<command>-<version>; for a checker of ours
# (compose-validator, alloy-syntax), compiles scripts/dev/<name>/ (pinned by its go.sum) into
# .../bin/<program>-<hash of its sources>, so an edit rebuilds and a warm cache does not.
# Go modules come from the Go module proxy. A binary already there is kept.
# What it is for:
#   caddy              Compose's proxy at CADDY_VERSION: `caddy validate` of the worker's
#                      config, the local run's and the end-to-end tests' proxy (devpush_dev/caddy.py)
#   registry           the distribution registry at REGISTRY_VERSION, the binary of the image
#                      `registry:<version>` swarm mode runs; the swarm tests' registry
#                      (devpush_dev/registry.py)
#   compose-validator  compose-go (the loader of `docker compose`) and BuildKit's Dockerfile
#                      frontend (the checks of `docker build --check`)
#   alloy-syntax       Alloy's own parser of config.alloy (github.com/grafana/alloy/syntax):
#                      syntax, not component arguments
# What it does not do: install Go (it needs `go` on PATH or in /usr/local/go, at least the
# go.mod version) or run the program.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
VERSIONS_FILE="$REPO_ROOT/versions.env"

usage() {
  cat <<USAGE
Usage: $(basename "$0") caddy|registry|compose-validator|alloy-syntax
       $(basename "$0") --help

Builds the named program into $(devpush_cache_dir)/bin when missing or out of
date, then prints its path. A cold build takes one to two minutes.
USAGE
}

main() {
  if (($# > 1)); then
    err "one program at a time (see --help)"
    exit 2
  fi
  case ${1:-} in
    -h | --help)
      usage
      exit 0
      ;;
    caddy) pinned_go_binary "$VERSIONS_FILE" CADDY_VERSION github.com/caddyserver/caddy/v2/cmd/caddy ;;
    registry) pinned_go_binary "$VERSIONS_FILE" REGISTRY_VERSION github.com/distribution/distribution/v3/cmd/registry ;;
    compose-validator) go_tool_binary "$REPO_ROOT/scripts/dev/compose-validator" devpush-validate "the validator" ;;
    alloy-syntax) go_tool_binary "$REPO_ROOT/scripts/dev/alloy-syntax" devpush-alloy-syntax "the Alloy syntax checker" ;;
    *)
      err "unknown program: ${1:-(none)} (see --help)"
      exit 2
      ;;
  esac
}

main "$@"
