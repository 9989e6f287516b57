#!/usr/bin/env bash
# Build Docker Compose v5 from its Go module, once, into a cache outside the repository,
# install it as the `docker compose` CLI plugin, and print the binary's path.
#
# What it does: downloads github.com/docker/compose/v5@$COMPOSE_VERSION into the Go module
# cache, copies the module out (writable) and builds ./cmd there as the main module into
# ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/docker-compose-<version>; then links it as
# ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-compose. A cached binary is kept.
# Why not `go install ...@version`: Compose's go.mod has `exclude` directives, which
# `go install` refuses outside the main module.
# What it is for: the Compose end-to-end tests (tests/compose/) run the production files
# with the Compose the production servers use (v5: `name`, `env_file.path`, `!override`).
# What it does not do: install Go (it needs `go` on PATH or in /usr/local/go) or buildx.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
COMPOSE_VERSION=${COMPOSE_VERSION:-v5.6.0}
COMPOSE_MODULE=github.com/docker/compose/v5
BIN_DIR="$(devpush_cache_dir)/bin"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help | --dry-run]

Builds Docker Compose $COMPOSE_VERSION (COMPOSE_VERSION overrides) into $BIN_DIR
when missing, installs it as $PLUGIN_DIR/docker-compose, then prints its path.
A cold build takes about a minute. --dry-run prints the commands instead.
USAGE
}

build_compose() {
  local bin=$1 go module_dir work
  go=$(find_go "Docker Compose $COMPOSE_VERSION")
  module_dir=$("$go" mod download -json "$COMPOSE_MODULE@$COMPOSE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $module_dir ]] || die "go mod download gave no directory for $COMPOSE_MODULE@$COMPOSE_VERSION"
  work=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now: the trap outlives the local
  trap "rm -rf '$work'" RETURN
  cp -r "$module_dir/." "$work/"
  chmod -R u+w "$work"
  mkdir -p "$BIN_DIR"
  printf '==> building %s (first time: about a minute)\n' "$bin" >&2
  (cd "$work" && CGO_ENABLED=0 "$go" build -trimpath \
    -ldflags "-w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" \
    -o "$bin.tmp" ./cmd) || die "building Docker Compose $COMPOSE_VERSION failed"
  mv "$bin.tmp" "$bin"
}

main() {
  parse_dry_run_args "$@"
  local bin="$BIN_DIR/docker-compose-$COMPOSE_VERSION"
  if is_dry_run; then
    printf '+ go mod download -json %s@%s\n' "$COMPOSE_MODULE" "$COMPOSE_VERSION"
    printf '+ go build -trimpath -o %s ./cmd\n' "$bin"
    printf '+ ln -sfn %s %s/docker-compose\n' "$bin" "$PLUGIN_DIR"
    return 0
  fi
  [[ -x $bin ]] || build_compose "$bin"
  mkdir -p "$PLUGIN_DIR"
  ln -sfn "$bin" "$PLUGIN_DIR/docker-compose"
  printf '%s\n' "$bin"
}

main "$@"
