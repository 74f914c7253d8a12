"""§4's money invariants under random orders, disputes, outcomes and clock jumps.

Hypothesis draws one or two paid orders (1–3 lines, any quantity, price, currency and
payment method, a buyer in one of several countries, a commission) and then a sequence of
steps: the seller ships, the buyer cancels, confirms receipt or opens a dispute on a line
(valid or not, full or partial, refund to the card or to the in-platform balance, R31),
buyer, seller, arbitrator and carrier act on the dispute with random amounts, and the clock
jumps by anything from a minute to 70 days (every deadline that falls due runs, R12–R18,
and refunds are submitted to the simulated provider and settle, R20).

Every step goes through the services (``ombuds.services.*``), as the API would call them,
on a fresh SQLite database per example. After **every** step the database is read back with
plain SQL and these must hold:

- every journal entry balances (per currency) and has postings;
- no escrow or refund account ever goes negative (running balances, entry by entry);
- the refunds on a line never exceed what was paid for it (R7);
- a line is paid out at most once, and never while a dispute opened before the payout is
  still open (R1);
- every running balance (``account_balances``) equals the sum of its account's postings;
- ``check_ledger`` (what ``ombuds ledger check`` runs) finds nothing.

At the end the clock runs on until everything has settled (the arbitrator decides whatever
is escalated), and then, for every line: its escrow is empty, it was paid out once (a
closed order; none when refunds took all of it) or never (a cancelled one), and
**payout + refunds taken from escrow = what was paid for it**. A refund after the payout (a
dispute opened in the R6 window after completion) is taken from the seller's balance with the
commission credited back (R30), not from escrow, so it is not part of that sum; every refund has settled exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from datetime import timedelta

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ombuds.bootstrap import build_ombuds
from ombuds.domain import commands as c
from ombuds.domain import engine
from ombuds.domain.disputes import Actor, Reason, Resolution, ReturnCondition
from ombuds.domain.errors import DomainError
from ombuds.domain.lifecycle import PERSON_ACTIONS, Action
from ombuds.domain.policy import DEFAULT_POLICY, Policy
from ombuds.services import clock, disputes, orders
from ombuds.services.context import PLATFORM, Caller, Ombuds
from ombuds.services.ledger_check import check_ledger
from ombuds.services.orders import NewLine
from ombuds.services.users import create_user
from tests.conftest import settings_for

CURRENCIES = ("USD", "EUR", "RUB", "JPY", "CNY")
METHODS = tuple(DEFAULT_POLICY.refund_windows)  # visa … alipay_balance
COUNTRIES = ("RU", "DE", "US", "CN", "GB")
MINUTE, DAY = 60, 86_400
SETTLE_ROUNDS = 12  # 70-day jumps at the end; the longest chain (replacement order) needs ~4


# What Hypothesis draws ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class OrderSpec:
    lines: tuple[tuple[int, int], ...]  # (unit price in minor units, quantity)
    currency: str
    method: str
    ships: bool  # the seller ships it before anything else happens


@dataclasses.dataclass(frozen=True)
class Jump:
    seconds: int


@dataclasses.dataclass(frozen=True)
class OrderStep:
    order: int  # index into the example's orders (replacements included), modulo
    what: str  # ship | cancel | deliver | confirm | extend
    days: int


@dataclasses.dataclass(frozen=True)
class OpenStep:
    order: int
    line: int
    received: bool
    reason: Reason
    coherent: bool  # the reason agrees with ``received`` (else the claim is refused)
    resolution: Resolution | None
    percent: int | None  # of the disputed units' price; > 100 is refused (R7)
    quantity: int | None  # may be out of range
    refund_to: str


@dataclasses.dataclass(frozen=True)
class ActStep:
    dispute: int  # index into the example's disputes, modulo
    who: int  # which of buyer, seller, arbitrator, carrier (platform) acts
    choice: int  # which action: among those the table allows this actor now (R27) …
    anything: bool  # … or among all person actions, mostly refused
    resolution: Resolution
    percent: int | None
    return_required: bool
    condition: ReturnCondition


percents = st.integers(0, 120)
order_specs = st.builds(
    OrderSpec,
    lines=st.lists(st.tuples(st.one_of(st.integers(1, 50_000), st.sampled_from([0, 1, 3, 99, 1850])),
                             st.integers(1, 5)), min_size=1, max_size=3).map(tuple),
    currency=st.sampled_from(CURRENCIES), method=st.sampled_from(METHODS),
    ships=st.sampled_from([True, True, True, False]))
jumps = st.builds(Jump, st.sampled_from([(MINUTE, 6 * 3600), (3600, 6 * DAY), (3600, 6 * DAY), (DAY, 70 * DAY)])
                  .flatmap(lambda bounds: st.integers(*bounds)))
order_steps = st.builds(OrderStep, order=st.integers(0, 3),
                        what=st.sampled_from(["ship", "ship", "cancel", "deliver", "confirm", "confirm", "extend"]),
                        days=st.integers(1, 70))
open_steps = st.builds(
    OpenStep, order=st.integers(0, 3), line=st.integers(0, 2), received=st.sampled_from([True, True, True, False]),
    reason=st.sampled_from(list(Reason)), coherent=st.sampled_from([True] * 7 + [False]),
    resolution=st.one_of(st.none(), st.sampled_from(list(Resolution))),
    percent=st.one_of(st.none(), st.none(), percents),
    quantity=st.sampled_from([None, None, None, 0, 1, 2, 3, 6]),
    refund_to=st.sampled_from(["original_method", "original_method", "platform_balance"]))


SOMETIMES = st.sampled_from([False, False, False, True])


def act_steps(anything=SOMETIMES):
    return st.builds(
        ActStep, dispute=st.integers(0, 5), who=st.integers(0, 7), choice=st.integers(0, 20),
        anything=anything, resolution=st.sampled_from(list(Resolution)), percent=st.one_of(st.none(), percents),
        return_required=st.booleans(), condition=st.sampled_from([ReturnCondition.as_sent, *ReturnCondition]))


# Weighted: people act more often than the clock jumps (st.one_of would weigh kinds equally).
KINDS = {"jump": jumps, "order": order_steps, "open": open_steps, "act": act_steps()}
steps = st.lists(st.sampled_from(["jump", "jump", "order", "order", "open", "open", "open", "act", "act", "act",
                                  "act", "act"]).flatmap(KINDS.get), min_size=4, max_size=30)


# Playing the steps through the services ---------------------------------------------------

@dataclasses.dataclass
class Shop:
    app: Ombuds
    buyer: Caller
    seller: Caller
    arbitrator: Caller
    refused: dict = dataclasses.field(default_factory=lambda: defaultdict(int))

    def caller(self, who: str) -> Caller:
        return {"buyer": self.buyer, "seller": self.seller, "arbitrator": self.arbitrator,
                "platform": PLATFORM}[who]

    async def orders(self) -> list:
        ids = [r[0] for r in await rows(self.app, "SELECT id FROM orders ORDER BY id")]
        return [await orders.get_order(self.app, caller=PLATFORM, order_id=i) for i in ids]

    async def attempt(self, what: str, coro) -> None:
        """Run one person's action; a refusal by the rules is fine, anything else is a bug."""
        try:
            await coro
        except DomainError as exc:
            self.refused[f"{what}: {exc.code}"] += 1


