#!/usr/bin/env bash
# The one test command: provisions what the tests need, then runs lint, the type
# checker and the whole suite against the real Docker engine, PostgreSQL and Chromium.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--help] [PYTEST_ARGS...]

Runs scripts/dev/test-deps.sh (as root on Debian), then ruff, mypy (strict, on devpush/) and pytest.
Arguments are passed to pytest, e.g. $(basename "$0") tests/services -x
USAGE
}

main() {
  if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    usage
    exit 0
  fi
  cd "$REPO_ROOT"
  scripts/dev/test-deps.sh
  uv sync --frozen --extra server --quiet
  echo "==> ruff"
  uv run --frozen ruff check .
  uv run --frozen ruff format --check .
  echo "==> mypy"
  uv run --frozen mypy
  echo "==> pytest"
  # pytest exits 5 when it collected nothing: that is a failure here too.
  uv run --frozen pytest "$@"
}

main "$@"
