"""All settings, read once from the environment (prefix ``DEVPUSH_``) or ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEVPUSH_", env_file=".env", extra="ignore")

    environment: str = "development"
    data_dir: Path = Path("data")
    database_url: str = "sqlite:///data/devpush.sqlite3"

    # Docker: the socket proxy in production, the local engine in development.
    docker_host: str = "unix:///var/run/docker.sock"
    runner_network: str = "devpush_runner"
    runner_memory: str = "512m"
    runner_cpus: float = 1.0
    # json-file rotation for runner logs: bounds disk use; Alloy follows rotations.
    runner_log_max_size: str = "10m"
    runner_log_max_file: int = 5

    loki_url: str = "http://loki:3100"
    loki_timeout_seconds: float = Field(default=10.0, gt=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
