#!/usr/bin/env bash
# Run devpush on this machine to try it: the web app, the deploy worker and the log
# pipeline (VictoriaLogs + the OpenTelemetry Collector, or Loki + Alloy), until Ctrl-C.
#
# What it does (as root on Debian; safe to run again):
#   - provisions the machine with scripts/dev/test-deps.sh: the Docker engine, the
#     local runner images, haproxy (the Docker socket proxy) and uv. That script also
#     installs PostgreSQL and Chromium for the test suite; reusing it keeps one way to
#     install the engine and build the images, at the cost of those extra packages on
#     the first run (later runs only check);
#   - installs the Python dependencies (uv sync) and migrates the SQLite database in
#     the data directory (default ./data);
#   - creates a first user, admin@localhost, when the server has none, with a generated
#     password kept in <data>/admin-password (mode 0600);
#   - starts, under one supervisord that restarts any of them that exits, the Docker socket
#     proxy (the worker's door), the route resolver and Caddy (the reverse proxy that serves
#     deployments at http://<name>.localhost:PROXY_PORT/, asking the resolver where each
#     one's runner is), the log pipeline, the deploy worker and the web app on 127.0.0.1;
#     prints a line when one restarted; stops them all on Ctrl-C. The pipeline is
#     the embedded one by default: VictoriaLogs and the collector that
#     scripts/dev/logstack.sh builds from source into the cache (once, by
#     test-deps.sh), with their state under <data>/local so logs outlive a restart;
#     --log-store loki runs Loki and Alloy instead, from installed binaries.
# What it does not do: pull images, download Loki or Alloy, listen beyond loopback.
set -Eeuo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ADMIN_EMAIL=admin@localhost
PORT=8000
PROXY_PORT=8080
DATA_DIR="$REPO_ROOT/data"
LOG_STORE=victorialogs
PIDS=()

usage() {
  cat <<EOF
Usage: $(basename "$0") [--port PORT] [--proxy-port PORT] [--data-dir DIR]
       [--log-store STORE] [--help]

Runs devpush locally (as root on Debian): provisions Docker, the runner images and the
log stack, migrates the database, creates admin@localhost on first run, then starts the
socket proxy, the route resolver, Caddy, the log store and its collector, the deploy
worker and the web app on http://127.0.0.1:PORT. Deployments answer through Caddy at
http://<project>.localhost:PROXY_PORT/ (browsers resolve *.localhost to this machine).
supervisord runs them all and restarts any that exits (a line says so). Ctrl-C stops
everything.

  --port PORT        port of the web app on 127.0.0.1 (default 8000)
  --proxy-port PORT  port of the deployments' URLs on 127.0.0.1 (default 8080)
  --data-dir DIR     database, queue, secrets, logs and process logs (default ./data)
  --log-store STORE  victorialogs (default: VictoriaLogs and the OpenTelemetry
                     Collector, built from source once) or loki (Loki and Alloy
                     binaries, installed as docs/logging.md says)
EOF
}

info() { printf '==> %s\n' "$*"; }
err() { printf 'error: %s\n' "$*" >&2; }

parse_args() {
  while (($# > 0)); do
    case $1 in
      -h | --help)
        usage
        exit 0
        ;;
      --port)
        [[ ${2:-} =~ ^[0-9]+$ ]] || { err "--port needs a number"; exit 2; }
        PORT=$2
        shift 2
        ;;
      --proxy-port)
        [[ ${2:-} =~ ^[0-9]+$ ]] || { err "--proxy-port needs a number"; exit 2; }
        PROXY_PORT=$2
        shift 2
        ;;
      --log-store)
        [[ ${2:-} == victorialogs || ${2:-} == loki ]] || {
          err "--log-store takes victorialogs or loki"
          exit 2
        }
        LOG_STORE=$2
        shift 2
        ;;
      --data-dir)
        [[ -n ${2:-} ]] || { err "--data-dir needs a directory"; exit 2; }
        DATA_DIR=$(realpath -m "$2")
        shift 2
        ;;
      *)
        err "unknown argument: $1 (see --help)"
        exit 2
        ;;
    esac
  done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A secret kept in a 0600 file under the data dir, generated on first use.
secret_file() {
  local path=$1
  if [[ ! -s $path ]]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$path")
  fi
  cat "$path"
}

configure() {
  mkdir -p "$DATA_DIR/local"
  chmod 700 "$DATA_DIR"
  export DEVPUSH_ENVIRONMENT=development
  export DEVPUSH_DATA_DIR="$DATA_DIR"
  export DEVPUSH_DATABASE_URL="sqlite:///$DATA_DIR/devpush.sqlite3"
  export DEVPUSH_QUEUE_URL="sqlite:///$DATA_DIR/queue.sqlite3"
  DEVPUSH_SECRET_KEY=$(secret_file "$DATA_DIR/secret-key")
  export DEVPUSH_SECRET_KEY
  # Deployment URLs: http://<name>.localhost:PROXY_PORT/, served by Caddy on loopback.
  export DEVPUSH_DOMAIN=localhost
  export DEVPUSH_PUBLIC_SCHEME=http
  export DEVPUSH_PUBLIC_PORT="$PROXY_PORT"
  export DEVPUSH_PROXY_BIND=127.0.0.1
  export DEVPUSH_RUNNER_ADDRESS=container_ip
}

