# shellcheck shell=bash
# Helpers shared by scripts/prod/*.sh and scripts/dev/*.sh. Source it; it runs nothing.
#
#   info/warn/err/die      messages (colour only when the stream is a terminal)
#   command_exists NAME    is NAME on PATH
#   version_gte A B        A >= B in `sort -V` order (distribution versions: 22.04, 11)
#   version_gt A B         A > B
#   is_release_version V   V is a devpush release: X.Y.Z or the pre-release X.Y.Z-rc.N
#   require_release_version WHAT V   exit 2 with a clear error unless V is one
#   release_cmp A B        print -1, 0 or 1: release order (1.0.0-rc.1 < 1.0.0 < 1.0.1)
#   release_gte A B        A >= B in release order
#   is_dry_run             DRY_RUN=1 was asked for (--dry-run)
#   run CMD...             run CMD, or only print it under DRY_RUN
#   run_quiet MSG CMD...   run CMD with its output captured; print it only on failure
#   os_release_field KEY   a field of /etc/os-release (DEVPUSH_OS_RELEASE overrides the path)
#   compose ARGS...        `docker compose` on the installed stack, with versions.env
#   log_stack [DIR]        the log store (DEVPUSH_LOG_STORE): loki (default) or victorialogs
#   env_file_value FILE NAME  NAME's value in an env file
#   pinned_version FILE NAME  NAME's value in the versions file FILE; exits when unset
#   compose_files DIR [dev] the Compose files of DIR's stack, one per line
#   local_images [DIR]     DEVPUSH_LOCAL_IMAGES=1: the stack runs the server's own images
#   stack_components       the updatable components of the chosen log stack
#   parse_update_args VALUES FLAGS ARGS...  the update scripts' shared command line
#   parse_help_args ARGS...      a command line of -h/--help only (calls the script's usage)
#   parse_dry_run_args ARGS...   one of -h/--help or --dry-run (sets DRY_RUN=1), or nothing
#   devpush_cache_dir      where the development scripts keep what they build and fetch
#   find_go WHAT           the Go toolchain (go on PATH or /usr/local/go); WHAT it builds
#   go_tool_binary SRC NAME WHAT  build the Go program in SRC once into the cache; its path
#   go_install_binary GO PACKAGE@VERSION BIN [FLAGS...]  `go install` it into the file BIN
#
# Paths are overridable so tests can run the scripts in temp dirs:
#   DEVPUSH_DATA_ROOT (/srv/devpush)  data: Alloy positions, app data, the version file
#   DEVPUSH_APP_DIR   (/opt/devpush)  the release in use: compose files, Docker/, scripts/
# The Compose files bind ${DEVPUSH_DATA_ROOT:-/srv/devpush}/...: move the data root only for tests.

DEVPUSH_DATA_ROOT=${DEVPUSH_DATA_ROOT:-/srv/devpush}
# Compose reads it too: the stack's bind mounts live under it.
export DEVPUSH_DATA_ROOT
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

# devpush release versions: X.Y.Z (no leading zeros), or X.Y.Z-rc.N for a release
# candidate, which comes before X.Y.Z. `sort -V` can't order them (it puts 1.0.0-rc1
# after 1.0.0), so releases are compared field by field here.
_RELEASE_RE='^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})(-rc\.(0|[1-9][0-9]{0,8}))?$'

is_release_version() { [[ $1 =~ $_RELEASE_RE ]]; }

require_release_version() {
  is_release_version "$2" && return 0
  err "$1 '$2' is not a devpush release version: X.Y.Z, or X.Y.Z-rc.N for a release candidate (e.g. 1.2.0, 1.2.0-rc.1)"
  exit 2
}

# "X Y Z FINAL N": FINAL is 1 for a release, 0 for its candidates (which sort first).
_release_key() {
  [[ $1 =~ $_RELEASE_RE ]] || return 1
  if [[ -n ${BASH_REMATCH[4]} ]]; then
    printf '%s %s %s 0 %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" "${BASH_REMATCH[5]}"
  else
    printf '%s %s %s 1 0\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}"
  fi
}

