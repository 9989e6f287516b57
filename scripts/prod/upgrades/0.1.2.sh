#!/usr/bin/env bash
# Upgrade hook for devpush 0.1.2: log collection moves from the Docker Loki log
# driver plugin to Grafana Alloy, which tails Docker's json-file logs.
#
# What it does, each step best-effort and idempotent:
#   - disables and removes the Loki Docker plugin (grafana/loki-docker-driver,
#     usually installed under the alias `loki`) when it is installed;
#   - lists containers still created with the `loki` log driver: they keep
#     failing to log until redeployed (a redeploy creates them with json-file);
#   - ensures $DEVPUSH_DATA_ROOT/alloy exists (Alloy's tail positions).
# It never fails the update: problems are reported as warnings and it exits 0.
# This is the only script that names the plugin; see CHANGELOG.md, 0.1.2.
set -Euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$HERE/../../lib.sh"

usage() {
  cat <<USAGE
Usage: 0.1.2.sh [--dry-run] [--help]

Removes the Loki Docker log driver plugin if installed, lists containers that still
use the loki log driver, and creates $DEVPUSH_DATA_ROOT/alloy. Always exits 0.
USAGE
}

# Plugin references of the Loki driver: the alias (loki) or the image name, any tag.
is_loki_plugin() { [[ $1 =~ ^([^/]+/)*(loki|loki-docker-driver)(:[^/]+)?$ ]]; }

remove_loki_plugins() {
  local names name found=0
  if ! names=$(docker plugin ls --format '{{.Name}}' 2>&1); then
    warn "cannot list Docker plugins: $names"
    return
  fi
  while read -r name; do
    if [[ -z $name ]] || ! is_loki_plugin "$name"; then
      continue
    fi
    found=1
    info "removing the Loki Docker plugin $name"
    run_quiet "disable plugin $name" docker plugin disable --force "$name" ||
      warn "could not disable $name (already disabled?)"
    run_quiet "remove plugin $name" docker plugin rm --force "$name" ||
      warn "could not remove $name: remove it by hand (docker plugin rm --force $name)"
  done <<<"$names"
  ((found)) || info "no Loki Docker plugin installed: nothing to remove"
}

list_loki_driver_containers() {
  local ids inspected driver name stale=()
  ids=$(docker ps --all --quiet 2>/dev/null) || {
    warn "cannot list containers"
    return
  }
  [[ -n $ids ]] || return 0
  # shellcheck disable=SC2086 # one argument per container ID
  inspected=$(docker inspect --format '{{.HostConfig.LogConfig.Type}} {{.Name}}' $ids 2>/dev/null) || true
  while read -r driver name; do
    if [[ -n $driver ]] && is_loki_plugin "$driver"; then
      stale+=("${name#/}")
    fi
  done <<<"$inspected"
  if ((${#stale[@]} > 0)); then
    warn "containers still using the loki log driver; redeploy them so Alloy collects their logs:"
    printf '  %s\n' "${stale[@]}" >&2
  fi
}

main() {
  parse_dry_run_args "$@"
  if command_exists docker && docker info >/dev/null 2>&1; then
    remove_loki_plugins
    list_loki_driver_containers
  else
    warn "Docker is not answering: skipped the Loki plugin check (rerun: update-apply.sh --hooks-only)"
  fi
  run install -d -m 0755 "$DEVPUSH_DATA_ROOT/alloy" || warn "could not create $DEVPUSH_DATA_ROOT/alloy"
  exit 0
}

main "$@"
