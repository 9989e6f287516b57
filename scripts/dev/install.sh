#!/usr/bin/env bash
# Prepare a development machine for devpush's Compose stack.
#
# What it does:
#   - macOS: installs Docker's CLI, the Compose plugin and Colima with Homebrew,
#     and starts Colima (the Docker engine in a small VM);
#   - Linux (Debian/Ubuntu): installs Docker Engine and the Compose plugin from
#     Docker's packages when `docker` is missing (as scripts/prod/install.sh does);
#   - creates ./data/alloy and ./data/app (the dev stack's state, git-ignored).
# What it does not do: start the stack (scripts/dev/start.sh does).
# Log collection needs nothing on the host: Alloy runs in the stack and tails
# Docker's json-file logs.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--dry-run] [--help]

Installs Docker (Colima on macOS) for the development stack and creates ./data.
  --dry-run   print the commands instead of running them
USAGE
}

install_macos() {
  command_exists brew || die "Homebrew is required on macOS: https://brew.sh"
  local pkg
  for pkg in docker docker-compose colima; do
    if brew list --formula "$pkg" >/dev/null 2>&1; then
      info "$pkg present"
    else
      run brew install "$pkg"
    fi
  done
  # Homebrew's docker-compose is a CLI plugin: tell the docker CLI where it lives.
  run mkdir -p "$HOME/.docker/cli-plugins"
  run ln -sfn "$(brew --prefix)/opt/docker-compose/bin/docker-compose" "$HOME/.docker/cli-plugins/docker-compose"
  if colima status >/dev/null 2>&1; then
    info "Colima running"
  else
    run colima start --cpu 2 --memory 4
  fi
}

install_linux() {
  local id
  id=$(os_release_field ID || true)
  case $id in
    debian | ubuntu) ;;
    *) die "install Docker Engine and the Compose plugin for '$id' by hand, then rerun" ;;
  esac
  if ! command_exists docker; then
    [[ $EUID -eq 0 ]] || is_dry_run || die "run as root to install Docker (sudo $0)"
  fi
  install_docker_engine
}

main() {
  parse_dry_run_args "$@"
  case $(uname -s) in
    Darwin) install_macos ;;
    Linux) install_linux ;;
    *) die "unsupported system $(uname -s): macOS or Linux" ;;
  esac
  run mkdir -p "$REPO_ROOT/data/alloy" "$REPO_ROOT/data/app"
  info "ready: scripts/dev/start.sh brings the stack up"
}

main "$@"