release_cmp() {
  local a b i
  a=$(_release_key "$1") || { err "not a release version: $1"; return 2; }
  b=$(_release_key "$2") || { err "not a release version: $2"; return 2; }
  read -ra a <<<"$a"
  read -ra b <<<"$b"
  for i in 0 1 2 3 4; do
    if ((a[i] < b[i])); then echo -1 && return 0; fi
    if ((a[i] > b[i])); then echo 1 && return 0; fi
  done
  echo 0
}

release_gte() {
  local order
  order=$(release_cmp "$1" "$2") || return 2
  [[ $order != -1 ]]
}

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

# The log store (the one setting the app reads too): DEVPUSH_LOG_STORE from the
# environment, else from DIR/.env (default $DEVPUSH_APP_DIR), else loki. loki: Alloy ->
# Loki (docker-compose.yml alone); victorialogs: OpenTelemetry Collector -> VictoriaLogs
# (plus docker-compose.victorialogs.yml). Older installs named it DEVPUSH_LOG_STACK in
# .env: that name is still read, after DEVPUSH_LOG_STORE, so an old .env keeps its store.
log_stack() {
  local env_file=${1:-$DEVPUSH_APP_DIR}/.env stack=${DEVPUSH_LOG_STORE:-${DEVPUSH_LOG_STACK:-}} name
  if [[ -z $stack && -r $env_file ]]; then
    for name in DEVPUSH_LOG_STORE DEVPUSH_LOG_STACK; do
      stack=$(env_file_value "$env_file" "$name")
      [[ -n $stack ]] && break
    done
  fi
  case ${stack:-loki} in
    loki | victorialogs) printf '%s\n' "${stack:-loki}" ;;
    *)
      err "DEVPUSH_LOG_STORE=$stack is not a log store: loki or victorialogs"
      return 1
      ;;
  esac
}

# The value of NAME in the env file FILE, or nothing: the last assignment wins, as in
# Compose; a trailing comment, surrounding quotes and spaces dropped.
env_file_value() {
  local value
  value=$(sed -n "s/^[[:space:]]*$2[[:space:]]*=//p" "$1" | tail -n 1)
  value=${value%%#*}
  printf '%s' "$value" | tr -d "\"' \t\r"
}

# The value of NAME in the versions file FILE (versions.env); exits with an error when
# it is not set.
pinned_version() {
  local value
  value=$(env_file_value "$1" "$2")
  [[ -n $value ]] || die "$2 is not set in $1"
  printf '%s\n' "$value"
}

# DEVPUSH_LOCAL_IMAGES=1 (the environment, else DIR/.env): the stack runs images built on
# the server itself (scripts/dev/prod-images.sh, for servers that reach no image registry):
# docker-compose.local.yml names them, and the scripts never build or pull one.
local_images() {
  local env_file=${1:-$DEVPUSH_APP_DIR}/.env value=${DEVPUSH_LOCAL_IMAGES:-}
  if [[ -z $value && -r $env_file ]]; then
    value=$(env_file_value "$env_file" DEVPUSH_LOCAL_IMAGES)
  fi
  [[ $value == 1 || $value == true ]]
}

# The Compose files of the stack in DIR, in order: the production file, the dev override
# with `dev`, the VictoriaLogs files when that is the log stack, and the local images'
# file last (local_images).
compose_files() {
  local dir=$1 mode=${2:-prod} stack
  stack=$(log_stack "$dir") || return 1
  printf '%s\n' "$dir/docker-compose.yml"
  if [[ $mode == dev ]]; then printf '%s\n' "$dir/docker-compose.override.dev.yml"; fi
  if [[ $stack == victorialogs ]]; then
    printf '%s\n' "$dir/docker-compose.victorialogs.yml"
    if [[ $mode == dev ]]; then printf '%s\n' "$dir/docker-compose.victorialogs.dev.yml"; fi
  fi
  if [[ $mode != dev ]] && local_images "$dir"; then
    printf '%s\n' "$dir/docker-compose.local.yml"
  fi
}

compose() {
  local dir=$DEVPUSH_APP_DIR out files file
  local args=(--project-directory "$dir" --env-file "$dir/versions.env")
  [[ -f $dir/.env ]] && args+=(--env-file "$dir/.env")
  out=$(compose_files "$dir") || return 1
  mapfile -t files <<<"$out"
  for file in "${files[@]}"; do args+=(-f "$file"); done
  run docker compose "${args[@]}" "$@"
}

# Updatable components of each log stack, in the order they are restarted; `--all`
# means those of the chosen stack.
stack_components() {
  local stack
  stack=$(log_stack) || return 1
  case $stack in
    loki) printf '%s\n' postgres redis loki docker-proxy alloy proxy app worker ;;
    victorialogs) printf '%s\n' postgres redis victorialogs docker-proxy otelcol proxy app worker ;;
  esac
}

