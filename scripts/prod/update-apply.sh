#!/usr/bin/env bash
# Apply the release this script belongs to onto the installed devpush, as root.
# Called by scripts/prod/update.sh from the unpacked new release; safe to run again.
#
# What it does, in order:
#   1. copies this release over $DEVPUSH_APP_DIR (keeping .env);
#   2. runs the upgrade hooks scripts/prod/upgrades/V.sh with installed < V <= new,
#      in release order (1.0.0-rc.1 before 1.0.0); each is best-effort: a failure is reported, the update
#      goes on, and the script exits 3 at the end naming the hooks that failed;
#   3. rebuilds/pulls and restarts the chosen components with Compose; with
#      DEVPUSH_LOCAL_IMAGES=1 (scripts/lib.sh, local_images) it builds and pulls nothing:
#      the images are the server's own, made before the update;
#   4. records the new version in $DEVPUSH_DATA_ROOT/version.
# --hooks-only runs step 2 alone (to retry hooks after fixing their cause).
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RELEASE_DIR=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$RELEASE_DIR/scripts/lib.sh"

usage() {
  cat <<USAGE
Usage: update-apply.sh --to X.Y.Z [--from X.Y.Z] [--dry-run] [--hooks-only] (--all | COMPONENT...)

Components of the $(log_stack 2>/dev/null || echo unknown) log stack: $(stack_components 2>/dev/null | paste -sd ' ')
(--all: every one of them). The log stack is DEVPUSH_LOG_STORE in .env: loki
(loki, alloy; the default) or victorialogs (victorialogs, otelcol).

  --to X.Y.Z     the version of this release (X.Y.Z-rc.N for a release candidate)
  --from X.Y.Z   the installed version (default: $DEVPUSH_DATA_ROOT/version)
  --hooks-only   only run the upgrade hooks between the two versions
  --dry-run      print the commands and the hooks instead of running them
  -h, --help     this help

DEVPUSH_LOCAL_IMAGES=1 (environment or .env): the stack runs the server's own images
(docker-compose.local.yml, built by scripts/dev/prod-images.sh): nothing is built or pulled.
USAGE
}

sync_release() {
  if [[ $RELEASE_DIR -ef $DEVPUSH_APP_DIR ]]; then
    return
  fi
  info "copying release $TO_VERSION into $DEVPUSH_APP_DIR"
  run cp -a "$RELEASE_DIR/." "$DEVPUSH_APP_DIR/"
}

