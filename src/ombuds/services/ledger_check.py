"""``ombuds ledger check``: recompute every money invariant over the whole database (§4).

Returns the problems found, each naming the journal entry (or row) at fault.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ombuds.services.context import Ombuds
from ombuds.store import money_store

HELD = ("escrow:", "refund:")  # accounts that hold money for someone and may never go negative


@dataclass(frozen=True, slots=True)
class Problem:
    entry_id: int | None
    what: str

    def __str__(self) -> str:
        return f"entry {self.entry_id}: {self.what}" if self.entry_id else self.what


async def check_ledger(app: Ombuds) -> list[Problem]:
    rows = await money_store.ledger_rows(app.engine)
    entries, postings, lines, orders = rows.entries, rows.postings, rows.lines, rows.orders
    refunds, payouts, open_disputes, kept = rows.refunds, rows.payouts, rows.open_disputes, rows.kept
    problems: list[Problem] = []
    by_entry: dict[int, list] = defaultdict(list)
    for p in postings:
        by_entry[p.entry_id].append(p)

    running: dict[tuple[str, str], int] = defaultdict(int)
    refunded_by_line: dict[int, int] = defaultdict(int)
    for entry_id, entry in entries.items():
        sums: dict[str, int] = defaultdict(int)
        for p in by_entry.get(entry_id, []):
            sums[p.currency] += p.amount
            running[(p.account, p.currency)] += p.amount
            if p.account.startswith(HELD) and running[(p.account, p.currency)] < 0:
                problems.append(Problem(entry_id, f"{p.account} goes negative "
                                                  f"({running[(p.account, p.currency)]} {p.currency})"))
            if entry.kind == "refund_issued" and p.account.startswith("refund:") and entry.line_id:
                refunded_by_line[entry.line_id] += p.amount
        if not by_entry.get(entry_id):
            problems.append(Problem(entry_id, f"{entry.kind} entry has no postings"))
        for currency, total in sums.items():
            if total != 0:
                problems.append(Problem(entry_id, f"{entry.kind} does not balance: {total:+d} {currency}"))

    for line_id, refunded in refunded_by_line.items():
        line = lines[line_id]
        if refunded > line.unit_price * line.quantity:
            problems.append(Problem(None, f"line {line_id}: refunds {refunded} exceed what was paid "
                                          f"{line.unit_price * line.quantity}"))

    issued = {e.refund_id: e for e in entries.values() if e.kind == "refund_issued"}
    for r in refunds:
        issued_by = issued.get(r.id)
        if issued_by is None:
            problems.append(Problem(None, f"refund {r.id} has no refund_issued entry"))
            continue
        moved = sum(p.amount for p in by_entry[issued_by.id] if p.account == f"refund:{r.id}")
        if moved != r.amount:
            problems.append(Problem(issued_by.id, f"refund {r.id} is {r.amount} but its entry moves {moved}"))

    paid_out = {e.line_id: e for e in entries.values() if e.kind == "payout"}
    for payout in payouts:
        paid_by = paid_out.get(payout.line_id)
        moved = 0 if paid_by is None else -sum(p.amount for p in by_entry[paid_by.id]
                                               if p.account == f"escrow:line:{payout.line_id}")
        if moved != payout.amount:
            problems.append(Problem(None if paid_by is None else paid_by.id,
                                    f"payout of line {payout.line_id} is {payout.amount} but the ledger moved {moved}"))

    # Every running balance is the sum of its postings (a missing row is a balance of 0).
    for account, currency in sorted(set(kept) | {k for k, v in running.items() if v}):
        held, summed = kept.get((account, currency), 0), running.get((account, currency), 0)
        if held != summed:
            problems.append(Problem(None, f"running balance of {account} is {held} {currency} but its "
                                          f"postings sum to {summed} {currency}"))

    # At the end of an order's life every line's escrow is empty: paid out or refunded, once.
    for line_id, line in lines.items():
        order = orders[line.order_id]
        if order.state in ("closed", "cancelled") and line_id not in open_disputes:
            left = running.get((f"escrow:line:{line_id}", order.currency), 0)
            if left != 0:
                problems.append(Problem(None, f"line {line_id} of {order.state} order {order.id} still "
                                              f"holds {left} {order.currency} in escrow"))
    return problems
