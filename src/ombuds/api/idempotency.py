"""``Idempotency-Key`` on writes: exactly once (R35).

A pure ASGI middleware. For a write sent with a key it:

1. answers from the key's record if there is one (kept 24 hours): the same request gets the
   first answer again, status, body and headers, with ``idempotent-replayed: true``; another
   request under the same key gets ``422 idempotency_key_reused``;
2. otherwise runs the request in one transaction (``store/request_transaction.py``): every
   unit of work the request opens is a savepoint of it, and the answer is held back;
3. writes the key's record, with the answer, in that transaction and commits it, and only
   then sends the answer. An answer of 5xx rolls everything back and records nothing.

So a retry after any crash either replays exactly the first answer (its change and its record
committed together) or runs the request once (nothing of it committed): there is no
reservation to wait for. Two requests with the same key at once both run, and the one whose
record commits second is rolled back whole and answered with the first one's answer.

Uploads (``multipart/form-data``) are keyed too: their fingerprint is taken from the parts as
they stream past (the boundary a client picks differs between retries), and a replay drains
the body without storing it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import orjson
import structlog
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from ombuds.adapters.clock import wall_now
from ombuds.store import request_transaction
from ombuds.store.request_transaction import RequestTransaction
from ombuds.store.tables import idempotency_keys as keys

log = structlog.get_logger("ombuds.idempotency")

KEPT_FOR = timedelta(hours=24)
PURGE = 100  # expired records removed by each keyed request
MAX_BODY = 2 * 1024 * 1024  # a JSON body; uploads stream and are bounded by their route
REPLAYED_HEADERS = (b"content-type", b"etag", b"location")
JSON = [(b"content-type", b"application/json")]


class IdempotencyMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        raw_key = headers.get(b"idempotency-key")
        if not raw_key:
            return await self.app(scope, receive, send)
        ombuds = scope["app"].state.ombuds
        key = raw_key.decode("latin-1")[:200]
        principal = hashlib.sha256(headers.get(b"authorization", b"") + b"|" +
                                   headers.get(b"on-behalf-of", b"")).hexdigest()[:64]
        fingerprint = _Fingerprint(scope, headers.get(b"content-type", b""))
        if not fingerprint.streaming:
            body = await _read_body(receive)
            if body is None:
                return await _send(send, 413, {"code": "body_too_large", "field": None,
                                               "message": f"A request body may be at most {MAX_BODY} bytes."})
            fingerprint.update(body)
            receive = _replaying(body, receive)
        stored = await _lookup(ombuds, principal, key)
        if stored is not None:
            if fingerprint.streaming:
                await _drain(receive, fingerprint)
            return await _answer_stored(stored, fingerprint.hexdigest(), send)

        held = RequestTransaction(getattr(ombuds.engine, "engine", ombuds.engine))
        answer = _HeldAnswer()
        token = request_transaction.enter(held)
        try:
            await self.app(scope, fingerprint.tee(receive) if fingerprint.streaming else receive, answer.capture)
        except BaseException:
            await held.finish(commit=False)
            raise
        finally:
            request_transaction.leave(token)
        if fingerprint.streaming:
            await _drain(receive, fingerprint)  # what the route did not read still counts
        if answer.status >= 500:
            await held.finish(commit=False)
            return await answer.send_to(send)
        try:
            conn = await held.connection()
            now = wall_now()  # operational time, not the (possibly manual) business clock
            await conn.execute(delete(keys).where(keys.c.principal == principal, keys.c.key == key,
                                                  keys.c.created_at < now - KEPT_FOR))
            await _purge_some_expired(conn, now)
            await conn.execute(insert(keys).values(
                principal=principal, key=key, request_hash=fingerprint.hexdigest(), created_at=now,
                status_code=answer.status, response_body=answer.body.decode("utf-8", "replace"),
                response_headers={k.decode("latin-1"): v.decode("latin-1") for k, v in answer.headers
                                  if k.lower() in REPLAYED_HEADERS}))
            await held.finish(commit=True)
        except IntegrityError:  # the same key committed first by a request running beside this one
            await held.finish(commit=False)
            stored = await _lookup(ombuds, principal, key)
            if stored is not None:
                return await _answer_stored(stored, fingerprint.hexdigest(), send)
            return await _send(send, 503, _not_saved())
        except (DBAPIError, OSError):
            log.exception("idempotent_commit_failed", path=scope["path"])
            await held.finish(commit=False)
            return await _send(send, 503, _not_saved())
        await answer.send_to(send, extra=[(b"idempotent-replayed", b"false")])


async def _purge_some_expired(conn, now: datetime) -> None:
    """Keys are kept 24 hours: each keyed request removes up to 100 expired records (by the
    ``created_at`` index), so the table holds about a day of keys without a job of its own."""
    expired = select(keys.c.id).where(keys.c.created_at < now - KEPT_FOR).order_by(keys.c.created_at).limit(PURGE)
    if conn.dialect.name == "postgresql":
        expired = expired.with_for_update(skip_locked=True)
    await conn.execute(delete(keys).where(keys.c.id.in_(expired.scalar_subquery())))


def _not_saved() -> dict:
    return {"code": "not_saved", "field": None,
            "message": "The change could not be saved. Send the request again with the same "
                       "Idempotency-Key: it runs once, or answers as it did if it was saved."}


class _HeldAnswer:
    """The route's answer, held back until the transaction that recorded it has committed."""

    def __init__(self):
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    async def capture(self, message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def send_to(self, send, extra: list | None = None) -> None:
        headers = [(k, v) for k, v in self.headers if k.lower() != b"content-length"]
        headers += [(b"content-length", str(len(self.body)).encode())] + (extra or [])
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


async def _lookup(ombuds, principal: str, key: str):
    async with ombuds.engine.connect() as conn:
        row = (await conn.execute(select(keys).where(keys.c.principal == principal,
                                                     keys.c.key == key))).first()
    if row is None or row.created_at < wall_now() - KEPT_FOR:
        return None
    return row


async def _answer_stored(row, fingerprint: str, send) -> None:
    if row.request_hash != fingerprint:
        return await _send(send, 422, {"code": "idempotency_key_reused", "field": "idempotency-key",
                                       "message": "This Idempotency-Key was used for a different request."})
    body = (row.response_body or "").encode()
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (row.response_headers or {}).items()]
    if not any(k == b"content-type" for k, _ in headers) and body:
        headers += JSON
    headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": row.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send(send, status: int, body: dict) -> None:
    data = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": JSON + [(b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