async def open_shop(app: Ombuds, country: str) -> Shop:
    async def person(role: str, where: str) -> Caller:
        user, _ = await create_user(app, name=role.title(), email=f"{role}@example.test", role=role,
                                    country=where)
        return Caller(role, user["id"])
    return Shop(app, await person("buyer", country), await person("seller", "CN"),
                await person("arbitrator", "GB"))


async def play(shop: Shop, step) -> None:
    app = shop.app
    if isinstance(step, Jump):
        await clock.advance(app, timedelta(seconds=step.seconds))
        return
    if isinstance(step, ActStep):
        await act(shop, step)
        return
    known = await shop.orders()
    order = known[step.order % len(known)]
    if isinstance(step, OrderStep):
        await shop.attempt(step.what, {
            "ship": lambda: orders.ship(app, caller=shop.seller, order_id=order.id, carrier="China Post",
                                        tracking_number=f"LP{order.id:09d}CN"),
            "cancel": lambda: orders.cancel(app, caller=shop.buyer, order_id=order.id),
            "deliver": lambda: orders.record_delivery(app, caller=PLATFORM, order_id=order.id),
            "confirm": lambda: orders.confirm_receipt(app, caller=shop.buyer, order_id=order.id),
            "extend": lambda: orders.extend_protection(app, caller=shop.seller, order_id=order.id,
                                                       days=step.days),
        }[step.what]())
        return
    if isinstance(step, OpenStep):
        line = order.lines[step.line % len(order.lines)]
        quantity = step.quantity
        units = quantity if quantity and 1 <= quantity <= line.quantity else line.quantity
        amount = None if step.percent is None else line.unit_price * units * step.percent // 100
        reason = step.reason
        if step.coherent and (reason is Reason.not_received) == step.received:
            reason = Reason.missing_items if step.received else Reason.not_received
        cmd = c.OpenDispute(order_id=order.id, line_id=line.id, received=step.received, reason=reason,
                            resolution=step.resolution, amount=amount, quantity=quantity,
                            description="The parcel did not match the order.", refund_to=step.refund_to)
        await shop.attempt("open", disputes.open_dispute(app, caller=shop.buyer, cmd=cmd))


