"""R1: what the seller is owed, line by line, once the money may leave escrow."""

from __future__ import annotations

from collections.abc import Collection

from ombuds.domain.disputes import Dispute
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order, OrderState


def payouts_due(order: Order, disputes: list[Dispute], paid_out: set[int],
                held: Collection[int] = ()) -> dict[int, int]:
    """Line id → amount now payable to the seller.

    Nothing is paid before the order completes. A line under an open dispute waits for
    the dispute to close; then the seller gets what was not refunded. A line in ``held`` (an
    open card chargeback covers it, R39) waits for the chargeback to close.
    """
    if order.state not in (OrderState.completed, OrderState.closed):
        return {}
    by_line = {d.line_id: d for d in disputes}
    due: dict[int, int] = {}
    for line in order.lines:
        line_id = saved_id(line)
        if line_id in paid_out or line_id in held:
            continue
        dispute = by_line.get(line_id)
        if dispute is not None and dispute.is_open:
            continue
        refunded = dispute.refunded_amount if dispute is not None else 0
        due[line_id] = max(line.total - refunded, 0)
    return due
