# shellcheck shell=bash
# Helpers shared by scripts/prod/*.sh and scripts/dev/*.sh. Source it; it runs nothing.
#
#   info/warn/err/die      messages (colour only when the stream is a terminal)
#   command_exists NAME    is NAME on PATH
#   version_gte A B        A >= B in `sort -V` order
#   version_gt A B         A > B
#   is_dry_run             DRY_RUN=1 was asked for (--dry-run)
#   run CMD...             run CMD, or only print it under DRY_RUN
#   run_quiet MSG CMD...   run CMD with its output captured; print it only on failure
#   os_release_field KEY   a field of /etc/os-release (DEVPUSH_OS_RELEASE overrides the path)
#   compose ARGS...        `docker compose` on the installed stack, with versions.env
#
# Paths are overridable so tests can run the scripts in temp dirs:
#   DEVPUSH_DATA_ROOT (/srv/devpush)  data: Alloy positions, app data, the version file
#   DEVPUSH_APP_DIR   (/opt/devpush)  the release in use: compose files, Docker/, scripts/
# The Compose files bind /srv/devpush/... themselves: move the data root only for tests.

DEVPUSH_DATA_ROOT=${DEVPUSH_DATA_ROOT:-/srv/devpush}
DEVPUSH_APP_DIR=${DEVPUSH_APP_DIR:-/opt/devpush}
DRY_RUN=${DRY_RUN:-0}

_colour() {
  # $1: fd to test, $2: SGR code. Plain text when the fd is not a terminal or NO_COLOR is set.
  if [[ -t $1 && -z ${NO_COLOR:-} ]]; then
    printf '\033[%sm' "$2"
  fi
}

info() { printf '%s==>%s %s\n' "$(_colour 1 '1;34')" "$(_colour 1 0)" "$*"; }
warn() { printf '%swarning:%s %s\n' "$(_colour 2 '1;33')" "$(_colour 2 0)" "$*" >&2; }
err() { printf '%serror:%s %s\n' "$(_colour 2 '1;31')" "$(_colour 2 0)" "$*" >&2; }
die() {
  err "$@"
  exit 1
}

command_exists() { command -v "$1" >/dev/null 2>&1; }

version_gte() {
  [[ $1 == "$2" ]] && return 0
  [[ $(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1) == "$1" ]]
}

version_gt() { [[ $1 != "$2" ]] && version_gte "$1" "$2"; }

is_dry_run() { [[ $DRY_RUN == 1 ]]; }

run() {
  if is_dry_run; then
    printf '+ %s\n' "$*"
    return 0
  fi
  "$@"
}

run_quiet() {
  local msg=$1 out status=0
  shift
  if is_dry_run; then
    printf '+ %s\n' "$*"
    return 0
  fi
  info "$msg"
  out=$("$@" 2>&1) || status=$?
  if ((status != 0)); then
    err "$msg failed (exit $status): $*"
    [[ -n $out ]] && printf '%s\n' "$out" >&2
    return "$status"
  fi
}

os_release_field() {
  local file=${DEVPUSH_OS_RELEASE:-/etc/os-release}
  [[ -r $file ]] || return 1
  # A subshell, so the file's variables never leak into the caller.
  (
    # shellcheck disable=SC1090
    . "$file"
    printf '%s\n' "${!1:-}"
  )
}

# Docker Engine with the Compose plugin, from Docker's own packages (the convenience
# script): distribution packages lag behind, and Debian has no Compose v2 plugin.
install_docker_engine() {
  if command_exists docker; then
    info "Docker present: $(docker --version 2>/dev/null || echo unknown)"
  else
    info "installing Docker Engine and the Compose plugin (Docker's convenience script)"
    run curl -fsSL --retry 3 -o /tmp/get-docker.sh https://get.docker.com
    run sh /tmp/get-docker.sh
  fi
  if ! is_dry_run && ! docker compose version >/dev/null 2>&1; then
    die "'docker compose' does not answer: install the docker-compose-plugin package"
  fi
}

compose() {
  local dir=$DEVPUSH_APP_DIR
  local args=(--project-directory "$dir" --env-file "$dir/versions.env")
  [[ -f $dir/.env ]] && args+=(--env-file "$dir/.env")
  run docker compose "${args[@]}" -f "$dir/docker-compose.yml" "$@"
}

# Updatable components, in the order they are restarted; `--all` means all of them.
# shellcheck disable=SC2034 # used by the scripts that source this file
DEVPUSH_COMPONENTS=(postgres redis loki docker-proxy alloy app worker)

# The Compose services of one component (docker-proxy has two doors).
component_services() {
  case $1 in
    app | worker | alloy | loki | postgres | redis) printf '%s\n' "$1" ;;
    docker-proxy) printf '%s\n' docker-proxy-worker docker-proxy-alloy ;;
    *) return 1 ;;
  esac
}

# Exit 2 with the list of components unless $1 is one of them (argument checking).
require_component() {
  component_services "$1" >/dev/null && return 0
  err "unknown component: $1 (one of: ${DEVPUSH_COMPONENTS[*]})"
  exit 2
}

# Upgrade hooks of DIR (NAME.sh, NAME a version) with FROM < NAME <= TO, in `sort -V` order.
upgrade_hooks() {
  local dir=$1 from=$2 to=$3 file version
  [[ -d $dir ]] || return 0
  for file in "$dir"/*.sh; do
    [[ -e $file ]] || continue
    version=$(basename "$file" .sh)
    if version_gt "$version" "$from" && version_gte "$to" "$version"; then
      printf '%s\n' "$version"
    fi
  done | sort -V | while read -r version; do printf '%s\n' "$dir/$version.sh"; done
}
