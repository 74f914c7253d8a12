"""R39: card chargebacks on an order, read for staff (the payout rule reads them in sets:
``store/sweep_store.held_lines``)."""

from __future__ import annotations

from ombuds.domain.errors import Forbidden
from ombuds.services.context import Caller, Ombuds
from ombuds.store import provider_store
from ombuds.store.provider_store import ChargebackRow


async def of_order(app: Ombuds, *, caller: Caller, order_id: int) -> list[dict]:
    """Staff see the chargebacks beside any Ombuds dispute on the order."""
    if not caller.is_staff:
        raise Forbidden("staff_only", "Card chargebacks are shown to the marketplace and its arbitrators.")
    rows = await provider_store.chargebacks_of_order(app.engine, order_id)
    return [view(r) for r in rows]


def view(r: ChargebackRow) -> dict:
    return {"id": r.id, "provider_ref": r.provider_ref, "order_id": r.order_id, "charge": r.charge_ref,
            "amount": r.amount, "currency": r.currency, "reason": r.reason, "status": r.status,
            "line_ids": list(r.line_ids), "opened_at": r.opened_at.isoformat(),
            "closed_at": r.closed_at.isoformat() if r.closed_at else None, "outcome": r.outcome}