ensure_first_user() {
  local password_file="$DATA_DIR/admin-password" output
  # The password goes through the environment (the CLI's envvar), never onto argv.
  output=$(DEVPUSH_ADMIN_PASSWORD=$(secret_file "$password_file") \
    uv run --frozen devpush admin ensure-user --email "$ADMIN_EMAIL") || {
    printf '%s\n' "$output" >&2
    exit 1
  }
  printf '%s\n' "$output"
  if [[ $output == *"Users already exist"* ]]; then
    # Someone else's accounts: the generated password belongs to no one.
    rm -f "$password_file"
  fi
}

# Every process of the run under supervisord (devpush_dev/pipeline.py): the Docker socket
# proxy for the worker, the route resolver, Caddy, the log store with its collector, then
# the worker and the app once those answer. Writes KEY=VALUE lines to pipeline.env once
# ready; prints a line per restart; stops everything on SIGTERM.
start_pipeline() {
  rm -f "$DATA_DIR/local/pipeline.env"
  # setsid: Ctrl-C reaches this script only, whose stop_all then stops the pipeline (one
  # that saw Ctrl-C itself could end first, and read as a crash).
  setsid "$REPO_ROOT/.venv/bin/python" -m devpush_dev.pipeline \
    --state "$DATA_DIR/local" --log-store "$LOG_STORE" --app-port "$PORT" &
  PIDS+=("$!")
  local _
  for _ in $(seq 1 300); do
    [[ -s $DATA_DIR/local/pipeline.env ]] && break
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
      err "the socket proxy or the log pipeline did not start (see above and $DATA_DIR/local)"
      exit 1
    fi
    sleep 0.2
  done
  local key value
  while IFS='=' read -r key value; do
    case $key in
      DEVPUSH_*) export "$key=$value" ;;
    esac
  done <"$DATA_DIR/local/pipeline.env"
}

wait_for_app() {
  local _
  for _ in $(seq 1 300); do
    port_in_use "$PORT" && return
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
      err "the local run stopped before the web app listened; last lines of $DATA_DIR/local/app.log:"
      tail -n 20 "$DATA_DIR/local/app.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  err "the web app did not listen on 127.0.0.1:$PORT within 60 s"
  exit 1
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
stop_all() {
  trap - EXIT INT TERM
  local i pid
  ((${#PIDS[@]} == 0)) && return
  info "stopping"
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  info "stopped; deployed runner containers keep running (docker ps --filter label=devpush.role)"
}

main() {
  parse_args "$@"
  if [[ $EUID -ne 0 ]]; then
    err "run as root (sudo $0): it installs Debian packages and starts dockerd"
    exit 1
  fi
  if port_in_use "$PORT"; then
    err "127.0.0.1:$PORT is in use: stop what listens there or pass --port"
    exit 1
  fi
  if port_in_use "$PROXY_PORT"; then
    err "127.0.0.1:$PROXY_PORT is in use: stop what listens there or pass --proxy-port"
    exit 1
  fi
  cd "$REPO_ROOT"
  scripts/dev/test-deps.sh --local-run
  info "installing Python dependencies"
  uv sync --frozen --extra server --quiet
  configure
  info "migrating $DEVPUSH_DATABASE_URL"
  uv run --frozen devpush admin migrate
  ensure_first_user

  trap stop_all EXIT
  trap 'exit 130' INT TERM
  trap 'exit 129' HUP
  info "starting the Docker socket proxy, the route resolver, Caddy and the log pipeline"
  info "  under supervisord (log: $DATA_DIR/local/supervisord.log), then the worker and the app"
  info "  (logs: $DATA_DIR/local/worker.log, $DATA_DIR/local/app.log)"
  start_pipeline
  wait_for_app

  info "devpush is running: http://127.0.0.1:$PORT"
  info "deployments answer at http://<project>.localhost:$PROXY_PORT/ (production),"
  info "  http://<environment>-<project>.localhost:$PROXY_PORT/ and"
  info "  http://<deployment-id>-<project>.localhost:$PROXY_PORT/ (one deployment)"
  if [[ -s $DATA_DIR/admin-password ]]; then
    info "log in as $ADMIN_EMAIL with the password in $DATA_DIR/admin-password (first run's)"
  fi
  info "first deploy: New project, Repository $REPO_ROOT, Root directory examples/hello-python,"
  info "  runner image devpush/runner-python:local, build 'python3 build.py', start 'python3 app.py'"
  info "a part that exits is restarted at once (status: .venv/bin/supervisorctl -c $DATA_DIR/local/supervisord.conf status)"
  info "press Ctrl-C to stop"
  # supervisord restarts the parts; the pipeline itself ending ends the run.
  wait -n "${PIDS[@]}" || true
  err "a process stopped unexpectedly; logs are in $DATA_DIR/local"
  exit 1
}

main "$@"
