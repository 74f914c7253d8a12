"""Conversations: the order's messages between buyer and seller (R4) and the arbitrators'
notes on a dispute (R32). Both are append-only.

Order messages are seen by the order's parties and staff; everyone else is told the order
does not exist. Staff notes are seen by staff only: a party asking for them gets the same
404 as for a page that does not exist, and notes never reach the timeline or the outbox,
the two things parties read or are e-mailed from.
"""

from __future__ import annotations

from ombuds.domain.errors import DomainError, NotFound
from ombuds.domain.text import written
from ombuds.services.context import Caller, Ombuds
from ombuds.services.orders import load_visible as load_visible_order
from ombuds.store import conversation_store

MAX_BODY = 5000


class Invisible(DomainError):
    """Answers exactly like an unknown route, so that staff-only things cannot be probed."""

    status = 404

    def __init__(self) -> None:
        super().__init__("not_found", "Not Found")


def _body(text: str) -> str:
    text = written(text)
    if not text:
        raise DomainError("message_required", "Write a message.", "body")
    if len(text) > MAX_BODY:
        raise DomainError("message_too_long", f"A message may be at most {MAX_BODY} characters.", "body")
    return text


def _author(caller: Caller) -> dict:
    return {"author_id": caller.user_id, "author_role": caller.role}


# R4: order messages ----------------------------------------------------------------------

async def post_order_message(app: Ombuds, *, caller: Caller, order_id: int, body: str) -> dict:
    """The buyer, the seller (or staff) writes on the order; the other side is told (R23)."""
    text = _body(body)
    now = await app.now()
    async with app.uow() as uow:
        order = await load_visible_order(uow.repo, order_id, caller)
        row = {"order_id": order.id, **_author(caller), "body": text, "created_at": now}
        row["id"] = await conversation_store.add_order_message(uow.conn, row)
        await conversation_store.add_outbox_message(uow.conn, dict(
            type="order.message", aggregate="order", aggregate_id=order.id, created_at=now,
            payload={"order_id": order.id, "buyer_id": order.buyer_id, "seller_id": order.seller_id,
                     "message_id": row["id"], "author_role": caller.role, "author_id": caller.user_id,
                     "body": text}))
        await uow.commit()
    return message_view(row)


async def order_messages_of(app: Ombuds, *, caller: Caller, order_id: int, after_id: int | None,
                            limit: int) -> list[dict]:
    async with app.uow() as uow:
        await load_visible_order(uow.repo, order_id, caller)
        rows = await conversation_store.order_messages_of(uow.conn, order_id, after_id=after_id, limit=limit)
    return [message_view(r) for r in rows]


# R32: staff notes -----------------------------------------------------------------------

async def add_note(app: Ombuds, *, caller: Caller, dispute_id: int, body: str) -> dict:
    """An arbitrator's (or the marketplace's) note on a dispute, for staff eyes only."""
    if not caller.is_staff:
        raise Invisible()
    text = _body(body)
    now = await app.now()
    async with app.uow() as uow:
        if await uow.repo.get_dispute(dispute_id) is None:
            raise NotFound("dispute")
        row = {"dispute_id": dispute_id, **_author(caller), "body": text, "created_at": now}
        row["id"] = await conversation_store.add_note(uow.conn, row)
        await uow.commit()
    return message_view(row)


async def notes_of(app: Ombuds, *, caller: Caller, dispute_id: int) -> list[dict]:
    if not caller.is_staff:
        raise Invisible()
    async with app.uow() as uow:
        if await uow.repo.get_dispute(dispute_id) is None:
            raise NotFound("dispute")
        rows = await conversation_store.notes_of(uow.conn, dispute_id)
    return [message_view(r) for r in rows]


def message_view(r: dict) -> dict:
    return {"id": r["id"], "author_id": r["author_id"], "author_role": r["author_role"],
            "body": r["body"], "created_at": r["created_at"].isoformat(),
            **({"order_id": r["order_id"]} if "order_id" in r else {"dispute_id": r["dispute_id"]})}
