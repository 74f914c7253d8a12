"""The ``ombuds`` command line (DESIGN.md §5): ``policy check`` and ``clock advance``.

The real console script runs in a subprocess, with a clean ``OMBUDS_*`` environment and a
working directory of its own (so no ``.env`` file is picked up).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ombuds.bootstrap import create_app
from tests.conftest import MARKETPLACE_KEY, T0, settings_for
from tests.factories import Marketplace

OMBUDS = Path(sys.executable).with_name("ombuds")


def ombuds(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    """Run the CLI; returns its exit code and its output with whitespace normalised."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMBUDS_")}
    done = subprocess.run([str(OMBUDS), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**clean, "COLUMNS": "200", "NO_COLOR": "1", **env})
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def policy_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


# ombuds policy check ----------------------------------------------------------------------------

def test_policy_check_accepts_a_valid_policy_and_names_what_differs(tmp_path):
    path = policy_file(tmp_path, """
seller_response_days = 3
negotiation_days = 10
arbitration_review_target_days = 10
arbitration_limit_days = 30
""")

    code, out = ombuds("policy", "check", str(path), cwd=tmp_path)

    assert code == 0, out
    assert "is a valid policy" in out
    for name in ("seller_response_days", "negotiation_days", "arbitration_review_target_days",
                 "arbitration_limit_days"):
        assert name in out


def test_policy_check_lists_only_the_settings_that_differ_from_the_defaults(tmp_path):
    path = policy_file(tmp_path, "seller_response_days = 3\n")

    code, out = ombuds("policy", "check", str(path), cwd=tmp_path)

    assert code == 0, out
    assert "1 setting(s) differ from the defaults: seller_response_days." in out


def test_policy_check_accepts_an_empty_file_as_the_defaults(tmp_path):
    code, out = ombuds("policy", "check", str(policy_file(tmp_path, "")), cwd=tmp_path)

    assert code == 0, out
    assert "is a valid policy" in out and "0 setting(s) differ" in out


@pytest.mark.parametrize("text, explained", [
    ("seller_respond_days = 5\n",
     ["seller_respond_days", "unknown setting"]),
    ("return_ship_days = -3\n",
     ["return_ship_days", "greater than or equal to 0", "-3"]),
    ("arbitration_limit_days = 10\n",
     ["arbitration_limit_days must be at least arbitration_review_target_days"]),
], ids=["unknown_key", "negative_days", "limit_before_target"])
def test_policy_check_fails_and_explains_the_problem(tmp_path, text, explained):
    code, out = ombuds("policy", "check", str(policy_file(tmp_path, text)), cwd=tmp_path)

    assert code == 1, out
    assert "1 problem(s)" in out
    for words in explained:
        assert words in out


def test_policy_check_explains_every_problem_of_a_file_at_once(tmp_path):
    path = policy_file(tmp_path, """
seller_respond_days = 5
return_ship_days = -3
arbitration_review_target_days = 20
arbitration_limit_days = 10
""")

    code, out = ombuds("policy", "check", str(path), cwd=tmp_path)

    assert code == 1, out
    assert "3 problem(s)" in out
    assert "seller_respond_days" in out and "unknown setting" in out
    assert "return_ship_days" in out and "-3" in out
    assert "arbitration_limit_days must be at least arbitration_review_target_days" in out


def test_policy_check_refuses_a_file_that_is_not_toml(tmp_path):
    code, out = ombuds("policy", "check", str(policy_file(tmp_path, "seller_response_days = = 5\n")),
                       cwd=tmp_path)

    assert code == 1, out
    assert "is not valid TOML" in out


def test_policy_check_names_a_missing_file(tmp_path):
    code, out = ombuds("policy", "check", str(tmp_path / "nowhere.toml"), cwd=tmp_path)

    assert code == 2, out
    assert "No such file" in out


# ombuds clock advance ---------------------------------------------------------------------------

def _seed_a_dispute(url: str) -> int:
    """A dispute opened at T0, waiting for the seller (R12: respond by T0 + 5 days)."""
    with TestClient(create_app(settings_for(url))) as client:
        market = Marketplace(client, MARKETPLACE_KEY)
        buyer, seller = market.buyer(), market.seller()
        d = market.open_dispute(buyer, market.order(buyer, seller))
        assert datetime.fromisoformat(d["deadline"]["at"]) == T0 + timedelta(days=5)
        return d["id"]


def _look(url: str, dispute_id: int) -> tuple[str, dict]:
    with TestClient(create_app(settings_for(url))) as client:
        market = Marketplace(client, MARKETPLACE_KEY)
        return market.now(), market.platform.dispute(dispute_id)


def test_clock_advance_applies_the_deadlines_that_fall_due(sqlite_url, tmp_path):
    dispute_id = _seed_a_dispute(sqlite_url)
    env = {"OMBUDS_DATABASE_URL": sqlite_url, "OMBUDS_CLOCK": "manual"}

    code, out = ombuds("clock", "advance", "4d", cwd=tmp_path, **env)
    assert code == 0, out
    now, d = _look(sqlite_url, dispute_id)
    assert datetime.fromisoformat(now) == T0 + timedelta(days=4)
    assert d["state"] == "awaiting_seller"

    code, out = ombuds("clock", "advance", "1d", cwd=tmp_path, **env)

    assert code == 0, out
    assert f"Clock is now {T0 + timedelta(days=5):%Y-%m-%d %H:%M} UTC" in out
    assert "deadline(s) applied" in out and " 0 deadline(s)" not in out
    now, d = _look(sqlite_url, dispute_id)
    assert datetime.fromisoformat(now) == T0 + timedelta(days=5)
    assert d["state"] == "closed" and d["outcome"] == "refunded_full"  # R12: the seller stayed silent


def test_clock_advance_needs_a_manual_clock(sqlite_url, tmp_path):
    code, out = ombuds("clock", "advance", "5d", cwd=tmp_path, OMBUDS_DATABASE_URL=sqlite_url,
                       OMBUDS_CLOCK="wall")

    assert code == 2, out
    assert "not manual" in out


def test_clock_advance_explains_a_bad_duration(sqlite_url, tmp_path):
    code, out = ombuds("clock", "advance", "5 days", cwd=tmp_path, OMBUDS_DATABASE_URL=sqlite_url,
                       OMBUDS_CLOCK="manual")

    assert code == 2, out
    assert "like 5d" in out


# ombuds demo ------------------------------------------------------------------------------------

def test_the_demo_links_its_emails_to_the_port_it_serves_on(tmp_path, monkeypatch):
    from ombuds.cli import demo_environment
    from ombuds.settings import Settings
    # The demo sets its settings in the environment: give it a copy, so nothing leaks into other tests.
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if not k.startswith("OMBUDS_")})
    monkeypatch.chdir(tmp_path)  # no developer's .env
    assert demo_environment(tmp_path / "demo.db", "0.0.0.0", 8123) == "http://127.0.0.1:8123"
    assert Settings().public_url == "http://127.0.0.1:8123"
    # An operator's own public URL wins.
    monkeypatch.setenv("OMBUDS_PUBLIC_URL", "https://protection.example.com")
    demo_environment(tmp_path / "demo.db", "127.0.0.1", 8124)
    assert Settings().public_url == "https://protection.example.com"
