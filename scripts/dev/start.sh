#!/usr/bin/env bash
# Start the development stack: docker-compose.yml + docker-compose.override.dev.yml,
# with the app and worker reloading on source changes.
#
# What it does: creates ./data/alloy (Alloy's positions), ./data/{otelcol,victorialogs}
# (the VictoriaLogs stack's state) and ./data/app, writes a development .env once (a
# local database password), then `docker compose up -d --build`. With
# DEVPUSH_LOG_STORE=victorialogs in .env it adds the VictoriaLogs Compose files.
# Extra arguments go to `docker compose up` (e.g. a service name).
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--dry-run] [--help] [SERVICE...]

Brings the development stack up (app on http://127.0.0.1:8000).
USAGE
}

dev_compose() {
  local out files=() file
  out=$(compose_files "$REPO_ROOT" dev) || exit 2
  mapfile -t files <<<"$out"
  local args=()
  for file in "${files[@]}"; do args+=(-f "$file"); done
  run docker compose --project-directory "$REPO_ROOT" \
    --env-file "$REPO_ROOT/versions.env" --env-file "$REPO_ROOT/.env" "${args[@]}" "$@"
}

main() {
  local services=()
  while (($# > 0)); do
    case $1 in
      -h | --help)
        usage
        exit 0
        ;;
      --dry-run) DRY_RUN=1 ;;
      -*)
        err "unknown option: $1 (see --help)"
        exit 2
        ;;
      *) services+=("$1") ;;
    esac
    shift
  done
  run mkdir -p "$REPO_ROOT/data/alloy" "$REPO_ROOT/data/otelcol" "$REPO_ROOT/data/victorialogs" "$REPO_ROOT/data/app"
  # The proxy runs as the app's uid (10001): its state and admin socket are that uid's.
  run install -d -m 0700 -o 10001 -g 10001 "$REPO_ROOT/data/caddy" "$REPO_ROOT/data/caddy/data" \
    "$REPO_ROOT/data/caddy/config" "$REPO_ROOT/data/caddy/admin"
  run install -d -m 0750 -o 10001 -g 10001 "$REPO_ROOT/data/caddy/logs"
  if [[ ! -f $REPO_ROOT/.env ]]; then
    if is_dry_run; then
      printf '+ write %s (development values)\n' "$REPO_ROOT/.env"
    else
      printf '# Development only (scripts/dev/start.sh).\nPOSTGRES_PASSWORD=devpush\n' >"$REPO_ROOT/.env"
    fi
  fi
  dev_compose up -d --build "${services[@]}"
  info "app: http://127.0.0.1:8000 (logs: docker compose logs -f app worker alloy)"
}

main "$@"
