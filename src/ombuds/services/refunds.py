"""Operator actions on refunds: retry a failed one, record a provider's settlement."""

from __future__ import annotations

from ombuds.domain.errors import Conflict, NotFound
from ombuds.services import money, queries
from ombuds.services.context import PLATFORM, Ombuds
from ombuds.store import money_store
from ombuds.store.money_store import RefundRow
from ombuds.store.uow import UnitOfWork


async def _load(uow: UnitOfWork, refund_id: int) -> RefundRow:
    row = await money_store.get_refund(uow.conn, refund_id, lock=uow.repo.locks_rows)
    if row is None:
        raise NotFound("refund")
    return row


async def _view(app: Ombuds, refund_id: int) -> dict:
    return (await queries.list_refunds(app, PLATFORM, refund_id=refund_id))[0]


async def retry(app: Ombuds, *, refund_id: int) -> dict:
    now = await app.now()
    async with app.uow() as uow:
        r = await _load(uow, refund_id)
        if r.provider_ref is not None or r.destination != money.ORIGINAL_METHOD:
            raise Conflict("refund_not_failed", "This refund is not waiting to be retried.", None)
        await money_store.update_refund(uow.conn, refund_id, next_attempt_at=now, attempts=0, last_error=None)
        await uow.commit()
    return await _view(app, refund_id)


async def record_settlement(app: Ombuds, *, refund_id: int) -> dict:
    now = await app.now()
    async with app.uow() as uow:
        r = await _load(uow, refund_id)
        if await money_store.is_settled(uow.conn, refund_id):
            raise Conflict("refund_already_settled", "This refund has already settled.", None)
        if r.provider_ref is None:
            raise Conflict("refund_not_submitted", "This refund has not reached the provider yet.", None)
        await money.settle(uow.repo, r, now)
        await uow.commit()
    return await _view(app, refund_id)
