"""``Idempotency-Key`` on writes: the first answer is stored and replayed for repeats.

A pure ASGI middleware: it reserves the key before the request runs (a concurrent repeat
gets 409), stores the final status and body, and forgets the key if the request failed
with a server error so that the client can retry.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ombuds.adapters.clock import wall_now
from ombuds.store.db import write_transaction
from ombuds.store.tables import idempotency_keys as keys

JSON = [(b"content-type", b"application/json")]
ABANDONED_AFTER = timedelta(minutes=2)


class IdempotencyMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        key = headers.get(b"idempotency-key")
        # Uploads are not replayed: keeping a 200 MB video in memory to compare it is not worth
        # it, and evidence is content-addressed, so a repeated upload is recognised anyway.
        if not key or headers.get(b"content-type", b"").startswith(b"multipart/"):
            return await self.app(scope, receive, send)
        body = await _read_body(receive)
        principal = hashlib.sha256(headers.get(b"authorization", b"") + b"|" +
                                   headers.get(b"on-behalf-of", b"")).hexdigest()[:64]
        fingerprint = hashlib.sha256(scope["method"].encode() + scope["path"].encode() + b"\n" + body).hexdigest()
        ombuds = scope["app"].state.ombuds
        key = key.decode()[:200]
        if not await _reserve(ombuds, principal, key, fingerprint):
            return await _replay(ombuds, principal, key, fingerprint, send)

        captured = {"status": 500, "body": b""}

        async def capture(message):
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        async def replay_body():
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            await self.app(scope, replay_body, capture)
        finally:
            async with write_transaction(ombuds.engine) as conn:
                where = (keys.c.principal == principal) & (keys.c.key == key)
                if captured["status"] >= 500:
                    await conn.execute(delete(keys).where(where))
                else:
                    await conn.execute(update(keys).where(where).values(
                        status_code=captured["status"], response_body=captured["body"].decode()))


async def _reserve(ombuds, principal: str, key: str, fingerprint: str) -> bool:
    """Reserve the key; a reservation abandoned by a crashed request is taken over."""
    now = wall_now()  # operational time, not the (possibly manual) business clock
    where = (keys.c.principal == principal) & (keys.c.key == key)
    async with write_transaction(ombuds.engine) as conn:
        await conn.execute(delete(keys).where(where, keys.c.status_code.is_(None),
                                              keys.c.created_at < now - ABANDONED_AFTER))
        try:
            async with conn.begin_nested():
                await conn.execute(insert(keys).values(principal=principal, key=key,
                                                       request_hash=fingerprint, created_at=now))
            return True
        except IntegrityError:
            return False


async def _read_body(receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _replay(ombuds, principal: str, key: str, fingerprint: str, send) -> None:
    async with ombuds.engine.connect() as conn:
        row = (await conn.execute(select(keys).where(keys.c.principal == principal,
                                                     keys.c.key == key))).first()
    if row.request_hash != fingerprint:
        status, body = 422, (b'{"code":"idempotency_key_reused","message":"This Idempotency-Key was '
                             b'used for a different request.","field":"idempotency-key"}')
    elif row.status_code is None:
        status, body = 409, (b'{"code":"idempotency_in_progress","message":"A request with this '
                             b'Idempotency-Key is still running; retry shortly.","field":"idempotency-key"}')
    else:
        status, body = row.status_code, row.response_body.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": JSON + [(b"idempotent-replayed", b"true" if row.status_code else b"false")]})
    await send({"type": "http.response.body", "body": body})
