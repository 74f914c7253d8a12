"""Signing in with an unknown e-mail costs what a wrong password costs: both verify an argon2
hash made with the same parameters, so the time taken does not tell which e-mails exist."""

from __future__ import annotations

from ombuds.services.accounts import _DUMMY_HASH, _hasher


def test_an_unknown_email_is_checked_against_a_hash_as_costly_as_a_real_one():
    assert not _hasher.check_needs_rehash(_DUMMY_HASH)  # the hasher's own type, memory, time and lanes
    assert _DUMMY_HASH.split("$")[:4] == _hasher.hash("a real password").split("$")[:4]