# Runs (or under --dry-run prints) each hook; failed ones are collected in FAILED_HOOKS.
run_hooks() {
  local hooks hook status failed=()
  mapfile -t hooks < <(upgrade_hooks "$RELEASE_DIR/scripts/prod/upgrades" "$FROM_VERSION" "$TO_VERSION")
  if ((${#hooks[@]} == 0)); then
    info "no upgrade hooks between $FROM_VERSION and $TO_VERSION"
    return 0
  fi
  for hook in "${hooks[@]}"; do
    info "upgrade hook $(basename "$hook")"
    status=0
    run bash "$hook" || status=$?
    if ((status != 0)); then
      warn "upgrade hook $(basename "$hook") failed (exit $status); continuing"
      failed+=("$(basename "$hook")")
    fi
  done
  FAILED_HOOKS=("${failed[@]}")
}

restart_components() {
  local component services=() build=() pull=()
  for component in "${COMPONENTS[@]}"; do
    mapfile -t -O "${#services[@]}" services < <(component_services "$component")
  done
  for component in "${services[@]}"; do
    case $component in
      app | worker | resolver | resolver-2) build+=("$component") ;;
      *) pull+=("$component") ;;
    esac
  done
  if local_images; then
    # docker-compose.local.yml: the images are the server's own, built before the update
    # (scripts/dev/prod-images.sh from this release); nothing to build or pull.
    info "local images (DEVPUSH_LOCAL_IMAGES): not building or pulling ${services[*]}"
    pull=()
  elif ((${#build[@]} > 0)); then
    compose build "${build[@]}"
  fi
  if ((${#build[@]} > 0)); then
    # --no-deps below skips the one-shot migrate service: run the new code's migrations
    # first, so the new app and worker never start on an old schema.
    info "migrating the database"
    compose run --rm migrate
  fi
  ((${#pull[@]} > 0)) && compose pull "${pull[@]}"
  restart_resolvers_one_at_a_time
  ((${#services[@]} > 0)) || return 0
  info "restarting: ${services[*]}"
  compose up -d --no-deps --wait "${services[@]}"
  rejoin_runner_networks
}

# A re-created proxy container is on no project's runner network (docs/network.md): the
# worker's reconcile pass connects it to each at once, not at the next minute.
rejoin_runner_networks() {
  [[ " ${services[*]} " == *" proxy "* ]] || return 0
  info "connecting the proxy to the projects' runner networks"
  compose exec -T worker python -m devpush.workers.tasks.reconcile ||
    warn "the proxy rejoins the runner networks within a minute (the worker's reconcile job)"
}

# The proxy asks either route resolver: restarted one after the other, each healthy again
# before the next stops, one always answers (a URL never loses its route in an update).
# They leave SERVICES, so the restart of the rest leaves them alone.
restart_resolvers_one_at_a_time() {
  local resolver rest=() service
  for resolver in resolver resolver-2; do
    [[ " ${services[*]} " == *" $resolver "* ]] || continue
    info "restarting: $resolver"
    compose up -d --no-deps --wait "$resolver"
  done
  for service in "${services[@]}"; do
    [[ $service == resolver || $service == resolver-2 ]] || rest+=("$service")
  done
  services=("${rest[@]}")
}

record_version() {
  if is_dry_run; then
    printf '+ write %s/version: %s\n' "$DEVPUSH_DATA_ROOT" "$TO_VERSION"
    return
  fi
  printf '%s\n' "$TO_VERSION" >"$DEVPUSH_DATA_ROOT/version"
}

main() {
  parse_update_args "--to --from" "--hooks-only" "$@"
  TO_VERSION=${UPDATE_VALUES[--to]:-} FROM_VERSION=${UPDATE_VALUES[--from]:-}
  COMPONENTS=("${UPDATE_COMPONENTS[@]}") FAILED_HOOKS=()
  local hooks_only=${UPDATE_FLAGS[--hooks-only]:-0} all
  if ((UPDATE_ALL == 1)); then
    # The chosen log stack's components (DEVPUSH_LOG_STORE in .env).
    all=$(stack_components) || exit 2
    mapfile -t COMPONENTS <<<"$all"
  fi
  [[ -n $TO_VERSION ]] || { err "--to X.Y.Z is required (see --help)"; exit 2; }
  if [[ -z $FROM_VERSION ]]; then
    [[ -r $DEVPUSH_DATA_ROOT/version ]] || die "no $DEVPUSH_DATA_ROOT/version: pass --from X.Y.Z"
    FROM_VERSION=$(<"$DEVPUSH_DATA_ROOT/version")
  fi
  if ((hooks_only == 0 && ${#COMPONENTS[@]} == 0)); then
    err "name the components to update, or --all (see --help)"
    exit 2
  fi
  require_release_version "--to" "$TO_VERSION"
  require_release_version "the installed version (--from or $DEVPUSH_DATA_ROOT/version)" "$FROM_VERSION"
  release_gte "$TO_VERSION" "$FROM_VERSION" || die "refusing to downgrade from $FROM_VERSION to $TO_VERSION"
  export DRY_RUN DEVPUSH_DATA_ROOT DEVPUSH_APP_DIR
  info "devpush $FROM_VERSION -> $TO_VERSION${COMPONENTS[*]:+ (components: ${COMPONENTS[*]})}"

  if ((hooks_only == 0)); then
    sync_release
  fi
  run_hooks
  if ((hooks_only == 0)); then
    restart_components
    record_version
  fi
  if ((${#FAILED_HOOKS[@]} > 0)); then
    err "upgrade hooks failed: ${FAILED_HOOKS[*]}; rerun with --hooks-only after fixing the cause"
    exit 3
  fi
  info "done"
}

main "$@"
