"""Dispute use cases: open one, act on it. Each runs in one unit of work.

A person's action first applies any timer of the dispute that is already due (the
sweeper may lag behind the clock); if one fired, the person gets 409 naming the deadline.
"""

from __future__ import annotations

from datetime import datetime

from ombuds.domain import commands as c
from ombuds.domain import engine, lifecycle
from ombuds.domain.disputes import Actor, Dispute
from ombuds.domain.errors import Forbidden, NotFound, VersionMismatch
from ombuds.domain.lifecycle import Action
from ombuds.domain.policy import Policy
from ombuds.domain.text import written
from ombuds.services import closing
from ombuds.services.context import Caller, Ombuds
from ombuds.services.orders import catch_up, keeping_timers, retry_if_order_moved
from ombuds.services.orders import visible as order_visible
from ombuds.store.repository import Repository


async def open_dispute(app: Ombuds, *, caller: Caller, cmd: c.OpenDispute) -> Dispute:
    """R5–R8, R26: the buyer opens a dispute on one order line.

    If the order changed under us (its protection ended at this very moment), the claim is
    checked again once against the order as it now is.
    """
    return await retry_if_order_moved(lambda: _open_dispute(app, caller, cmd))


def check_language(app: Ombuds, text: str | None, field: str) -> None:
    """R9: dispute texts must be in an allowed language (checked before any database work)."""
    if text is not None and written(text):  # a text of blanks is in no language: the rule asking for a text answers it
        app.language_checker().check(text, allowed=tuple(app.policy.allowed_languages), field=field)


# Which field of a command carries words the other party and the arbitrator must read.
_TEXT_FIELDS = {c.Propose: "message", c.Say: "message", c.ConfirmReturn: "message"}


async def _open_dispute(app: Ombuds, caller: Caller, cmd: c.OpenDispute) -> Dispute:
    check_language(app, cmd.description, "description")
    async with app.uow() as uow:
        now = await app.now()  # a manual clock is read in this unit of work
        found = await uow.repo.get_order_and_disputes(cmd.order_id)
        if found is None or not order_visible(found[0], caller):
            raise NotFound("order")
        order, disputed = found
        # A lagging sweeper changes nothing: the order's due timers apply first, and stay.
        async with keeping_timers(uow, await catch_up(uow.repo, order, now, app.policy)):
            if not (caller.user_id == order.buyer_id or caller.is_platform):
                raise Forbidden("not_your_action", "Only the order's buyer can open a dispute.")
            line = order.line(cmd.line_id)
            dispute = lifecycle.open_dispute(order, line, cmd, now=now, policy=app.policy,
                                          line_has_dispute=line.id in disputed)
        await uow.repo.touch_order(order)  # races with the order's completion: one loses
        await uow.repo.add_dispute(dispute)
        await uow.commit()
    return dispute


def actor_for(d: Dispute, caller: Caller) -> Actor:
    if caller.is_platform:
        return Actor.platform
    if caller.role == "arbitrator":
        return Actor.arbitrator
    party = None if caller.user_id is None else d.party(caller.user_id)
    if party is None:
        raise NotFound("dispute")
    return party


def visible(d: Dispute, caller: Caller) -> bool:
    return caller.is_staff or caller.user_id in (d.buyer_id, d.seller_id)


async def load_visible(repo: Repository, dispute_id: int, caller: Caller) -> Dispute:
    d = await repo.get_dispute(dispute_id)
    if d is None or not visible(d, caller):
        raise NotFound("dispute")
    return d


async def act(app: Ombuds, *, caller: Caller, dispute_id: int, action: Action,
              cmd: c.Command = None, expected_version: int | None = None) -> Dispute:
    """Apply a person's action from the lifecycle table (R12–R19). With ``expected_version``
    (the caller's ``If-Match``) the action applies only to that version of the dispute (R34)."""
    field = _TEXT_FIELDS.get(type(cmd))
    if field:
        check_language(app, getattr(cmd, field), field)
    async with app.uow() as uow:
        now = await app.now()  # a manual clock is read in this unit of work
        d = await load_visible(uow.repo, dispute_id, caller)
        actor = actor_for(d, caller)
        engine.check_may_ever(action, actor)  # 403 before any deadline or state (409)
        if expected_version is not None and d.version != expected_version:
            raise VersionMismatch("version_mismatch", f"This dispute has changed since version "
                                  f"{expected_version}: read it again before you act.", "if-match",
                                  version=d.version, state=d.state.value)
        passed_at, state = d.deadline_at, d.state
        fired = engine.fire_due(d, now=now, policy=app.policy)
        if d.state is not state:  # a deadline moved the dispute on: the person's action is late
            await _save(uow.repo, d, now, app.policy)
            await uow.commit()
            assert passed_at is not None, "only a deadline moves a dispute on before a person acts"
            raise lifecycle.passed_deadline_error(d, fired, passed_at)
        engine.act(d, action, actor, caller.user_id, cmd, now=now, policy=app.policy)
        await _save(uow.repo, d, now, app.policy)
        await uow.commit()
    return d


async def _save(repo: Repository, d: Dispute, now: datetime, policy: Policy) -> None:
    closed = closing.closed_in([d])
    await repo.save_dispute(d, now)
    await closing.settle(repo, await closing.lock_orders_of(repo, closed), policy)


async def get_dispute(app: Ombuds, *, caller: Caller, dispute_id: int) -> Dispute:
    async with app.uow() as uow:
        return await load_visible(uow.repo, dispute_id, caller)
