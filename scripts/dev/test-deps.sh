#!/usr/bin/env bash
# Provision everything the test suite needs on a Debian machine, as root.
#
# What it does (each step skips itself when already done, so it is safe to rerun):
#   - installs Debian packages: the Docker engine (docker.io), HAProxy (the
#     Docker socket proxy in tests), Caddy (the reverse proxy of deployment URLs;
#     its Debian service is left alone: devpush runs caddy itself), busybox-static and debootstrap (runner
#     images), PostgreSQL, Chromium, shellcheck, git, OpenSSH's server (the tests' git host for
#     deploy keys; they run their own sshd, the Debian service is disabled), rsyslog (a
#     log drains' receiver; the tests run their own rsyslogd, the Debian service is disabled);
#   - starts dockerd when it is not answering, and waits for it;
#   - starts PostgreSQL and creates the `devpush_test` role and database;
#   - installs uv (the Python project manager) from PyPI when missing;
#   - installs the forges' own webhook code and examples (tests/forges/package.json, from
#     the npm registry) into the cache, for the webhook tests;
#   - imports the local test images (no registry is reachable), caching their
#     root filesystems under ${DEVPUSH_CACHE:-~/.cache/devpush};
#   - builds VictoriaLogs and the OpenTelemetry Collector into that cache
#     (scripts/dev/logstack.sh), and the Caddy version Compose pins
#     (scripts/dev/go-tool.sh caddy), which the local run and the tests run, and
#     Pebble, the test ACME server of the custom-domain tests (scripts/dev/pebble-pinned.sh),
#     and the distribution registry of the swarm tests (scripts/dev/go-tool.sh registry);
#   - builds Docker Compose v5 from its Go module and installs it as the `docker compose`
#     plugin (scripts/dev/compose.sh), then the production stack's images from local
#     parts (scripts/dev/prod-images.sh), for the Compose end-to-end suite.
# What it does not do: pull anything from an image registry; build Loki or
# Alloy (see README, "Testing": those modules cannot be fetched here).
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
# shellcheck source=scripts/dev/images.sh
source "$REPO_ROOT/scripts/dev/images.sh"

APT_PACKAGES=(docker.io haproxy caddy busybox-static debootstrap postgresql chromium shellcheck git iptables ca-certificates openssh-server rsyslog)
PG_ROLE=devpush_test
# Another apt (unattended-upgrades, cloud-init) often holds these on a fresh machine: wait for
# it, up to DEVPUSH_DPKG_LOCK_TIMEOUT seconds, rather than fail at once.
DPKG_LOCKS=${DEVPUSH_DPKG_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock}
DPKG_LOCK_TIMEOUT=${DEVPUSH_DPKG_LOCK_TIMEOUT:-300}

usage() {
  cat <<EOF
Usage: $(basename "$0") [--local-run | --help]

Installs and starts what the tests need on Debian (run as root): Docker engine,
HAProxy, Caddy, PostgreSQL, Chromium, shellcheck, OpenSSH's server, uv, the local test
images, the pinned Caddy and the log stack (built once), the forges' webhook fixtures,
Docker Compose v5 and the production stack's images.
Safe to run again: finished steps are skipped.

  --local-run   only what scripts/dev/local.sh needs: no webhook fixtures, checkers,
                Compose or production images

When another package manager holds the dpkg or apt lock, it waits for it up to
DEVPUSH_DPKG_LOCK_TIMEOUT seconds (default 300), saying so, then gives up.
EOF
}

check_platform() {
  if [[ $EUID -ne 0 ]]; then
    err "run as root: it installs Debian packages and starts dockerd"
    exit 1
  fi
  if ! grep -qiE '^(ID|ID_LIKE)=.*debian' /etc/os-release; then
    err "this script supports Debian and its derivatives only"
    exit 1
  fi
}

# The PID holding one of DPKG_LOCKS (apt and dpkg take POSIX locks, flock(1) takes BSD ones:
# lslocks lists both), or nothing when they are free.
dpkg_lock_holder() {
  local lock
  for lock in $DPKG_LOCKS; do
    [[ -e $lock ]] || continue
    lslocks --noheadings --raw --output PID,PATH 2>/dev/null |
      awk -v path="$lock" '$2 == path && $1 > 0 && !found { print $1; found = 1 } END { exit !found }' &&
      return 0
  done
  return 1
}

wait_for_dpkg_lock() {
  local holder waited=0 announced=
  while holder=$(dpkg_lock_holder); do
    if [[ -z $announced ]]; then
      info "the dpkg lock is held by process $holder ($(ps -o args= -p "$holder" 2>/dev/null || echo 'gone')): waiting up to ${DPKG_LOCK_TIMEOUT} s for it to finish"
      announced=1
    fi
    if ((waited >= DPKG_LOCK_TIMEOUT)); then
      err "the dpkg lock is still held by process $holder after ${DPKG_LOCK_TIMEOUT} s; let it finish (or stop it) and run this again"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  [[ -z $announced ]] || info "dpkg lock free after ${waited} s; continuing"
}

install_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    info "Debian packages present"
    return
  fi
  info "installing Debian packages: ${missing[*]}"
  wait_for_dpkg_lock
  # apt waits too, for a lock taken between the check above and its own start.
  local apt_wait=(-o "DPkg::Lock::Timeout=$DPKG_LOCK_TIMEOUT")
  apt-get "${apt_wait[@]}" update -q
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_wait[@]}" install -y -q --no-install-recommends "${missing[@]}"
}

