#!/usr/bin/env bash
# Build Pebble, Let's Encrypt's test ACME server, at the version versions.env pins, once,
# into a cache outside the repository, and print the binary's path.
#
# What it does: reads PEBBLE_VERSION from versions.env and runs `go install` of
# github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION (pinned by the module's own
# go.sum) into ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/pebble-<version>, and copies the
# module's test certificates (the key pair its HTTPS listener serves, and the root they
# chain to) into ${DEVPUSH_CACHE}/pebble-<version>/. What is there already is kept.
# What it is for: the tests of custom domains (tests/e2e/test_domains.py) get their
# certificates through Caddy's ACME issuer from it (devpush_dev/pebble.py).
# What it does not do: install Go or run Pebble.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
VERSIONS_FILE="$REPO_ROOT/versions.env"
CACHE_DIR=$(devpush_cache_dir)
BIN_DIR="$CACHE_DIR/bin"
MODULE=github.com/letsencrypt/pebble/v2

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help]

Builds pebble at PEBBLE_VERSION (versions.env) into $BIN_DIR when missing, with its
test certificates beside it, then prints its path. A cold build takes under a minute.
USAGE
}

main() {
  parse_help_args "$@"
  local version go bin certs module_dir
  version=$(pinned_version "$VERSIONS_FILE" PEBBLE_VERSION)
  bin="$BIN_DIR/pebble-$version"
  certs="$CACHE_DIR/pebble-$version"
  if [[ ! -x $bin || ! -f $certs/pebble.minica.pem ]]; then
    go=$(find_go "pebble $version")
    mkdir -p "$certs"
    printf '==> building %s\n' "$bin" >&2
    go_install_binary "$go" "$MODULE/cmd/pebble@$version" "$bin"
    module_dir=$("$go" mod download -json "$MODULE@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -d $module_dir ]] || die "pebble's module directory not found"
    install -m 0644 "$module_dir/test/certs/localhost/cert.pem" "$certs/cert.pem"
    install -m 0600 "$module_dir/test/certs/localhost/key.pem" "$certs/key.pem"
    install -m 0644 "$module_dir/test/certs/pebble.minica.pem" "$certs/pebble.minica.pem"
  fi
  printf '%s\n' "$bin"
}

main "$@"