# The Compose services of one component of the chosen stack (app: the app and the route
# resolver; docker-proxy: the worker's door, and Alloy's where Alloy runs).
component_services() {
  local stack
  stack=$(log_stack) || return 1
  case $stack:$1 in
    # The route resolver runs the app's code and reads its tables: it is updated with it.
    *:app) printf '%s\n' app resolver resolver-2 ;;
    *:worker | *:postgres | *:redis | *:proxy) printf '%s\n' "$1" ;;
    loki:alloy | loki:loki | victorialogs:victorialogs | victorialogs:otelcol) printf '%s\n' "$1" ;;
    loki:docker-proxy) printf '%s\n' docker-proxy-worker docker-proxy-alloy ;;
    victorialogs:docker-proxy) printf '%s\n' docker-proxy-worker ;;
    *) return 1 ;;
  esac
}

# Exit 2 with the list of components unless $1 is one of the chosen stack's.
require_component() {
  local stack components
  stack=$(log_stack) || exit 2
  component_services "$1" >/dev/null && return 0
  components=$(stack_components | paste -sd ' ')
  case $1 in
    alloy | loki | victorialogs | otelcol)
      err "component $1 is not part of the $stack log stack (DEVPUSH_LOG_STORE in .env); components: $components"
      ;;
    *) err "unknown component: $1 (one of: $components)" ;;
  esac
  exit 2
}

# Where the development scripts keep what they build and fetch: $DEVPUSH_CACHE, else
# ~/.cache/devpush (devpush_dev.binaries.cache_dir() reads the same).
devpush_cache_dir() {
  printf '%s\n' "${DEVPUSH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/devpush}"
}

# The Go toolchain: `go` on PATH, else the official tarball's /usr/local/go; prints it.
# WHAT says what it builds in the error when neither is there.
find_go() {
  if command_exists go; then
    printf 'go\n'
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '/usr/local/go/bin/go\n'
  else
    die "no Go toolchain (go on PATH or /usr/local/go); it builds $1"
  fi
}

# The Go program in SRC (go.mod, go.sum, *.go) built into
# ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/NAME-<hash of those files> unless it is there
# already; prints the binary's path. WHAT says what it is in the error when Go is missing.
go_tool_binary() {
  local src=$1 name=$2 what=$3 go hash bin
  local cache
  cache=$(devpush_cache_dir)
  go=$(find_go "$what")
  hash=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)
  bin="$cache/bin/$name-$hash"
  if [[ ! -x $bin ]]; then
    mkdir -p "$cache/bin"
    printf '==> building %s (first time: about a minute)\n' "$bin" >&2
    (cd "$src" && CGO_ENABLED=0 "$go" build -trimpath -o "$bin.tmp" .)
    mv "$bin.tmp" "$bin"
  fi
  printf '%s\n' "$bin"
}

