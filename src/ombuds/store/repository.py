"""Loading and saving aggregates in one connection. Saves are version-checked (optimistic
locking), so a person's action and a timer firing at the same moment never both apply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Insert, Select, Table, Update, and_, bindparam, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.domain import ledger
from ombuds.domain.disputes import Dispute
from ombuds.domain.errors import Conflict
from ombuds.domain.events import Event
from ombuds.domain.ledger import JournalEntry
from ombuds.domain.orders import Order
from ombuds.store import sweep_store
from ombuds.store import tables as t
from ombuds.store.ledger_store import LedgerStore
from ombuds.store.mapping import dispute_to_row, order_to_row, row_to_dispute, row_to_order


def _add_order_statement(columns: tuple[str, ...]):
    """``INSERT INTO orders (…) SELECT :v_… WHERE`` the buyer and the seller exist with their
    roles ``RETURNING id`` — built once (per set of columns), executed with parameters."""
    found = _ADD_ORDER.get(columns)
    if found is None:
        values = select(*(bindparam(f"v_{k}", type_=t.orders.c[k].type) for k in columns))
        party = and_(exists().where(t.users.c.id == bindparam("p_buyer"), t.users.c.role == "buyer"),
                     exists().where(t.users.c.id == bindparam("p_seller"), t.users.c.role == "seller"))
        found = _ADD_ORDER[columns] = (insert(t.orders).from_select(list(columns), values.where(party))
                                       .returning(t.orders.c.id))
    return found


_ADD_ORDER: dict[tuple[str, ...], Insert] = {}
_ADD_LINES = insert(t.order_lines).returning(t.order_lines.c.id, sort_by_parameter_order=True)
_ADD_EVENTS = insert(t.outbox)


def _order_and_disputes(*, lock: bool) -> Select:
    """An order, its lines, and which line has which dispute, by ``:order_id``."""
    q = (select(t.orders, t.order_lines.c.id.label("line_id"), t.order_lines.c.position,
                t.order_lines.c.title, t.order_lines.c.unit_price, t.order_lines.c.quantity,
                t.disputes.c.id.label("dispute_id"))
         .join(t.order_lines, t.order_lines.c.order_id == t.orders.c.id)
         .outerjoin(t.disputes, t.disputes.c.line_id == t.order_lines.c.id)
         .where(t.orders.c.id == bindparam("order_id")).order_by(t.order_lines.c.position))
    return q.with_for_update(of=t.orders) if lock else q


_ORDER_AND_DISPUTES = _order_and_disputes(lock=False)
_ORDER_AND_DISPUTES_LOCKED = _order_and_disputes(lock=True)


def _save_statement(table: Table, columns: tuple[str, ...]) -> Update:
    """``UPDATE <table> SET version = :v_version, <column> = :v_<column>, … WHERE id = :b_id AND
    version = :b_version`` — built once per table and set of columns, executed with parameters
    (so SQLAlchemy finds it compiled without walking it again)."""
    key = (table.name, columns)
    found = _SAVE.get(key)
    if found is None:
        found = _SAVE[key] = (
            update(table).where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
            .values(version=bindparam("v_version"), **{c: bindparam(f"v_{c}") for c in columns}))
    return found


_SAVE: dict[tuple[str, tuple[str, ...]], Update] = {}


class MovedOn(Conflict):
    """Someone else changed this first; the caller gets 409 and the current state."""

    def __init__(self, what: str, state: str | None):
        super().__init__(f"{what}_moved_on",
                         f"This {what} has moved on while you were acting"
                         + (f"; it is now {state.replace('_', ' ')}." if state else "."),
                         None, state=state)


class UnrecordedMoney(RuntimeError):
    """A refund or payout was about to be committed without its ledger entry."""

    def __init__(self, missing: list[tuple[str, int]]):
        super().__init__(f"money changed without journal entries: {missing}")
        self.missing = missing


class Repository:
    def __init__(self, conn: AsyncConnection, *, for_update: bool):
        self.conn = conn
        self.ledger = LedgerStore(conn)
        self._for_update = for_update
        self._money_rows: set[tuple[str, int]] = set()
        self._money_entries: set[tuple[str, int]] = set()

    # Orders ---------------------------------------------------------------------------

    async def add_order(self, o: Order) -> Order | None:
        """Insert the order, its lines and its events. The order row is written only if its
        buyer and seller exist with those roles — checked by the INSERT itself; None (nothing
        written) if not."""
        row = {**order_to_row(o), "version": 0}
        params = {f"v_{k}": v for k, v in row.items()}
        params.update(p_buyer=o.buyer_id, p_seller=o.seller_id)
        o.id = (await self.conn.execute(_add_order_statement(tuple(row)), params)).scalar()
        if o.id is None:
            return None
        ids = (await self.conn.execute(_ADD_LINES, [
            {"order_id": o.id, "position": line.position, "title": line.title, "unit_price": line.unit_price,
             "quantity": line.quantity} for line in o.lines])).scalars().all()
        for line, line_id in zip(o.lines, ids, strict=True):
            line.id = line_id
        await self._events(o.new_events, o.id, o.created_at)
        return o

    async def roles(self, user_ids: list[int]) -> dict[int, str]:
        """User id → role, for the ids that exist (one query)."""
        q = select(t.users.c.id, t.users.c.role).where(t.users.c.id.in_(user_ids))
        return dict((await self.conn.execute(q)).all())

    async def get_order(self, order_id: int, *, lock: bool = False) -> Order | None:
        found = await self.get_order_and_disputes(order_id, lock=lock)
        return found and found[0]

    async def get_order_and_disputes(self, order_id: int, *, lock: bool = False
                                     ) -> tuple[Order, dict[int, int]] | None:
        """The order, its lines, and which line has which dispute — in one round trip."""
        q = _ORDER_AND_DISPUTES_LOCKED if lock and self._for_update else _ORDER_AND_DISPUTES
        rows = (await self.conn.execute(q, {"order_id": order_id})).all()
        if not rows:
            return None
        lines = [SimpleNamespace(id=r.line_id, position=r.position, title=r.title,
                                 unit_price=r.unit_price, quantity=r.quantity) for r in rows]
        disputed = {r.line_id: r.dispute_id for r in rows if r.dispute_id is not None}
        return row_to_order(rows[0], lines), disputed

    async def touch_order(self, o: Order) -> None:
        """Claim the order unchanged: a concurrent change of it (its completion) makes this fail."""
        await self._save_versioned(t.orders, o, "order", {})

    async def save_order(self, o: Order, now: datetime) -> None:
        await self._save_versioned(t.orders, o, "order", order_to_row(o))
        await self._events(o.new_events, cast(int, o.id), now)  # a stored order: it has its id
        o.new_events.clear()

    # Disputes -------------------------------------------------------------------------

    async def add_dispute(self, d: Dispute) -> Dispute:
        try:
            d.id = (await self.conn.execute(insert(t.disputes).values(version=0, **dispute_to_row(d))
                                            .returning(t.disputes.c.id))).scalar_one()
        except IntegrityError:
            raise Conflict("line_already_disputed",
                           "This order line already has a dispute. A line can have only one dispute.",
                           "line_id") from None
        await self._flush_dispute(d, now=d.opened_at)
        return d

    async def get_dispute(self, dispute_id: int, *, lock: bool = False) -> Dispute | None:
        q = select(t.disputes).where(t.disputes.c.id == dispute_id)
        if lock and self._for_update:
            q = q.with_for_update()
        row = (await self.conn.execute(q)).first()
        return None if row is None else row_to_dispute(row)

    async def save_dispute(self, d: Dispute, now: datetime) -> None:
        await self._save_versioned(t.disputes, d, "dispute", dispute_to_row(d))
        await self._flush_dispute(d, now=now)

    async def disputes_of_order(self, order_id: int) -> list[Dispute]:
        rows = (await self.conn.execute(select(t.disputes).where(t.disputes.c.order_id == order_id))).all()
        return [row_to_dispute(r) for r in rows]

    async def due_disputes(self, now: datetime, limit: int, *, only: int | None = None) -> list[Dispute]:
        """Disputes with a reminder or timer due, earliest first, leaving out those the sweeper
        set aside; ``only``: this one, if it is due."""
        q = select(t.disputes).where(t.disputes.c.due_at <= now,
                                     sweep_store.not_set_aside("dispute", t.disputes.c.id))
        if only is not None:
            q = q.where(t.disputes.c.id == only)
        q = q.order_by(t.disputes.c.due_at, t.disputes.c.id).limit(limit)
        if self._for_update:
            q = q.with_for_update(skip_locked=True)
        return [row_to_dispute(r) for r in (await self.conn.execute(q)).all()]

    async def save_locked_disputes(self, ds: list[Dispute], now: datetime) -> None:
        """Save many disputes whose rows this transaction holds locked (the sweeper's claim),
        in a few set-wide statements instead of a round trip per row."""
        if not ds:
            return
        rows = [{"b_id": d.id, "version": d.version + 1, **dispute_to_row(d)} for d in ds]
        await self.conn.execute(update(t.disputes).where(t.disputes.c.id == bindparam("b_id")), rows)
        for d in ds:
            d.version += 1
        await self._flush_dispute(*ds, now=now)

    async def _flush_dispute(self, *ds: Dispute, now: datetime) -> None:
        """Append the disputes' new timeline entries, refund intents and outbox events."""
        entries = [{"dispute_id": d.id, "at": e.at, "actor": e.actor, "actor_id": e.actor_id,
                    "action": e.action, "from_state": e.from_state, "to_state": e.to_state,
                    "deadline": e.deadline, "deadline_at": e.deadline_at, "details": e.details}
                   for d in ds for e in d.new_timeline]
        if entries:
            await self.conn.execute(insert(t.timeline), entries)
        events = [self._outbox_row(e, cast(int, d.id), now) for d in ds for e in d.new_events]
        if events:
            await self.conn.execute(_ADD_EVENTS, events)
        for d in ds:  # refund intents are the money service's
            d.new_timeline.clear()
            d.new_events.clear()

    # Money ---------------------------------------------------------------------------

    async def post(self, entry: JournalEntry, now: datetime) -> int:
        """Write one balanced journal entry (it was checked when built)."""
        return (await self.post_many([(entry, now)]))[0]

    async def post_many(self, entries: Sequence[tuple[JournalEntry, datetime]]) -> list[int]:
        """Write many balanced entries, each at its own time, in a few statements whatever
        their number (``LedgerStore.post_many``); their ids in the order given."""
        ids = await self.ledger.post_many(entries)
        for entry, _ in entries:
            if entry.kind == "refund_issued" and entry.refund_id is not None:
                self._money_entries.add(("refund", entry.refund_id))
            elif entry.kind == "payout" and entry.line_id is not None:
                self._money_entries.add(("payout", entry.line_id))
        return ids

    async def balances(self, accounts: list[str]) -> dict[str, int]:
        """Account → running balance, for accounts that hold one currency (escrow, refunds)."""
        found = await self.ledger.balances(accounts)
        return {a: sum(found[a].values()) for a in accounts}

    async def payout_of_line(self, line_id: int) -> tuple[int, int]:
        """(amount taken from escrow, commission taken) by the line's payout; (0, 0) if none."""
        rows = (await self.conn.execute(
            select(t.postings.c.account, t.postings.c.amount)
            .join(t.journal_entries, t.journal_entries.c.id == t.postings.c.entry_id)
            .where(t.journal_entries.c.kind == "payout", t.journal_entries.c.line_id == line_id))).all()
        paid = -sum(a for account, a in rows if account == ledger.escrow(line_id))
        commission = sum(a for account, a in rows if account == ledger.COMMISSION)
        return paid, commission

    async def add_refund(self, row: dict) -> int:
        refund_id = (await self.conn.execute(insert(t.refunds).values(**row).returning(t.refunds.c.id))).scalar_one()
        self._money_rows.add(("refund", refund_id))
        return refund_id

    async def add_refunds(self, rows: Sequence[dict]) -> list[int]:
        """Many refunds in one multi-row INSERT (the sweeper's batch); ids in the order given."""
        ids = await sweep_store.add_refunds(self.conn, rows)
        self._money_rows.update(("refund", i) for i in ids)
        return ids

    async def add_payouts(self, rows: Sequence[dict]) -> None:
        """Many payouts in one multi-row INSERT (columns of ``payouts``)."""
        if rows:
            await self.conn.execute(insert(t.payouts), list(rows))
            self._money_rows.update(("payout", r["line_id"]) for r in rows)

    async def paid_out_lines(self, order_id: int) -> set[int]:
        q = select(t.payouts.c.line_id).where(t.payouts.c.order_id == order_id)
        return set((await self.conn.execute(q)).scalars().all())

    async def add_payout(self, order: Order, line_id: int, amount: int, now: datetime) -> None:
        await self.conn.execute(insert(t.payouts).values(
            order_id=order.id, line_id=line_id, seller_id=order.seller_id, amount=amount,
            currency=order.currency, created_at=now))
        self._money_rows.add(("payout", line_id))

    @property
    def locks_rows(self) -> bool:
        return self._for_update

    def check_money_recorded(self) -> None:
        """The guard: no refund or payout may be committed without its journal entry."""
        missing = self._money_rows - self._money_entries
        if missing:
            raise UnrecordedMoney(sorted(missing))

    # Outbox ---------------------------------------------------------------------------

    async def add_events(self, events: list[Event], aggregate_id: int, now: datetime) -> None:
        await self._events(events, aggregate_id, now)

    async def _events(self, events: list[Event], aggregate_id: int, now: datetime) -> None:
        if events:
            await self.conn.execute(_ADD_EVENTS, [self._outbox_row(e, aggregate_id, now) for e in events])

    @staticmethod
    def _outbox_row(e: Event, aggregate_id: int, now: datetime) -> dict:
        return {"type": e.type, "aggregate": e.aggregate, "aggregate_id": aggregate_id,
                "payload": {**e.data, f"{e.aggregate}_id": aggregate_id}, "created_at": e.at or now}

    async def lock_orders(self, order_ids: set[int]) -> list[Order]:
        """Load (and on PostgreSQL lock, in id order, so workers never deadlock) several orders."""
        orders = []
        for order_id in sorted(order_ids):
            order = await self.get_order(order_id, lock=True)
            if order is not None:
                orders.append(order)
        return orders

    async def _save_versioned(self, table: Table, aggregate: Order | Dispute, what: str,
                              values: dict[str, Any]) -> None:
        """Write the row only if nobody changed it since it was read (optimistic locking);
        otherwise the caller gets 409 with the state it is in now."""
        params = {f"v_{k}": v for k, v in values.items()}
        params.update(b_id=aggregate.id, b_version=aggregate.version, v_version=aggregate.version + 1)
        result = await self.conn.execute(_save_statement(table, tuple(values)), params)
        if result.rowcount != 1:
            raise MovedOn(what, await self._state(table, aggregate.id))
        aggregate.version += 1

    async def _state(self, table: Table, row_id: int | None) -> str | None:
        return (await self.conn.execute(select(table.c.state).where(table.c.id == row_id))).scalar()

    async def count(self, table) -> int:
        return (await self.conn.execute(select(func.count()).select_from(table))).scalar_one()
