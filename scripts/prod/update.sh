#!/usr/bin/env bash
# Update an installed devpush to another release, as root.
#
# What it does: fetches the release tarball of the version asked for (never a
# branch), unpacks it in a temp dir, and hands over to that release's own
# scripts/prod/update-apply.sh, so the new release's upgrade hooks and Compose
# files are the ones applied.
# What it does not do: downgrade, or back up the database (do that first).
# Needs: an install made by scripts/prod/install.sh, curl, tar.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$HERE/../lib.sh"
DEVPUSH_REPO=${DEVPUSH_REPO:-hunvreus/devpush}

usage() {
  cat <<USAGE
Usage: update.sh --version X.Y.Z [--tarball FILE] [--dry-run] (--all | COMPONENT...)

Fetches devpush X.Y.Z and applies it. Components of the
$(log_stack 2>/dev/null || echo unknown) log stack: $(stack_components 2>/dev/null | paste -sd ' ')
(--all: every one of them). The log stack is DEVPUSH_LOG_STORE in .env: loki
(loki, alloy; the default) or victorialogs (victorialogs, otelcol). Upgrade hooks
between the installed version and X.Y.Z run in version order.

  --version X.Y.Z  the release to install (required); X.Y.Z-rc.N for a release candidate
  --tarball FILE   use a release tarball already on disk
  --dry-run        print the commands instead of running them
  -h, --help       this help

DEVPUSH_LOCAL_IMAGES=1 (environment or .env): the stack runs the server's own images
(docker-compose.local.yml, built by scripts/dev/prod-images.sh): nothing is built or pulled.
USAGE
}

main() {
  parse_update_args "--version --tarball" "" "$@"
  local version=${UPDATE_VALUES[--version]:-} tarball=${UPDATE_VALUES[--tarball]:-} args=()
  if [[ -n $tarball ]]; then
    [[ -f $tarball ]] || { err "--tarball needs an existing file"; exit 2; }
    tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
  fi
  ((UPDATE_ALL == 1)) && args+=(--all)
  args+=("${UPDATE_COMPONENTS[@]}")
  [[ -n $version ]] || { err "--version X.Y.Z is required (see --help)"; exit 2; }
  require_release_version --version "$version"
  ((${#args[@]} > 0)) || { err "name the components to update, or --all (see --help)"; exit 2; }
  export DRY_RUN
  if ! is_dry_run && [[ $EUID -ne 0 ]]; then
    die "run as root (sudo $0)"
  fi

  # Global: the EXIT trap runs after main has returned.
  TMP_DIR=$(mktemp -d)
  trap 'rm -rf "$TMP_DIR"' EXIT
  local tmp=$TMP_DIR
  if [[ -z $tarball ]]; then
    tarball="$tmp/devpush-$version.tar.gz"
    local url="https://github.com/$DEVPUSH_REPO/archive/refs/tags/v$version.tar.gz"
    info "downloading $url"
    curl -fsSL --retry 3 -o "$tarball" "$url"
  fi
  mkdir -p "$tmp/release"
  tar -xzf "$tarball" -C "$tmp/release" --strip-components=1
  [[ -x $tmp/release/scripts/prod/update-apply.sh ]] || die "$tarball has no scripts/prod/update-apply.sh"
  "$tmp/release/scripts/prod/update-apply.sh" --to "$version" "${args[@]}"
}

main "$@"
