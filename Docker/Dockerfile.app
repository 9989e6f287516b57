# devpush web app and deploy worker (one image, two commands; see docker-compose.yml).
# Stage 1 installs the locked dependencies with uv into /app/.venv; stage 2 copies
# only that virtualenv and the source onto a slim Python, and runs as a non-root user.
# The base images are build args (the official images by default), so a server without
# registry access builds on its own copies (scripts/dev/prod-images.sh). No RUN --mount:
# the classic builder builds this file as well as BuildKit does; layer caching comes
# from copying the lock before the source.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.9.5

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1
WORKDIR /app
# Dependencies first (cached until uv.lock changes), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra server --no-install-project
COPY devpush ./devpush
# Editable: the venv points at /app, where stage 2 puts the same source, so paths
# computed from devpush/ (alembic.ini, migrations) resolve, and the `devpush` CLI works.
RUN uv sync --frozen --no-dev --extra server

FROM ${PYTHON_IMAGE} AS runtime
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
