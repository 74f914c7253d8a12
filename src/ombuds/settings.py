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
    sweep_interval_seconds: float = 1.0  # an idle loop's polling interval where it is not woken (SQLite)
    # PostgreSQL: idle loops sleep until LISTEN/NOTIFY wakes them, at most this long. Turn
    # wake-ups off behind a proxy that pools transactions (LISTEN needs a session of its own).
    wakeups: bool = True
    wakeup_safety_seconds: float = 30.0
    pool_size: int = 10
    public_url: str = "http://127.0.0.1:8000"
    # E-mail (R23). No SMTP host: messages go to the local mailbox shown at /mailbox.
    smtp_host: str = ""
    mailbox_page: bool = False  # serve /mailbox without SMTP outside the demo (it has no sign-in)
    metrics_token: str = ""  # when set, GET /metrics needs "Authorization: Bearer <it>"
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "Ombuds <no-reply@ombuds.invalid>"
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"  # starttls: only if the server offers it
    smtp_timeout_seconds: float = 30.0
    # Outbox dispatch: batch size, and how long a claimed delivery is held before another
    # dispatcher may take it over (a dispatcher that died mid-batch loses its claims then).
    dispatch_batch: int = 100
    dispatch_lease_seconds: float = 120.0
    # Retries of e-mail and webhook deliveries: exponential backoff from base, capped at max.
    delivery_retry_base_seconds: float = 60.0
    delivery_retry_max_seconds: float = 6 * 3600.0
    delivery_max_attempts: int = 12
    webhook_timeout_seconds: float = 10.0
    webhook_disable_after_failures: int = 30  # consecutive failed attempts disable an endpoint

    # Evidence (R10): where files are kept. "local" keeps them under evidence_dir; "s3" in a
    # bucket of any S3-compatible store (credentials from the usual AWS variables or below).
    evidence_backend: Literal["local", "s3"] = "local"
    evidence_dir: Path = Path("var/evidence")
    evidence_s3_bucket: str = ""
    evidence_s3_prefix: str = "evidence/"
    evidence_s3_endpoint_url: str | None = None  # e.g. http://127.0.0.1:9000 for MinIO
    evidence_s3_region: str | None = None
    evidence_s3_access_key_id: str | None = None
    evidence_s3_secret_access_key: str | None = None
    evidence_max_image_pixels: int = 50_000_000  # decoding bigger images is refused (bombs)

    # Web pages: the key that signs session cookies (empty: one is generated and kept in the
    # database, shared by every process), how long a sign-in lasts, and whether the cookie is
    # sent over HTTPS only (set true behind TLS).
    web_secret_key: str = ""
    web_session_days: int = 14
    web_cookie_secure: bool = False

    # Carrier tracking (R40): the secret of Ombuds' own tracking webhook (Standard Webhooks,
    # "whsec_…"), and AfterShip's webhook secret. Empty: that endpoint answers 404.
    tracking_webhook_secret: str = ""
    aftership_webhook_secret: str = ""

    # Payment provider (R39): the built-in simulator, or Stripe Connect. stripe_api_base points
    # the library at a Stripe-compatible server (tests); empty means Stripe itself.
    payment_provider: Literal["simulator", "stripe"] = "simulator"
    stripe_api_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str | None = None

    def load_policy(self) -> Policy:
        if self.policy_file is None:
            return DEFAULT_POLICY
        return load_policy_file(self.policy_file)


def load_policy_file(path: Path) -> Policy:
    with open(path, "rb") as f:
        return policy_from_mapping(tomllib.load(f))