ACTORS = {"buyer": Actor.buyer, "seller": Actor.seller, "arbitrator": Actor.arbitrator, "platform": Actor.platform}


async def act(shop: Shop, step: ActStep) -> None:
    app = shop.app
    ids = [r[0] for r in await rows(app, "SELECT id FROM disputes ORDER BY id")]
    if not ids:
        return
    dispute_id = ids[step.dispute % len(ids)]
    d = await disputes.get_dispute(app, caller=PLATFORM, dispute_id=dispute_id)
    now_seen = engine.as_of(d, now=await app.now(), policy=app.policy)
    may = {who: engine.allowed_actions(now_seen, actor, app.policy) for who, actor in ACTORS.items()}
    if step.choice < 18:  # buyers rarely withdraw (R17 advises against it); it ends the road early
        may = {who: [a for a in actions if a is not Action.withdraw] for who, actions in may.items()}
    if step.anything or not any(may.values()):
        who = list(ACTORS)[step.who % len(ACTORS)]
        action = PERSON_ACTIONS[step.choice % len(PERSON_ACTIONS)]
    else:
        who = [w for w in ACTORS if may[w]][step.who % sum(1 for w in ACTORS if may[w])]
        action = may[who][step.choice % len(may[who])]
    caller = shop.caller(who)
    amount = None if step.percent is None else d.max_amount * step.percent // 100
    cmd = {
        Action.amend: c.Propose(step.resolution, amount, "This is what I ask for."),
        Action.propose: c.Propose(step.resolution, amount, "This is what I can offer."),
        Action.reject: c.Say("That does not settle it."),
        Action.argue: c.Say("The photos show the damage."),
        Action.decide: c.Decide(refund_amount=d.max_amount if amount is None else amount,
                                return_required=step.return_required, message="Decided on the evidence."),
        Action.ship_return: c.Ship("Russian Post", f"RR{dispute_id:09d}RU"),
        Action.reship: c.Ship("China Post", f"LP{dispute_id:09d}CN"),
        Action.confirm_return: c.ConfirmReturn(step.condition, "Checked on arrival."),
    }.get(action)
    await shop.attempt(action.value, disputes.act(app, caller=caller, dispute_id=dispute_id, action=action,
                                                  cmd=cmd))


