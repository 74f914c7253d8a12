"""Sessions in a signed cookie, and CSRF tokens that live in them.

The cookie holds the signed-in user's id, a mark of their password hash (a new password
ends every other session), the CSRF token of the session, the language chosen and one-shot
messages for the next page. It is signed with itsdangerous and expires after
``web_session_days``. The signing key comes from the settings or, when none is set, is
generated once and kept in the database so every process of the service shares it.
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection

from ombuds.services.context import Ombuds
from ombuds.store.db import write_transaction
from ombuds.store.tables_web import web_secrets

COOKIE = "ombuds_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SKIP_PREFIXES = ("/api/", "/docs", "/openapi.json", "/redoc", "/healthz", "/metrics")


class Session(dict):
    """The session's values; ``changed`` tells the middleware to send the cookie again."""

    changed = False

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.changed = True

    def pop(self, key, default=None):
        self.changed = self.changed or key in self
        return super().pop(key, default)

    def clear(self):
        self.changed = True
        super().clear()

    def csrf_token(self) -> str:
        token = self.get("csrf")
        if not token:
            token = self["csrf"] = secrets.token_urlsafe(32)
        return token

    def csrf_ok(self, sent: str | None) -> bool:
        token = self.get("csrf")
        if not token or not sent:
            return False
        return hmac.compare_digest(token.encode(), sent.encode())

    def flash(self, kind: str, text: str) -> None:
        self["flash"] = [*self.get("flash", []), [kind, text]]

    def take_flashes(self) -> list[tuple[str, str]]:
        return [tuple(f) for f in self.pop("flash", []) or []]


async def session_secret(app: Ombuds, configured: str) -> str:
    if configured:
        return configured
    async with app.engine.connect() as conn:
        found = (await conn.execute(select(web_secrets.c.value).where(web_secrets.c.name == "session"))).scalar()
    if found:
        return found
    now = await app.now()  # before the transaction: SQLite has one connection
    try:
        async with write_transaction(app.engine) as conn:
            await conn.execute(insert(web_secrets).values(name="session", value=secrets.token_urlsafe(48),
                                                          created_at=now))
    except IntegrityError:  # another process made it first
        pass
    async with app.engine.connect() as conn:
        return (await conn.execute(select(web_secrets.c.value).where(web_secrets.c.name == "session"))).scalar_one()


class SessionMiddleware:
    """Loads the signed session into ``scope["session"]`` and sends it back when changed."""

    def __init__(self, app, *, ombuds: Ombuds, secret: str, max_age: timedelta, secure: bool):
        self.app = app
        self.ombuds = ombuds
        self.configured = secret
        self.max_age = int(max_age.total_seconds())
        self.secure = secure
        self._serializer: URLSafeTimedSerializer | None = None

    async def serializer(self) -> URLSafeTimedSerializer:
        if self._serializer is None:  # the key never changes, so keeping it cannot go stale
            key = await session_secret(self.ombuds, self.configured)
            self._serializer = URLSafeTimedSerializer(key, salt="ombuds.web.session",
                                                      serializer=json)
        return self._serializer

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(SKIP_PREFIXES):
            await self.app(scope, receive, send)
            return
        signer = await self.serializer()
        raw = HTTPConnection(scope).cookies.get(COOKIE)
        session = Session()
        if raw:
            try:
                session.update(signer.loads(raw, max_age=self.max_age))
            except (BadSignature, ValueError):
                session.changed = True  # a forged or expired cookie is replaced
        scope["session"] = session

        async def send_with_cookie(message):
            if message["type"] == "http.response.start" and session.changed:
                headers = MutableHeaders(scope=message)
                flags = f"Path=/; HttpOnly; SameSite=Lax{'; Secure' if self.secure else ''}"
                if session:
                    headers.append("set-cookie", f"{COOKIE}={signer.dumps(dict(session))}; "
                                                 f"Max-Age={self.max_age}; {flags}")
                else:
                    headers.append("set-cookie", f"{COOKIE}=; Max-Age=0; {flags}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)
