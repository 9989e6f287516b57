#!/usr/bin/env bash
# Build every image the production Compose files name (docker-compose.yml with the
# VictoriaLogs option) on this machine, without an image registry, and tag each as
# docker-compose.local.yml names it.
#
# What it does: from the local test images (scripts/dev/images.sh: a debootstrap root and
# busybox), Debian packages, the Go binaries cached in ${DEVPUSH_CACHE:-~/.cache/devpush}/bin
# (scripts/dev/go-tool.sh caddy, scripts/dev/logstack.sh) and the Dockerfiles under
# Docker/local/, it builds the stand-ins (python, uv, postgres, redis, docker-proxy,
# caddy, victorialogs, otelcol), then the app image from Docker/Dockerfile.app on the
# python and uv stand-ins. Always the classic builder (no buildx needed).
# Cached and idempotent: a stand-in whose inputs (its Docker/local/ directory, the binary
# it copies, its base image) have not changed is kept as it is (the image carries a label
# with their hash); the app image is rebuilt every time from Docker's layer cache, so it
# always holds the current source.
# What it does not do: build Alloy or Loki (the Loki option's images), push, or pull.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO_ROOT/scripts/lib.sh"
# shellcheck source=scripts/dev/images.sh
source "$REPO_ROOT/scripts/dev/images.sh"
LOCAL_DIR="$REPO_ROOT/Docker/local"
INPUTS_LABEL=dev.devpush.inputs
CA_BUNDLE=${DEVPUSH_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

# Tags: the ones docker-compose.local.yml names.
PYTHON_IMAGE=devpush/python:local
UV_IMAGE=devpush/uv:local
APP_IMAGE=devpush/app:local

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help | --dry-run]

Builds the production stack's images locally (the VictoriaLogs option) with the classic
builder and tags them as docker-compose.local.yml names them. A stand-in whose inputs did
not change is kept; the app image is rebuilt from Docker's layer cache.
--dry-run prints the builds instead of running them.
USAGE
}

# The real uv binary (not a version manager's shim script): uv's own Python package
# knows it; else uv on PATH.
uv_binary() {
  local candidate
  for candidate in "${DEVPUSH_UV_BIN:-}" \
    "$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || true)" \
    "$(command -v uv || true)"; do
    [[ -n $candidate && -x $candidate ]] || continue
    # An ELF executable: a shim would be a script that runs another uv.
    [[ $(head -c 4 "$candidate" | tr -d '\0') == $'\x7fELF' ]] && {
      printf '%s\n' "$candidate"
      return 0
    }
  done
  die "no uv binary found (set DEVPUSH_UV_BIN); it goes into $UV_IMAGE"
}

# docker build with the classic builder; its output only when it fails (the builder's
# deprecation notice otherwise says nothing useful here).
classic_build() {
  local out status=0
  out=$(DOCKER_BUILDKIT=0 docker build "$@" 2>&1) || status=$?
  if ((status != 0)); then
    printf '%s\n' "$out" | tail -n 40 >&2
    die "docker build $* failed (exit $status)"
  fi
}

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

image_label() {
  docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

# build_stand_in NAME TAG BASE [FILE...]: builds Docker/local/NAME with the FILEs copied
# into its context (each as its basename, or SRC=DEST), FROM BASE, unless TAG already
# carries the hash of those inputs.
build_stand_in() {
  local name=$1 tag=$2 base=$3 spec src dest hash context
  shift 3
  if is_dry_run; then
    printf '+ docker build (classic) -t %s --build-arg BASE_IMAGE=%s Docker/local/%s %s\n' \
      "$tag" "$base" "$name" "$*"
    return 0
  fi
  hash=$({
    (cd "$LOCAL_DIR/$name" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    for spec in "$@"; do
      src=${spec%%=*}
      # Binaries are large: name, size and mtime identify a cached build.
      stat -c '%n %s %Y' "$src"
    done
    image_id "$base"
  } | sha256sum | cut -c1-16)
  if [[ $(image_label "$tag" "$INPUTS_LABEL") == "$hash" ]]; then
    info "$tag is up to date"
    return 0
  fi
  context=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now: the trap outlives the local
  trap "rm -rf '$context'" RETURN
  cp -r "$LOCAL_DIR/$name/." "$context/"
  for spec in "$@"; do
    src=${spec%%=*}
    dest=${spec#*=}
    [[ $spec == *=* ]] || dest=$(basename "$src")
    # A hard link when the cache is on the same file system: no copy of a large binary.
    ln "$src" "$context/$dest" 2>/dev/null || cp "$src" "$context/$dest"
  done
  local previous
  previous=$(image_id "$tag")
  info "building $tag (Docker/local/$name)"
  classic_build --build-arg "BASE_IMAGE=$base" --label "$INPUTS_LABEL=$hash" -t "$tag" "$context"
  remove_replaced "$previous" "$tag"
}

# The image a tag pointed at before a rebuild, removed unless a container still uses it,
# so rebuilds do not pile up untagged copies.
remove_replaced() {
  if [[ -n $1 && $1 != "$(image_id "$2")" ]]; then
    docker image rm "$1" >/dev/null 2>&1 || true
  fi
}

build_app_image() {
  if is_dry_run; then
    printf '+ docker build (classic) -t %s -f Docker/Dockerfile.app --build-arg PYTHON_IMAGE=%s --build-arg UV_IMAGE=%s .\n' \
      "$APP_IMAGE" "$PYTHON_IMAGE" "$UV_IMAGE"
    return 0
  fi
  local previous
  previous=$(image_id "$APP_IMAGE")
  info "building $APP_IMAGE (Docker/Dockerfile.app, from the layer cache when unchanged)"
  classic_build -f "$REPO_ROOT/Docker/Dockerfile.app" \
    --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" --build-arg "UV_IMAGE=$UV_IMAGE" \
    -t "$APP_IMAGE" "$REPO_ROOT"
  remove_replaced "$previous" "$APP_IMAGE"
}

main() {
  parse_dry_run_args "$@"
  local caddy victorialogs otelcol uv
  if is_dry_run; then
    caddy=caddy victorialogs=victoria-logs otelcol=otelcol uv=uv
  else
    build_test_images
    caddy=$("$REPO_ROOT/scripts/dev/go-tool.sh" caddy)
    { read -r victorialogs && read -r otelcol; } < <("$REPO_ROOT/scripts/dev/logstack.sh")
    uv=$(uv_binary)
  fi
  build_stand_in python "$PYTHON_IMAGE" "$RUNNER_PYTHON_IMAGE" "$CA_BUNDLE=ca-certificates.crt"
  build_stand_in uv "$UV_IMAGE" scratch "$uv=uv" "$(dirname "$uv")/uvx=uvx"
  build_stand_in postgres devpush/postgres:local "$PYTHON_IMAGE"
  build_stand_in redis devpush/redis:local "$RUNNER_PYTHON_IMAGE"
  build_stand_in docker-proxy devpush/docker-proxy:local "$RUNNER_PYTHON_IMAGE"
  build_stand_in caddy devpush/caddy:local "$RUNNER_PYTHON_IMAGE" "$caddy=caddy"
  build_stand_in victorialogs devpush/victorialogs:local "$BUSYBOX_IMAGE" "$victorialogs=victoria-logs"
  build_stand_in otelcol devpush/otelcol:local "$BUSYBOX_IMAGE" "$otelcol=otelcol"
  build_app_image
  info "production images ready (docker-compose.local.yml)"
}

main "$@"
