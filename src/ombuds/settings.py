"""Process settings, from the environment (``OMBUDS_*``) or a ``.env`` file."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from ombuds.domain.policy import DEFAULT_POLICY, Policy, policy_from_mapping


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMBUDS_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/ombuds.db"
    marketplace_key: str = ""
    clock: Literal["wall", "manual"] = "wall"
    clock_start: datetime | None = None  # where a new manual clock starts
    policy_file: Path | None = None
    worker_in_process: bool = True  # sweep deadlines inside `ombuds serve`
    sweep_interval_seconds: float = 1.0
    pool_size: int = 10
    public_url: str = "http://127.0.0.1:8000"

    def load_policy(self) -> Policy:
        if self.policy_file is None:
            return DEFAULT_POLICY
        return load_policy_file(self.policy_file)


def load_policy_file(path: Path) -> Policy:
    with open(path, "rb") as f:
        return policy_from_mapping(tomllib.load(f))