async def settle_everything(shop: Shop, final_percent: int) -> None:
    """Let every order and dispute run to its end: unshipped orders are cancelled, the
    arbitrator decides what is escalated, and the clock jumps 70 days at a time."""
    app = shop.app
    for _ in range(SETTLE_ROUNDS):
        for o in await rows(app, "SELECT id FROM orders WHERE state = 'paid'"):
            await orders.cancel(app, caller=shop.buyer, order_id=o[0])
        for d in await rows(app, "SELECT id, unit_price * quantity FROM disputes WHERE state = 'escalated'"):
            await disputes.act(app, caller=shop.arbitrator, dispute_id=d[0], action=Action.decide,
                               cmd=c.Decide(refund_amount=d[1] * final_percent // 100, message="Final."))
        await clock.advance(app, timedelta(days=70))
        await check_every_step(app)
        busy = await rows(app, "SELECT (SELECT count(*) FROM orders WHERE state NOT IN ('closed', 'cancelled'))"
                               " + (SELECT count(*) FROM disputes WHERE state <> 'closed')"
                               " + (SELECT count(*) FROM refunds WHERE next_attempt_at IS NOT NULL"
                               "    OR settles_at IS NOT NULL)")
        if busy[0][0] == 0:
            return
    raise AssertionError(f"still not settled after {SETTLE_ROUNDS} jumps of 70 days: {await snapshot(app)}")


# Reading the books back with plain SQL ---------------------------------------------------

async def rows(app: Ombuds, sql: str, **params) -> list:
    async with app.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).all()


async def snapshot(app: Ombuds) -> dict:
    return {"orders": await rows(app, "SELECT id, state FROM orders"),
            "disputes": await rows(app, "SELECT id, line_id, state, outcome FROM disputes"),
            "refunds": await rows(app, "SELECT id, line_id, amount, next_attempt_at, settles_at FROM refunds")}


LINES = """SELECT l.id, o.id, o.currency, o.state, l.unit_price * l.quantity,
                  CASE WHEN o.replacement_for_line_id IS NULL THEN l.unit_price * l.quantity ELSE 0 END,
                  o.replacement_for_line_id
           FROM order_lines l JOIN orders o ON o.id = l.order_id"""


async def lines_paid(app: Ombuds) -> dict[int, tuple]:
    """Line → (order id, currency, order state, line total, what the buyer paid for it).

    A replacement (R19) is shipped free: its line was paid for on the original order."""
    return {r[0]: r[1:] for r in await rows(app, LINES)}


async def escrow_moves(app: Ombuds, kind: str) -> dict[int, int]:
    """Line → how much entries of ``kind`` took out of its escrow (positive)."""
    found = await rows(app, """SELECT e.line_id, -SUM(p.amount) FROM journal_entries e
                                 JOIN postings p ON p.entry_id = e.id
                                WHERE e.kind = :kind AND p.account = 'escrow:line:' || e.line_id
                                GROUP BY e.line_id""", kind=kind)
    return {line: int(amount) for line, amount in found}


async def check_every_step(app: Ombuds) -> None:
    unbalanced = await rows(app, """SELECT e.id, e.kind, p.currency, SUM(p.amount) FROM journal_entries e
                                      JOIN postings p ON p.entry_id = e.id
                                     GROUP BY e.id, e.kind, p.currency HAVING SUM(p.amount) <> 0""")
    assert unbalanced == [], f"entries that do not balance: {unbalanced}"
    empty = await rows(app, """SELECT e.id, e.kind FROM journal_entries e
                                WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id)""")
    assert empty == [], f"entries without postings: {empty}"

    # No escrow or refund account ever below zero: running balances, entry by entry.
    running: dict[tuple[str, str], int] = defaultdict(int)
    negative = []
    postings = await rows(app, """SELECT entry_id, account, currency, amount FROM postings
                                   WHERE account LIKE 'escrow:%' OR account LIKE 'refund:%'
                                   ORDER BY entry_id, id""")
    by_entry: dict[int, list] = defaultdict(list)
    for entry_id, account, currency, amount in postings:
        by_entry[entry_id].append((account, currency, amount))
    for entry_id in sorted(by_entry):
        for account, currency, amount in by_entry[entry_id]:
            running[(account, currency)] += amount
        negative += [(entry_id, a, c, running[(a, c)]) for a, c, _ in by_entry[entry_id] if running[(a, c)] < 0]
    assert negative == [], f"accounts that went negative (entry, account, currency, balance): {negative}"

    lines = await lines_paid(app)
    # R7: refunds on a line never exceed its price, and an original line with its replacement
    # never gets back more than the buyer paid for it.
    refunded = {line: int(total) for line, total in
                await rows(app, "SELECT line_id, SUM(amount) FROM refunds WHERE line_id IS NOT NULL "
                                "AND reason <> 'goodwill' GROUP BY line_id")}
    over = {line: (amount, lines[line][3]) for line, amount in refunded.items() if amount > lines[line][3]}
    assert over == {}, f"lines refunded beyond their price (refunded, price): {over}"
    chain = defaultdict(int)
    for line, (_, _, _, _, _, original) in lines.items():
        chain[original or line] += refunded.get(line, 0)
    over = {line: (amount, lines[line][4]) for line, amount in chain.items() if amount > lines[line][4]}
    assert over == {}, f"purchases refunded beyond what was paid, replacements included: {over}"
    for line, amount in (await escrow_moves(app, "refund_issued")).items():
        assert amount <= lines[line][4], f"line {line}: {amount} refunded from escrow, {lines[line][4]} paid"

    # R1: a line is paid out once; and not while a dispute opened before the payout is open.
    twice = await rows(app, "SELECT line_id, count(*) FROM payouts GROUP BY line_id HAVING count(*) > 1")
    assert twice == [], f"lines paid out more than once: {twice}"
    twice = await rows(app, """SELECT line_id, count(*) FROM journal_entries WHERE kind = 'payout'
                                GROUP BY line_id HAVING count(*) > 1""")
    assert twice == [], f"lines with more than one payout entry: {twice}"
    held = await rows(app, """SELECT p.line_id, d.id, d.state FROM payouts p
                                JOIN disputes d ON d.line_id = p.line_id
                               WHERE d.state <> 'closed' AND d.opened_at < p.created_at""")
    assert held == [], f"lines paid out while under a dispute opened before the payout: {held}"
    left = await rows(app, """SELECT p.line_id, SUM(q.amount) FROM payouts p
                                JOIN postings q ON q.account = 'escrow:line:' || p.line_id
                               GROUP BY p.line_id HAVING SUM(q.amount) <> 0""")
    assert left == [], f"lines paid out that still hold money in escrow: {left}"

    # Every running balance is its postings' sum, written in the same transaction (a missing
    # row is 0), so a balance read of one row says what the whole history says.
    drifted = await rows(app, """SELECT COALESCE(b.account, p.account), COALESCE(b.currency, p.currency),
                                        b.balance, p.total
                                   FROM account_balances b
                                   FULL JOIN (SELECT account, currency, SUM(amount) AS total FROM postings
                                               GROUP BY account, currency) p
                                     ON p.account = b.account AND p.currency = b.currency
                                  WHERE COALESCE(b.balance, 0) <> COALESCE(p.total, 0)""")
    assert drifted == [], f"running balances that differ from their postings (balance, sum): {drifted}"

    problems = await check_ledger(app)
    assert problems == [], "ombuds ledger check: " + "; ".join(map(str, problems))


async def check_the_end(app: Ombuds) -> None:
    """Everything has settled: each line paid out and/or refunded, in total, exactly once."""
    lines = await lines_paid(app)
    escrow = {int(a.split(":")[2]): int(s) for a, s in
              await rows(app, "SELECT account, SUM(amount) FROM postings WHERE account LIKE 'escrow:%' "
                              "GROUP BY account")}
    funded = await rows(app, """SELECT p.account, SUM(p.amount) FROM journal_entries e
                                  JOIN postings p ON p.entry_id = e.id
                                 WHERE e.kind = 'order_paid' AND p.account LIKE 'escrow:%'
                                 GROUP BY p.account""")
    funded = {int(a.split(":")[2]): int(s) for a, s in funded}
    payouts = {line: (n, int(amount)) for line, n, amount in
               await rows(app, "SELECT line_id, count(*), SUM(amount) FROM payouts GROUP BY line_id")}
    paid_out = await escrow_moves(app, "payout")
    from_escrow = await escrow_moves(app, "refund_issued")
    wrong = {}
    for line, (order_id, _currency, state, _total, paid, _) in lines.items():
        assert state in ("closed", "cancelled"), f"order {order_id} ended {state}"
        assert funded.get(line, 0) == paid, f"line {line}: escrow funded {funded.get(line, 0)}, paid {paid}"
        assert escrow.get(line, 0) == 0, f"line {line} of {state} order {order_id} holds {escrow[line]}"
        if state == "closed":  # paid out once, unless refunds took all of it (no zero payouts)
            count, amount = payouts.get(line, (0, 0))
            owed = paid - from_escrow.get(line, 0)
            assert count == (1 if owed else 0), f"line {line} of closed order {order_id}, {owed} left " \
                                                f"after refunds, was paid out {count} times"
            assert amount == paid_out.get(line, 0), f"line {line}: payout row {amount}, ledger moved " \
                                                    f"{paid_out.get(line, 0)}"
        else:
            assert line not in payouts, f"line {line} of cancelled order {order_id} was paid out"
        settled = payouts.get(line, (0, 0))[1] + from_escrow.get(line, 0)
        if settled != paid:
            wrong[line] = {"paid": paid, "payout": payouts.get(line, (0, 0))[1],
                           "refunded from escrow": from_escrow.get(line, 0)}
    assert wrong == {}, f"payout + refunds from escrow != paid: {wrong}"

    # Every refund settled exactly once, to the method or the in-platform balance (R31).
    refunds = await rows(app, """SELECT r.id, r.amount, r.destination,
                                        (SELECT count(*) FROM journal_entries e WHERE e.refund_id = r.id
                                          AND e.kind IN ('refund_settled', 'refund_to_balance')),
                                        (SELECT COALESCE(SUM(p.amount), 0) FROM postings p
                                          WHERE p.account = 'refund:' || r.id)
                                   FROM refunds r""")
    for refund_id, _amount, destination, settled, in_flight in refunds:
        assert settled == 1 and in_flight == 0, f"refund {refund_id} ({destination}): settled {settled} " \
                                                f"times, {in_flight} still in flight"
    # The dispute's own account of what it refunded agrees with the refunds recorded.
    mismatched = await rows(app, """SELECT d.id, d.refunded_amount, COALESCE(SUM(r.amount), 0) FROM disputes d
                                      LEFT JOIN refunds r ON r.dispute_id = d.id
                                     GROUP BY d.id, d.refunded_amount
                                    HAVING d.refunded_amount <> COALESCE(SUM(r.amount), 0)""")
    assert mismatched == [], f"disputes whose refunds differ from what they refunded: {mismatched}"
    # The buyer has back exactly what was refunded; the seller and the platform share what
    # was paid out less what came back from the seller (R30).
    totals = defaultdict(int)
    for account, currency, amount in await rows(app, "SELECT account, currency, SUM(amount) FROM postings "
                                                     "GROUP BY account, currency"):
        kind = account.split(":")[0] if not account.startswith("buyer:") else account.rsplit(":", 1)[1]
        totals[(kind, currency)] += int(amount)
    for currency in {cur for _, cur in totals}:
        paid = sum(entry[4] for entry in lines.values() if entry[1] == currency)
        refunded = sum(r[1] for r in await rows(app, "SELECT id, amount FROM refunds WHERE currency = :c",
                                                 c=currency))
        buyer = totals[("payments", currency)] + totals[("balance", currency)]
        assert buyer == refunded - paid, f"{currency}: the buyer is at {buyer}, paid {paid}, refunded {refunded}"
        assert totals[("seller", currency)] + totals[("platform", currency)] == paid - refunded, currency
    assert await check_ledger(app) == []


async def tell_what_happened(app: Ombuds) -> None:
    """Which money paths the example took (``pytest --hypothesis-show-statistics``)."""
    for (outcome,) in await rows(app, "SELECT DISTINCT outcome FROM disputes"):
        event(f"dispute {outcome}")
    for (kind,) in await rows(app, "SELECT DISTINCT kind FROM journal_entries"):
        event(f"entry {kind}")
    if await rows(app, "SELECT 1 FROM postings WHERE account LIKE 'seller:%' AND amount < 0"):
        event("refund from the seller after the payout (R30)")
    if await rows(app, "SELECT 1 FROM orders WHERE replacement_for_line_id IS NOT NULL"):
        event("replacement shipped (R19)")
    for (action,) in await rows(app, "SELECT DISTINCT action FROM timeline"):
        event(f"dispute action {action}")
    if await rows(app, "SELECT 1 FROM orders WHERE state = 'cancelled'"):
        event("order cancelled")


# The property ------------------------------------------------------------------------

@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink], print_blob=True)
@given(specs=st.lists(order_specs, min_size=1, max_size=2), country=st.sampled_from(COUNTRIES),
       commission_bps=st.sampled_from([0, 0, 250, 333, 1000]),
       script=st.tuples(st.one_of(st.none(), open_steps), steps).map(lambda s: [s[0], *s[1]] if s[0] else s[1]),
       final_percent=st.sampled_from([0, 40, 100]))