# Debian's caddy package enables a service serving :80 and its admin API on :2019;
# devpush starts caddy itself (devpush_dev/caddy.py), so the service must not hold them.
disable_caddy_service() {
  if [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet caddy.service 2>/dev/null; then
    info "disabling Debian's caddy service (devpush runs its own Caddy)"
    systemctl disable --now caddy.service
  fi
}

# The tests start their own sshd on loopback (a git host for deploy keys), not the system's.
disable_ssh_service() {
  if [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet ssh.service 2>/dev/null; then
    info "disabling Debian's ssh service (the tests run their own sshd)"
    systemctl disable --now ssh.service
  fi
}

# The drains' tests start their own rsyslogd on loopback, not the system's.
disable_rsyslog_service() {
  if [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet rsyslog.service 2>/dev/null; then
    info "disabling Debian's rsyslog service (the tests run their own rsyslogd)"
    systemctl disable --now rsyslog.service syslog.socket
  fi
}

# GitHub's published webhook examples and signing code (tests/forges/), installed once per
# lock file into the cache: the webhook tests sign and post them with GitHub's own code.
install_forge_fixtures() {
  local cache
  cache=$(devpush_cache_dir)
  local src="$REPO_ROOT/tests/forges" dest="$cache/forges"
  if ! command_exists node; then
    info "installing Node.js (Debian)"
    wait_for_dpkg_lock
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
  fi
  if [[ -d $dest/node_modules ]] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    return
  fi
  info "installing the forges' webhook fixtures from npm into $dest"
  mkdir -p "$dest"
  cp "$src/package.json" "$src/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
}

start_dockerd() {
  if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    info "Docker engine answering"
    return
  fi
  info "starting dockerd"
  mkdir -p /var/log/devpush
  # setsid: dockerd outlives this script and the test run that started it.
  setsid dockerd >/var/log/devpush/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && return
    sleep 1
  done
  err "dockerd did not answer within 60 s; see /var/log/devpush/dockerd.log"
  tail -n 20 /var/log/devpush/dockerd.log >&2 || true
  exit 1
}

start_postgres() {
  local version
  version=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
  if [[ -z $version ]]; then
    err "no PostgreSQL cluster found (pg_lsclusters is empty)"
    exit 1
  fi
  if ! pg_lsclusters --no-header | awk 'NR==1 {print $4}' | grep -q online; then
    info "starting PostgreSQL $version"
    pg_ctlcluster "$version" main start
  fi
  if ! runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='$PG_ROLE'" | grep -q 1; then
    info "creating PostgreSQL role and database $PG_ROLE"
    runuser -u postgres -- psql -q -c "CREATE ROLE $PG_ROLE LOGIN PASSWORD '$PG_ROLE' CREATEDB"
    runuser -u postgres -- createdb -O "$PG_ROLE" "$PG_ROLE"
  fi
  # DROP DATABASE ... WITH (FORCE) in the test fixtures must also end an
  # autovacuum worker that happens to be on the database: it has no role,
  # so only pg_signal_backend lets a non-superuser terminate it.
  runuser -u postgres -- psql -q -c "GRANT pg_signal_backend TO $PG_ROLE" 2>/dev/null
}

install_uv() {
  if command_exists uv; then
    return
  fi
  info "installing uv from PyPI"
  python3 -m pip install --quiet uv
}

main() {
  local local_run=0
  case ${1:-} in
    --local-run)
      local_run=1
      shift
      ;;
  esac
  parse_help_args "$@"
  check_platform
  install_packages
  disable_caddy_service
  disable_ssh_service
  disable_rsyslog_service
  start_dockerd
  start_postgres
  install_uv
  build_test_images
  # Compose's pinned Caddy: the local run's and the tests' proxy, and `caddy validate`.
  "$REPO_ROOT/scripts/dev/go-tool.sh" caddy >/dev/null
  # Pebble, the ACME server the custom-domain tests get their certificates from.
  "$REPO_ROOT/scripts/dev/pebble-pinned.sh" >/dev/null
  # The registry swarm mode pushes Dockerfile builds to (the swarm tests run it).
  "$REPO_ROOT/scripts/dev/go-tool.sh" registry >/dev/null
  # The embedded log stack (VictoriaLogs and the collector), built from source once.
  "$REPO_ROOT/scripts/dev/logstack.sh" >/dev/null
  if ((local_run == 1)); then
    info "local run dependencies ready"
    return
  fi
  install_forge_fixtures
  # The Compose/Dockerfile checker (compose-go + BuildKit parser), built once and cached.
  "$REPO_ROOT/scripts/dev/go-tool.sh" compose-validator >/dev/null
  "$REPO_ROOT/scripts/dev/go-tool.sh" alloy-syntax >/dev/null # parses config.alloy with Alloy's parser
  # Docker Compose v5 (the production stack's Compose) and that stack's images, made locally.
  "$REPO_ROOT/scripts/dev/compose.sh" >/dev/null
  "$REPO_ROOT/scripts/dev/prod-images.sh"
  info "test dependencies ready"
}

# Sourced (the tests call its functions), it only defines them.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
