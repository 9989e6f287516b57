# syntax=docker/dockerfile:1
# devpush web app and deploy worker (one image, two commands; see docker-compose.yml).
# Stage 1 installs the locked dependencies with uv into /app/.venv; stage 2 copies
# only that virtualenv and the source onto a slim Python, and runs as a non-root user.
ARG PYTHON_VERSION=3.11

FROM ghcr.io/astral-sh/uv:0.9.5 AS uv

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first (cached until uv.lock changes), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --extra server --no-install-project
COPY devpush ./devpush
# Editable: the venv points at /app, where stage 2 puts the same source, so paths
# computed from devpush/ (alembic.ini, migrations) resolve, and the `devpush` CLI works.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --extra server

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# git: the worker clones the repositories it deploys.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 devpush \
    && useradd --system --uid 10001 --gid devpush --home-dir /app --shell /usr/sbin/nologin devpush \
    && install -d -o devpush -g devpush /data
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY devpush ./devpush
COPY alembic.ini ./
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEVPUSH_DATA_DIR=/data
USER devpush
EXPOSE 8000
CMD ["uvicorn", "devpush.main:app", "--host", "0.0.0.0", "--port", "8000"]