def test_money_is_never_lost_or_doubled_under_random_orders_disputes_and_clock_jumps(
        sqlite_databases, specs, country, commission_bps, script, final_percent):
    run(sqlite_databases, specs, country, commission_bps, script, final_percent)


# The same invariants along the dispute's longer roads: a shipped order, a claim the rules
# accept (before or after the buyer confirmed receipt, R6), then mostly the parties' and the
# arbitrator's moves among those the table allows (R27) — returns (R18, R29), replacements
# (R19), verdicts and appeals (R15, R16) — with shorter clock jumps between them.
claims = st.builds(
    OpenStep, order=st.just(0), line=st.integers(0, 2), received=st.just(True),
    reason=st.sampled_from([r for r in Reason if r is not Reason.not_received]), coherent=st.just(True),
    resolution=st.one_of(st.none(), st.sampled_from(list(Resolution))),
    percent=st.one_of(st.none(), st.integers(1, 100)), quantity=st.sampled_from([None, None, 1, 2]),
    refund_to=st.sampled_from(["original_method", "original_method", "platform_balance"]))
short_jumps = st.builds(Jump, st.integers(MINUTE, 8 * DAY))
moves = st.lists(st.sampled_from(["act"] * 8 + ["short jump", "short jump", "jump", "order"]).flatmap(
    {**KINDS, "short jump": short_jumps, "act": act_steps(anything=st.just(False))}.get),
    min_size=3, max_size=25)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink], print_blob=True)
