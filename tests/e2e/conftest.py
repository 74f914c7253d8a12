"""A real ``ombuds serve`` process on a free port, on SQLite and on PostgreSQL.

The database is the per-test copy of the migrated template (``sqlite_url`` /
``postgres_url``); ``ombuds migrate`` runs first anyway, as an operator would. The clock is
manual and starts on the Monday the other tests use, so the story reads in real dates.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MARKETPLACE_KEY, T0

OMBUDS_CLI = Path(sys.executable).with_name("ombuds")
START_TIMEOUT = 60  # seconds to wait for /healthz before giving up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


SERVER_LOGS = pytest.StashKey[list]()


def show_log_if_failed(request, log: Path) -> None:
    """Attach the server's log to the test's report when the test fails (see the hook below)."""
    request.node.stash.setdefault(SERVER_LOGS, []).append(log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing end-to-end test shows what its server logged, tracebacks included."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for log in item.stash.get(SERVER_LOGS, []):
            text = log.read_text(errors="replace") if log.exists() else "(no log)"
            report.sections.append((f"ombuds serve log ({log})", text[-20_000:]))


@contextlib.contextmanager
def running_server(database_url: str, tmp_path: Path, **settings: str) -> Iterator[tuple[str, Path]]:
    """Migrate the database, start ``ombuds serve`` on a free port with a manual clock, wait for
    /healthz, and stop the process afterwards. Yields the base URL and the server's log file."""
    env = {**os.environ, "OMBUDS_DATABASE_URL": database_url, "OMBUDS_CLOCK": "manual",
           "OMBUDS_CLOCK_START": T0.isoformat().replace("+00:00", "Z"),
           "OMBUDS_MARKETPLACE_KEY": MARKETPLACE_KEY, "OMBUDS_WORKER_IN_PROCESS": "false",
           **{f"OMBUDS_{k.upper()}": v for k, v in settings.items()}}
    # cwd is a scratch directory so that no developer's .env leaks into the server.
    subprocess.run([str(OMBUDS_CLI), "migrate"], env=env, cwd=tmp_path, check=True, timeout=120,
                   capture_output=True)
    port = free_port()
    log = tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}"
    env.setdefault("OMBUDS_PUBLIC_URL", url)  # e-mails link to this server, as the demo's do
    with open(log, "wb") as out:
        server = subprocess.Popen([str(OMBUDS_CLI), "serve", "--port", str(port)], env=env, cwd=tmp_path,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        give_up = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"ombuds serve exited with {server.returncode}:\n{_log(log)}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > give_up:
                pytest.fail(f"ombuds serve did not answer /healthz in {START_TIMEOUT}s:\n{_log(log)}")
            time.sleep(0.2)
        yield url, log
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server_url(request, tmp_path) -> Iterator[str]:
    """The base URL of a running server; the process is stopped when the test ends."""
    with running_server(request.getfixturevalue(f"{request.param}_url"), tmp_path) as (url, log):
        show_log_if_failed(request, log)
        yield url
