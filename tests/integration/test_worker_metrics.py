"""A stand-alone `ombuds worker` serves its own Prometheus counters (docs/operations.md):
the worker applies deadlines and dispatches the outbox, so its counters live in its process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from ombuds.store.migrate import upgrade
from tests.conftest import T0
from tests.receivers import wait_until

OMBUDS = Path(sys.executable).parent / "ombuds"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int, token: str | None = None) -> httpx.Response | None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=5)
    except httpx.TransportError:
        return None  # not listening yet


def test_a_worker_serves_its_metrics_behind_the_metrics_token(sqlite_url, tmp_path):
    upgrade(sqlite_url)
    port = free_port()
    env = {**os.environ, "OMBUDS_DATABASE_URL": sqlite_url, "OMBUDS_CLOCK": "manual",
           "OMBUDS_CLOCK_START": T0.isoformat(), "OMBUDS_METRICS_TOKEN": "scrape-me",
           "OMBUDS_WORKER_METRICS_PORT": str(port)}
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([str(OMBUDS), "worker", "--interval", "0.05"], env=env, cwd=tmp_path,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: scrape(port) is not None or worker.poll() is not None, seconds=30,
                   what="the worker's metrics endpoint")
        assert worker.poll() is None, log_path.read_text()
        assert scrape(port).status_code == 401  # no token
        assert scrape(port, "wrong").status_code == 401
        answer = scrape(port, "scrape-me")
        assert answer.status_code == 200 and "ombuds_sweep_rows_total" in answer.text
        assert "ombuds_outbox_work_total" in answer.text or "ombuds_worker_failures_total" in answer.text
        elsewhere = httpx.get(f"http://127.0.0.1:{port}/", headers={"Authorization": "Bearer scrape-me"})
        assert elsewhere.status_code == 404
    finally:
        worker.terminate()
        worker.wait(30)