@given(spec=order_specs, country=st.sampled_from(COUNTRIES), commission_bps=st.sampled_from([0, 250, 1000]),
       confirmed_first=st.booleans(), claim=claims, script=moves, final_percent=st.sampled_from([0, 40, 100]))
def test_money_is_never_lost_or_doubled_along_every_road_a_dispute_can_take(
        sqlite_databases, spec, country, commission_bps, confirmed_first, claim, script, final_percent):
    opening = [OrderStep(0, "confirm", 0)] if confirmed_first else []
    run(sqlite_databases, [dataclasses.replace(spec, ships=True)], country, commission_bps,
        [*opening, claim, *script], final_percent)


def run(sqlite_databases, specs, country, commission_bps, script, final_percent) -> None:
    url = sqlite_databases.create()
    try:
        asyncio.run(scenario(url, specs, country, commission_bps, script, final_percent))
    finally:
        sqlite_databases.drop(url)


async def scenario(url: str, specs, country: str, commission_bps: int, script, final_percent: int) -> None:
    app = dataclasses.replace(build_ombuds(settings_for(url)), policy=Policy(commission_bps=commission_bps))
    try:
        shop = await open_shop(app, country)
        for spec in specs:
            await orders.create_order(app, caller=PLATFORM, buyer_id=shop.buyer.user_id,
                                      seller_id=shop.seller.user_id, currency=spec.currency,
                                      payment_method=spec.method,
                                      lines=[NewLine(f"Item {i + 1}", price, quantity)
                                             for i, (price, quantity) in enumerate(spec.lines)])
            if spec.ships:
                await play(shop, OrderStep(-1, "ship", 0))
        await check_every_step(app)
        for step in script:
            await play(shop, step)
            await check_every_step(app)
        await settle_everything(shop, final_percent)
        await check_the_end(app)
        await tell_what_happened(app)
        for refusal in shop.refused:
            event(f"refused {refusal}")
    finally:
        await app.engine.dispose()