async def _read_body(receive) -> bytes | None:
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        more = message.get("more_body", False)
    return body


def _replaying(body: bytes, receive):
    """The body already read, then whatever the client sends next (its disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return replay


async def _drain(receive, fingerprint: _Fingerprint) -> None:
    while not fingerprint.complete:
        message = await receive()
        if message["type"] != "http.request":
            break
        fingerprint.update(message.get("body", b""), more=message.get("more_body", False))


class _Fingerprint:
    """What makes two requests "the same": method, path and body. A multipart body is taken part
    by part (names, file names, types and bytes), since its boundary is the client's choice."""

    def __init__(self, scope, content_type: bytes):
        self._hash = hashlib.sha256(scope["method"].encode() + scope["path"].encode() + b"\n")
        self.complete = False
        self._parser = None
        self.streaming = content_type.lower().startswith(b"multipart/form-data")
        if self.streaming:
            from python_multipart.multipart import MultipartParser, parse_options_header
            _, options = parse_options_header(content_type)
            boundary = options.get(b"boundary")
            if boundary:
                h = self._hash
                self._parser = MultipartParser(boundary, {
                    "on_part_begin": lambda: h.update(b"\x00part"),
                    "on_header_field": lambda d, s, e: h.update(b"\x00h" + d[s:e].lower()),
                    "on_header_value": lambda d, s, e: h.update(b"\x00v" + d[s:e]),
                    "on_part_data": lambda d, s, e: h.update(d[s:e]),
                })

    def update(self, chunk: bytes, *, more: bool = False) -> None:
        if self._parser is not None:
            try:
                self._parser.write(chunk)
            except Exception:  # not valid multipart: the route refuses it; hash what came
                self._parser = None
                self._hash.update(chunk)
        else:
            self._hash.update(chunk)
        self.complete = not more

    def tee(self, receive):
        async def passing():
            message = await receive()
            if message["type"] == "http.request":
                self.update(message.get("body", b""), more=message.get("more_body", False))
            return message
        return passing

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
