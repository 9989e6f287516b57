# shellcheck shell=bash
# Local images for tests and the local run, built without any registry.
# Sourced by test-deps.sh and local.sh; defines build_test_images.
#
#   devpush/busybox:local         busybox-static in an empty root: tiny containers
#                                 that print lines (the log pipeline tests).
#   devpush/runner-python:local   Debian minbase with python3, from debootstrap:
#                                 the runner for Python apps (examples/hello-python).
#
# Root filesystems are cached as tarballs under $DEVPUSH_CACHE/images, keyed by
# name and Debian suite, so a warm machine only runs `docker import`.

BUSYBOX_IMAGE=devpush/busybox:local
RUNNER_PYTHON_IMAGE=devpush/runner-python:local
RUNNER_SUITE=bookworm

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

build_busybox_image() {
  image_exists "$BUSYBOX_IMAGE" && return
  printf '==> importing %s\n' "$BUSYBOX_IMAGE"
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  # One link per applet, so `sh`, `seq`, `httpd`… resolve on PATH.
  local applet
  for applet in $("$root/bin/busybox" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
  done
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$BUSYBOX_IMAGE" >/dev/null
  rm -rf "$root"
}

build_runner_python_image() {
  image_exists "$RUNNER_PYTHON_IMAGE" && return
  local tarball
  tarball="$(devpush_cache_dir)/images/runner-python-$RUNNER_SUITE.tar"
  if [[ ! -s $tarball ]]; then
    printf '==> debootstrap %s (python3) into the cache; takes a few minutes once\n' "$RUNNER_SUITE"
    local root
    root=$(mktemp -d)
    mkdir -p "$(dirname "$tarball")"
    debootstrap --variant=minbase --include=python3-minimal,python3 \
      "$RUNNER_SUITE" "$root" http://deb.debian.org/debian >/dev/null
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  printf '==> importing %s\n' "$RUNNER_PYTHON_IMAGE"
  docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'WORKDIR /app' -c 'CMD ["bash"]' \
    "$tarball" "$RUNNER_PYTHON_IMAGE" >/dev/null
}

build_test_images() {
  build_busybox_image
  build_runner_python_image
}
