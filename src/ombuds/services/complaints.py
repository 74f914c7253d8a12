"""Complaint use cases (R24): file one, act on it, read it, and sweep its deadlines.

Complaints are between the buyer and the platform: the seller never reads them (404),
though a penalty given through one appears in the seller's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ombuds.domain import complaints as rules
from ombuds.domain.complaints import Complaint, ComplaintAction
from ombuds.domain.disputes import Actor, DisputeState
from ombuds.domain.errors import Conflict, Forbidden, NotFound
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order
from ombuds.domain.penalties import standing
from ombuds.domain.policy import Policy
from ombuds.services import money
from ombuds.services.context import Caller, Ombuds
from ombuds.services.orders import visible as order_visible
from ombuds.services.queries import timeline_item
from ombuds.store import trust_repository as repo
from ombuds.store.uow import Connection


def actor_for(c: Complaint, caller: Caller) -> Actor:
    if caller.is_platform:
        return Actor.platform
    if caller.role == "arbitrator":
        return Actor.arbitrator
    if caller.user_id == c.buyer_id:
        return Actor.buyer
    raise NotFound("complaint")  # the seller and everyone else: as good as absent


async def file_complaint(app: Ombuds, *, caller: Caller, order_id: int, line_id: int | None, about: str,
                         message: str) -> Complaint:
    """R24: the buyer complains once the line (or the order) can no longer be disputed."""
    now = await app.now()
    async with app.uow() as uow:
        found = await uow.repo.get_order_and_disputes(order_id)
        if found is None or not order_visible(found[0], caller):
            raise NotFound("order", "order_id")
        order, _ = found
        if not (caller.user_id == order.buyer_id or caller.is_platform):
            raise Forbidden("not_your_action", "Only the order's buyer can file a complaint.")
        line_disputes = {d.line_id: d.state is not DisputeState.closed
                         for d in await uow.repo.disputes_of_order(order_id)}
        rules.may_complain(order, line_id, line_disputes, now=now, policy=app.policy)
        await repo.lock_order(uow.conn, order_id)  # one open complaint per order, even when two arrive at once
        open_one = await repo.open_complaint_of(uow.conn, order_id)
        if open_one is not None:
            raise Conflict("complaint_already_open", "This order already has an open complaint; the "
                           "platform will answer it.", "order_id", complaint_id=open_one)
        c = rules.file(order, line_id=line_id, about=about, message=message, now=now, policy=app.policy)
        await repo.add_complaint(uow.conn, c)
        await uow.commit()
    return c


@dataclass(frozen=True, slots=True)
class Extras:
    """What a complaint's view needs besides the complaint: its penalty and timeline."""

    penalty: dict[str, Any] | None
    timeline: list[dict[str, Any]] | None


async def _prepare(conn: Connection, c: Complaint) -> None:
    """Facts the lifecycle's guards read, loaded fresh for the action at hand."""
    c.has_penalty = await repo.has_penalty(conn, saved_id(c))
    c.seller_standing = standing(await repo.latest_standing_record(conn, c.seller_id))


async def act(app: Ombuds, *, caller: Caller, complaint_id: int, action: ComplaintAction,
              cmd: Any = None) -> Complaint:
    now = await app.now()
    async with app.uow() as uow:
        c = await repo.get_complaint(uow.conn, complaint_id, lock=True)
        if c is None:
            raise NotFound("complaint")
        actor = actor_for(c, caller)
        rules.check_may_ever(action, actor)  # 403 before any deadline or state (409)
        state = c.state
        fired = rules.fire_due(c, now=now, policy=app.policy)
        if c.state is not state:  # the deadline moved it on first: the person is late
            await _save_with_alerts(uow.conn, c, now, app.policy)
            await uow.commit()
            raise Conflict("deadline_passed", f"The deadline '{fired[-1]}' passed; the complaint is now "
                           f"{c.state.value}.", None, deadline=fired[-1], state=c.state.value)
        await _prepare(uow.conn, c)
        order: Order | None = None
        if action is ComplaintAction.grant_goodwill:
            order = await uow.repo.get_order(c.order_id, lock=True)
            if order is None:
                raise NotFound("order")
            c.refundable = order.total - await repo.refunded_amount(uow.conn, c.order_id)
        rules.act(c, action, actor, caller.user_id, cmd, now=now, policy=app.policy)
        if c.new_goodwill is not None:
            assert order is not None  # only granting goodwill sets one, and that loaded the order
            c.goodwill_refund_id = await money.issue_refund(
                uow.repo, order=order, amount=c.new_goodwill.amount, line_id=None, reason="goodwill",
                dispute_id=None, complaint_id=c.id, destination=c.new_goodwill.refund_to, now=now,
                policy=app.policy)
            c.new_goodwill = None
        if c.new_penalty is not None:
            await repo.add_penalty(uow.conn, seller_id=c.seller_id, kind=c.new_penalty.kind,
                                   reason=c.new_penalty.reason, by_id=caller.user_id, by_role=caller.role,
                                   now=now, complaint_id=c.id)
            c.new_penalty = None
        await _save_with_alerts(uow.conn, c, now, app.policy)
        await uow.commit()
    return c


