#!/usr/bin/env bash
# Install devpush on a fresh Ubuntu or Debian server, as root.
#
# What it does:
#   - checks the distribution (Ubuntu or Debian, from /etc/os-release);
#   - installs Docker Engine with the Compose plugin when `docker` is missing
#     (Docker's convenience script), and checks `docker compose` answers;
#   - creates the `devpush` system user and the data directories under
#     /srv/devpush, including /srv/devpush/alloy (Alloy's tail positions) and
#     /srv/devpush/{victorialogs,otelcol} (the VictoriaLogs stack's state, made
#     whichever stack runs, so switching later needs no new directory);
#     and /srv/devpush/caddy (the proxy's certificates, saved routes, admin socket);
#   - fetches the release tarball of the version it installs (never a branch)
#     into /opt/devpush, writes /opt/devpush/.env with generated secrets and
#     the log stack (--log-stack) once, and starts the stack with Compose
#     (versions pinned by versions.env).
# What it does not do: touch the firewall, set up TLS (put a reverse proxy in
# front of 127.0.0.1:8000), or overwrite an existing .env.
# Needs: root, curl, tar, and network access to the release and image registries.
#
# From a downloaded release:  sudo scripts/prod/install.sh [--dry-run]
# Dry run: prints every command that changes the system instead of running it.
set -Eeuo pipefail

# The version this script installs; a release's script installs that release.
DEVPUSH_VERSION=${DEVPUSH_VERSION:-0.1.2}
DEVPUSH_REPO=${DEVPUSH_REPO:-hunvreus/devpush}

usage() {
  cat <<USAGE
Usage: install.sh [--dry-run] [--version X.Y.Z] [--tarball FILE] [--log-store STORE] [--help]

Installs devpush $DEVPUSH_VERSION on Ubuntu or Debian (run as root).

  --dry-run        print the commands instead of running them
  --version X.Y.Z  install another release (default $DEVPUSH_VERSION); X.Y.Z-rc.N for a
                   release candidate
  --tarball FILE   use a release tarball already on disk instead of downloading
  --log-store S    loki (Alloy -> Loki, the default) or victorialogs
                   (OpenTelemetry Collector -> VictoriaLogs); written to .env
                   as DEVPUSH_LOG_STORE (--log-stack is the old name)
  -h, --help       this help

Environment: DEVPUSH_APP_DIR (/opt/devpush), DEVPUSH_DATA_ROOT (/srv/devpush).
USAGE
}

# Helpers come from the release itself (scripts/lib.sh): beside this script when run
# from an unpacked release, else from the downloaded tarball of the same version.
load_lib() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]:-.}")" && pwd)
  if [[ -f $here/../lib.sh ]]; then
    # shellcheck source=scripts/lib.sh
    source "$here/../lib.sh"
    LOCAL_TREE=$(cd "$here/../.." && pwd)
    return
  fi
  fetch_release
  # shellcheck source=/dev/null
  source "$RELEASE_DIR/scripts/lib.sh"
}

release_url() { printf 'https://github.com/%s/archive/refs/tags/v%s.tar.gz\n' "$DEVPUSH_REPO" "$DEVPUSH_VERSION"; }

# Downloads (or takes --tarball) and unpacks the release into a temp dir: RELEASE_DIR.
# Read-only for the system, so it also runs under --dry-run.
fetch_release() {
  [[ -n ${RELEASE_DIR:-} ]] && return
  if [[ $DRY_RUN == 1 && -z ${TARBALL:-} && -n ${LOCAL_TREE:-} ]]; then
    # Nothing to read from the network: show the download, use this unpacked release.
    printf '+ curl -fsSL --retry 3 -o devpush-%s.tar.gz %s\n' "$DEVPUSH_VERSION" "$(release_url)"
    RELEASE_DIR=$LOCAL_TREE
    return
  fi
  # Global: the EXIT trap runs after main has returned.
  TMP_DIR=$(mktemp -d)
  trap 'rm -rf "$TMP_DIR"' EXIT
  local tmp=$TMP_DIR
  if [[ -z ${TARBALL:-} ]]; then
    TARBALL="$tmp/devpush-$DEVPUSH_VERSION.tar.gz"
    printf '==> downloading %s\n' "$(release_url)"
    curl -fsSL --retry 3 -o "$TARBALL" "$(release_url)"
  fi
  mkdir -p "$tmp/release"
  tar -xzf "$TARBALL" -C "$tmp/release" --strip-components=1
  RELEASE_DIR="$tmp/release"
}

check_distro() {
  local id version
  id=$(os_release_field ID) || die "cannot read /etc/os-release: is this Ubuntu or Debian?"
  version=$(os_release_field VERSION_ID || true)
  case $id in
    ubuntu) version_gte "$version" 22.04 || die "Ubuntu $version is too old: 22.04 or newer is supported" ;;
    debian) version_gte "$version" 11 || die "Debian $version is too old: 11 or newer is supported" ;;
    *) die "unsupported distribution '$id': devpush installs on Ubuntu or Debian" ;;
  esac
  info "distribution: $id $version"
}

create_user() {
  if id devpush >/dev/null 2>&1; then
    info "user devpush exists"
    return
  fi
  run useradd --system --user-group --home-dir "$DEVPUSH_DATA_ROOT" --shell /usr/sbin/nologin devpush
}