# `go install` of PACKAGE@VERSION with the toolchain GO (the module's own go.sum pins it;
# a go.mod around is ignored), the binary moved to the file BIN; FLAGS go to `go install`.
# Exits with an error when the build fails.
go_install_binary() {
  local go=$1 package=$2 bin=$3 gobin name
  shift 3
  name=${package%@*}
  name=${name##*/}
  mkdir -p "$(dirname "$bin")"
  gobin=$(mktemp -d)
  if ! GOBIN=$gobin CGO_ENABLED=0 "$go" install -trimpath "$@" "$package"; then
    rm -rf "$gobin"
    die "building $name ${package##*@} failed"
  fi
  mv "$gobin/$name" "$bin"
  rm -rf "$gobin"
}

# The Go command PACKAGE (its import path, no version) at the version NAME pins in the
# versions file FILE, built once with `go install` into
# ${DEVPUSH_CACHE:-~/.cache/devpush}/bin/<command>-<version> unless it is there already;
# prints the binary's path.
pinned_go_binary() {
  local file=$1 name=$2 package=$3 version command go bin
  version=$(pinned_version "$file" "$name")
  command=${package##*/}
  bin="$(devpush_cache_dir)/bin/$command-$version"
  if [[ ! -x $bin ]]; then
    go=$(find_go "$command $version")
    printf '==> building %s (first time: about two minutes)\n' "$bin" >&2
    go_install_binary "$go" "$package@v$version" "$bin"
  fi
  printf '%s\n' "$bin"
}

# A script that takes no argument but -h/--help: prints its usage and exits 0 on that,
# exits 2 on anything else.
parse_help_args() {
  if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    usage
    exit 0
  fi
  if (($# > 0)); then
    err "unknown argument: $1 (see --help)"
    exit 2
  fi
}

# A script that takes one of -h/--help (prints its usage, exits 0) or --dry-run (sets
# DRY_RUN=1), or nothing; exits 2 on anything else.
parse_dry_run_args() {
  case ${1:-} in
    -h | --help)
      usage
      exit 0
      ;;
    --dry-run) DRY_RUN=1 ;;
    '') ;;
    *)
      err "unknown argument: $1 (see --help)"
      exit 2
      ;;
  esac
}

# The command line of update.sh and update-apply.sh: VALUES and FLAGS are the script's
# own options (space-separated, e.g. "--version --tarball" and "--hooks-only"); besides
# them, --dry-run (sets DRY_RUN=1), --all, -h/--help (calls the script's usage) and
# component names, each checked. Sets UPDATE_VALUES[--opt], UPDATE_FLAGS[--flag]=1,
# UPDATE_ALL (0/1) and UPDATE_COMPONENTS in the order given; exits 2 on a bad argument.
# shellcheck disable=SC2034  # the UPDATE_* results are read by the calling script
parse_update_args() {
  local values=" $1 " flags=" $2 "
  shift 2
  declare -gA UPDATE_VALUES=() UPDATE_FLAGS=()
  UPDATE_ALL=0 UPDATE_COMPONENTS=()
  while (($# > 0)); do
    case $1 in
      --dry-run) DRY_RUN=1 ;;
      --all) UPDATE_ALL=1 ;;
      -h | --help)
        usage
        exit 0
        ;;
      -*)
        if [[ $values == *" $1 "* ]]; then
          [[ -n ${2:-} ]] || { err "$1 needs a value"; exit 2; }
          UPDATE_VALUES[$1]=$2
          shift
        elif [[ $flags == *" $1 "* ]]; then
          UPDATE_FLAGS[$1]=1
        else
          err "unknown option: $1 (see --help)"
          exit 2
        fi
        ;;
      *)
        require_component "$1"
        UPDATE_COMPONENTS+=("$1")
        ;;
    esac
    shift
  done
}

# Upgrade hooks of DIR (NAME.sh, NAME a release version) with FROM < NAME <= TO, in release
# order. A hook whose name is not a release version is reported and skipped.
upgrade_hooks() {
  local dir=$1 from=$2 to=$3 file version
  [[ -d $dir ]] || return 0
  for file in "$dir"/*.sh; do
    [[ -e $file ]] || continue
    version=$(basename "$file" .sh)
    if ! is_release_version "$version"; then
      warn "skipping upgrade hook $file: its name is not a release version"
      continue
    fi
    if ! release_gte "$from" "$version" && release_gte "$to" "$version"; then
      printf '%s %s\n' "$(_release_key "$version")" "$version"
    fi
  done | sort -n -k1,1 -k2,2 -k3,3 -k4,4 -k5,5 | while read -r _ _ _ _ _ version; do
    printf '%s\n' "$dir/$version.sh"
  done
}
