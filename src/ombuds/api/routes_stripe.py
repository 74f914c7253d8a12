"""R39: Stripe's webhooks, verified with the library, and the chargebacks staff see."""

from __future__ import annotations

from typing import Annotated

import stripe
from fastapi import APIRouter, Depends, Request

from ombuds.adapters.carrier_webhooks import BadSignature, NotConfigured
from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import PathId
from ombuds.domain.errors import DomainError, Forbidden
from ombuds.services import chargebacks, orders, payout_transfers, stripe_webhooks
from ombuds.services.context import Caller, Ombuds

router = APIRouter(prefix="/api/v1", tags=["money"])
AppDep = Annotated[Ombuds, Depends(app_state)]
MAX_BODY = 512 * 1024


@router.post("/stripe/webhooks")
async def stripe_webhook(request: Request, app: AppDep) -> dict:
    """Point Stripe's webhook endpoint here (the events in docs/money.md). The ``Stripe-Signature``
    is verified with ``OMBUDS_STRIPE_WEBHOOK_SECRET`` (``whsec_…``) and a 5-minute tolerance; an
    event is applied once (a repeat is 200 ``already_received``), and an event about a refund,
    transfer or charge Ombuds does not know is 200 ``not_ours`` — neither changes anything, and
    the 2xx stops Stripe's retries."""
    secret = request.app.state.settings.stripe_webhook_secret
    if not secret:
        raise NotConfigured("Stripe", "OMBUDS_STRIPE_WEBHOOK_SECRET")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise DomainError("payload_too_large", "A Stripe event is at most 512 KB.", None)
    signature = request.headers.get("stripe-signature")
    if not signature:
        raise BadSignature("The Stripe-Signature header is missing.", "stripe-signature")
    try:
        event = stripe.Webhook.construct_event(body, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise BadSignature(f"The Stripe signature does not verify: {exc.user_message or exc}.",
                           "stripe-signature") from None
    except (ValueError, AttributeError, TypeError):  # signed, but not a JSON object
        raise DomainError("invalid_request", "The request body is not a Stripe event (a JSON object).",
                          None) from None
    data = event.to_dict()
    obj = (data.get("data") or {}).get("object")
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str) or not isinstance(obj, dict) \
            or not isinstance(obj.get("id"), str):
        raise DomainError("invalid_request", "A Stripe event needs an id, a type and data.object with its id.",
                          "data.object")
    return await stripe_webhooks.apply(app, data)


@router.get("/orders/{order_id}/chargebacks")
async def order_chargebacks(order_id: PathId, caller: Annotated[Caller, Depends(get_caller)], app: AppDep) -> dict:
    """R39: card chargebacks Stripe reported on the order, with the lines whose payout each holds
    (staff: the marketplace key and arbitrators)."""
    await orders.get_order(app, caller=caller, order_id=order_id)
    return {"order_id": order_id, "items": await chargebacks.of_order(app, caller=caller, order_id=order_id)}


@router.get("/orders/{order_id}/transfers")
async def order_transfers(order_id: PathId, caller: Annotated[Caller, Depends(get_caller)], app: AppDep) -> dict:
    """R39: the order's payouts as transfers to the seller's connected account (staff and the
    seller): ``pending``, ``sent`` (with Stripe's ``tr_…``), ``failed`` (after six attempts:
    retry it) or ``reversed``."""
    order = await orders.get_order(app, caller=caller, order_id=order_id)
    if not (caller.is_staff or caller.user_id == order.seller_id):
        raise Forbidden("not_your_payouts", "Only the seller and staff see the order's transfers.")
    return {"order_id": order_id, "items": await payout_transfers.of_order(app, order_id=order_id)}


@router.post("/transfers/{transfer_id}/retry")
async def retry_transfer(transfer_id: PathId, caller: Annotated[Caller, Depends(get_caller)], app: AppDep) -> dict:
    """Send a failed transfer again, with the same idempotency key (marketplace key);
    409 ``transfer_not_failed`` for one that is sent or still being tried."""
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace retries transfers.")
    return await payout_transfers.retry(app, transfer_id=transfer_id)