create_dirs() {
  run install -d -m 0755 "$DEVPUSH_DATA_ROOT"
  # Collector state survives container re-creation: Alloy's positions (how far each
  # log file was read), or the OpenTelemetry Collector's positions and send queue, and
  # VictoriaLogs' data. All of them, whichever log stack runs: switching needs no step here.
  run install -d -m 0755 "$DEVPUSH_DATA_ROOT/alloy"
  run install -d -m 0755 "$DEVPUSH_DATA_ROOT/otelcol"
  run install -d -m 0755 "$DEVPUSH_DATA_ROOT/victorialogs"
  # App and worker data; the containers run as uid 10001 (Docker/Dockerfile.app).
  run install -d -m 0750 -o 10001 -g 10001 "$DEVPUSH_DATA_ROOT/data"
  # The proxy (Caddy, uid 10001 too): certificates, its saved routes, its admin socket.
  run install -d -m 0750 -o 10001 -g 10001 "$DEVPUSH_DATA_ROOT/caddy"
  local dir
  for dir in data config admin; do
    run install -d -m 0700 -o 10001 -g 10001 "$DEVPUSH_DATA_ROOT/caddy/$dir"
  done
  # Its access log (request logs): the log collector reads it through group 10001.
  run install -d -m 0750 -o 10001 -g 10001 "$DEVPUSH_DATA_ROOT/caddy/logs"
  run install -d -m 0755 "$DEVPUSH_APP_DIR"
}

install_release() {
  info "installing devpush $DEVPUSH_VERSION into $DEVPUSH_APP_DIR"
  run cp -a "$RELEASE_DIR/." "$DEVPUSH_APP_DIR/"
}

random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

write_env() {
  local env_file="$DEVPUSH_APP_DIR/.env" stack kept
  stack=$(log_stack) || exit 2
  if [[ -f $env_file ]]; then
    # An existing .env decides the log stack; a different --log-stack is a mistake.
    kept=$(DEVPUSH_LOG_STORE='' DEVPUSH_LOG_STACK='' log_stack) || exit 2
    if [[ -n $LOG_STACK && $LOG_STACK != "$kept" ]]; then
      die "$env_file says the log stack is $kept; to switch, edit DEVPUSH_LOG_STORE there (docs/logging.md)"
    fi
    info "$env_file exists: keeping its secrets (log stack: $kept)"
    return
  fi
  if is_dry_run; then
    printf '+ write %s (mode 0600): DEVPUSH_SECRET_KEY, POSTGRES_PASSWORD (generated), DEVPUSH_LOG_STORE=%s\n' "$env_file" "$stack"
    return
  fi
  (
    umask 077
    cat >"$env_file" <<ENV
# Written by scripts/prod/install.sh; keep it secret. Read by Compose and the app.
DEVPUSH_SECRET_KEY=$(random_hex)
POSTGRES_PASSWORD=$(random_hex)
# The log store: loki (Alloy -> Loki) or victorialogs (OpenTelemetry Collector ->
# VictoriaLogs). The scripts read it to pick the Compose files; see docs/logging.md.
DEVPUSH_LOG_STORE=$stack
# The web app's worker processes (default: one per core, at least two).
#DEVPUSH_WEB_WORKERS=4
# Deployment URLs: https://<project>.DOMAIN, https://<env>-<project>.DOMAIN and
# https://<id>-<project>.DOMAIN; point DOMAIN and *.DOMAIN at this machine (docs/routing.md).
DEVPUSH_DOMAIN=localhost
# The ACME account of the certificates (optional).
#DEVPUSH_ACME_EMAIL=ops@example.com
# This server's public addresses (IPv4 and IPv6, comma separated): the A/AAAA records a
# custom domain points at (docs/domains.md).
#DEVPUSH_SERVER_ADDRESSES=203.0.113.7,2001:db8::7
ENV
  )
  info "wrote $env_file with generated secrets"
}

record_version() {
  if is_dry_run; then
    printf '+ write %s/version: %s\n' "$DEVPUSH_DATA_ROOT" "$DEVPUSH_VERSION"
    return
  fi
  printf '%s\n' "$DEVPUSH_VERSION" >"$DEVPUSH_DATA_ROOT/version"
}

start_stack() {
  info "building the app image and starting the stack"
  compose up -d --build --wait
}

main() {
  DRY_RUN=0
  TARBALL=
  LOCAL_TREE=
  LOG_STACK=
  while (($# > 0)); do
    case $1 in
      --dry-run) DRY_RUN=1 ;;
      --version)
        [[ -n ${2:-} ]] || { printf 'error: --version needs a value\n' >&2; exit 2; }
        DEVPUSH_VERSION=$2
        shift
        ;;
      --log-store | --log-stack)
        [[ ${2:-} == loki || ${2:-} == victorialogs ]] || {
          printf 'error: %s needs loki or victorialogs\n' "$1" >&2
          exit 2
        }
        LOG_STACK=$2
        shift
        ;;
      --tarball)
        [[ -f ${2:-} ]] || { printf 'error: --tarball needs an existing file\n' >&2; exit 2; }
        TARBALL=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
        shift
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      *)
        printf 'error: unknown argument: %s (see --help)\n' "$1" >&2
        exit 2
        ;;
    esac
    shift
  done
  export DRY_RUN
  # The chosen stack wins over the default until .env records it (write_env).
  if [[ -n $LOG_STACK ]]; then export DEVPUSH_LOG_STORE=$LOG_STACK; fi
  load_lib
  require_release_version --version "$DEVPUSH_VERSION"
  if ! is_dry_run && [[ $EUID -ne 0 ]]; then
    die "run as root (sudo $0): it installs packages and writes under $DEVPUSH_DATA_ROOT"
  fi
  is_dry_run && info "dry run: printing commands, changing nothing"
  check_distro
  install_docker_engine
  create_user
  create_dirs
  fetch_release
  install_release
  write_env
  record_version
  start_stack
  is_dry_run || info "devpush $DEVPUSH_VERSION is running: http://127.0.0.1:8000 (put TLS in front of it)"
}

main "$@"