# The lifecycle's overdue report and reminders become staff alerts too.
ALERT_FOR = {"complaint.answer_overdue": "complaint_overdue", "complaint.answer_reminder": "complaint_due_soon"}


def _alert_kinds(c: Complaint) -> list[str]:
    return [ALERT_FOR[e.type] for e in c.new_events if e.type in ALERT_FOR]


async def _save_with_alerts(conn: Connection, c: Complaint, now: datetime, policy: Policy) -> None:
    kinds = _alert_kinds(c)
    await repo.save_complaint(conn, c, now)
    await _alert(conn, c, kinds, policy, now)


async def _alert(conn: Connection, c: Complaint, kinds: list[str], policy: Policy, now: datetime) -> None:
    target = rules.answer_target(c, policy)
    complaint_id = saved_id(c)
    for kind in kinds:
        await repo.add_alert(conn, kind=kind, subject="complaint", subject_id=complaint_id, round_at=target,
                             now=now, details={"complaint_id": complaint_id, "order_id": c.order_id,
                                               "buyer_id": c.buyer_id, "seller_id": c.seller_id,
                                               "answer_target_at": target.isoformat()})


async def sweep_due(conn: Connection, until: datetime, batch: int, policy: Policy, *, set_aside_kind: str,
                    only: int | None = None) -> tuple[list[int], dict[int, str]]:
    """Apply due complaint reminders and timers (claimed like disputes), leaving out those the
    sweeper set aside as ``set_aside_kind`` (and all but ``only``, when given); returns the
    complaints claimed and those the rules refused (→ why), which the sweeper sets aside."""
    due = await repo.due_complaints(conn, until, batch, set_aside_kind=set_aside_kind, only=only)
    alerts: list[list[str]] = []
    done: list[Complaint] = []
    failed: dict[int, str] = {}
    for c in due:
        try:
            rules.fire_due(c, now=until, policy=policy)
        except Exception as exc:
            failed[saved_id(c)] = f"{type(exc).__name__}: {exc}"
            continue
        done.append(c)
        alerts.append(_alert_kinds(c))
    await repo.save_locked_complaints(conn, done, until)
    for c, kinds in zip(done, alerts, strict=True):
        await _alert(conn, c, kinds, policy, until)
    return [saved_id(c) for c in due], failed


# Reading ---------------------------------------------------------------------------------

async def get_complaint(app: Ombuds, *, caller: Caller, complaint_id: int) -> tuple[Complaint, Extras]:
    async with app.engine.connect() as conn:
        c = await repo.get_complaint(conn, complaint_id)
        if c is None:
            raise NotFound("complaint")
        actor_for(c, caller)
        await _prepare(conn, c)
        timeline = [timeline_item(e) for e in await repo.complaint_timeline_of(conn, complaint_id)]
        penalty = None
        if caller.is_staff:
            p = await repo.penalty_of_complaint(conn, complaint_id)
            if p is not None:
                penalty = {"id": p.id, "kind": p.kind, "reason": p.reason, "at": p.created_at.isoformat()}
    return c, Extras(penalty, timeline)


async def list_complaints(app: Ombuds, *, caller: Caller, state: str | None, limit: int, offset: int
                          ) -> list[Complaint]:
    """Staff: open complaints first, the nearest answer target first (the complaints queue);
    a buyer: her own, newest first. Sellers have none to read."""
    if caller.is_staff:
        buyer_id = None
    elif caller.role == "buyer" and caller.user_id is not None:
        buyer_id = caller.user_id
    else:
        return []
    return await repo.complaints_queue(app.engine, buyer_id=buyer_id, state=state, limit=limit, offset=offset)
