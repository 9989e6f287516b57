#!/usr/bin/env bash
# Stop the development stack. Data under ./data and the named volumes are kept;
# --volumes also removes the named volumes (database, Loki).
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--volumes] [--dry-run] [--help]
USAGE
}

# Parses like start.sh on purpose, with its own options (start.sh takes services).
main() {
  local args=()
  while (($# > 0)); do
    case $1 in
      -h | --help)
        usage
        exit 0
        ;;
      --volumes) args+=(--volumes) ;;
      --dry-run) DRY_RUN=1 ;;
      *)
        err "unknown argument: $1 (see --help)"
        exit 2
        ;;
    esac
    shift
  done
  local env_args=(--env-file "$REPO_ROOT/versions.env") out files file
  [[ -f $REPO_ROOT/.env ]] && env_args+=(--env-file "$REPO_ROOT/.env")
  # The files of the log stack .env names (DEVPUSH_LOG_STORE), as start.sh used.
  out=$(compose_files "$REPO_ROOT" dev) || exit 2
  mapfile -t files <<<"$out"
  for file in "${files[@]}"; do env_args+=(-f "$file"); done
  run docker compose --project-directory "$REPO_ROOT" "${env_args[@]}" down "${args[@]}"
}

main "$@"
