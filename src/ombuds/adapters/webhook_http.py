"""Posting signed webhooks (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
``webhook-signature``) with httpx. The timestamp is the real sending time, because
receivers check it against their own clocks to refuse replays."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from standardwebhooks import Webhook

from ombuds import __version__
from ombuds.adapters.clock import wall_now

RESPONSE_KEPT = 1000  # characters of a response body kept in the delivery log


@dataclass(frozen=True, slots=True)
class PostResult:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    response_body: str | None = None


@dataclass(frozen=True, slots=True)
class SignedPost:
    url: str
    secret: str
    message_id: str
    body: str


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    sent_at = wall_now()
    return {
        "content-type": "application/json",
        "user-agent": f"Ombuds-Webhooks/{__version__}",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }


class WebhookPoster:
    """Posts many webhooks at once, a few at a time; each result is handed to ``on_result``
    as soon as it is known, so a crash loses as little as possible."""

    def __init__(self, *, timeout: float, concurrency: int = 10):
        self.timeout = timeout
        self.concurrency = concurrency

    async def post_all(self, posts: list[SignedPost], on_result) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            async def one(i: int, post: SignedPost) -> None:
                async with gate:
                    result = await self._post(client, post)
                await on_result(i, result)
            await asyncio.gather(*(one(i, p) for i, p in enumerate(posts)))

    @staticmethod
    async def _post(client: httpx.AsyncClient, post: SignedPost) -> PostResult:
        try:
            response = await client.post(post.url, content=post.body.encode(),
                                         headers=signed_headers(post.secret, post.message_id, post.body))
        except httpx.TimeoutException:
            return PostResult(False, error="timed out")
        except httpx.HTTPError as exc:
            return PostResult(False, error=f"{type(exc).__name__}: {exc}"[:RESPONSE_KEPT])
        return PostResult(200 <= response.status_code < 300, response.status_code,
                          None if response.is_success else f"HTTP {response.status_code}",
                          response.text[:RESPONSE_KEPT])
