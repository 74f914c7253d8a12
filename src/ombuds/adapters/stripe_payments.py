"""R39: Stripe Connect as the payment provider, through the official ``stripe`` library.

- A refund goes back on the order's original charge (``ch_…``) or PaymentIntent (``pi_…``), the
  ``payment_ref`` the marketplace gave when it recorded the order, with the refund's own
  idempotency key as Stripe's ``Idempotency-Key``: a retry after a crash is the same refund.
- A payout is a transfer to the seller's connected account (``acct_…``, given when the seller
  was registered), with the payout's idempotency key.
- Settlement, failure and reversal come later, as Stripe's signed webhooks
  (``services/stripe_webhooks.py``); a refund Stripe reports ``succeeded`` at once is settled at
  once.

Every call has a timeout and no retries of the library's own: Ombuds retries with backoff and
the same key. Nothing here runs inside a database transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from stripe.params import RefundCreateParams, TransferCreateParams

from ombuds.adapters.payments import ProviderError, ProviderRefund, RefundRequest


@dataclass(frozen=True, slots=True)
class TransferRequest:
    idempotency_key: str
    amount: int  # minor units
    currency: str
    destination: str  # the seller's connected account, acct_…
    payment_ref: str | None  # the order's charge or PaymentIntent (a charge funds the transfer)
    order_id: int
    line_id: int


class StripeProvider:
    requires_payment_ref = True

    def __init__(self, api_key: str, *, api_base: str | None = None, timeout: float = 30.0):
        if not api_key:
            raise ValueError("OMBUDS_STRIPE_API_KEY is required with OMBUDS_PAYMENT_PROVIDER=stripe")
        self.client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base} if api_base else None, max_network_retries=0,
            http_client=stripe.HTTPXClient(timeout=timeout))

    async def create_refund(self, request: RefundRequest) -> ProviderRefund:
        ref = request.payment_ref
        if not ref or not ref.startswith(("ch_", "pi_")):
            raise ProviderError("the order has no Stripe charge or PaymentIntent (payment_ref) to refund")
        params: RefundCreateParams = {"amount": request.amount,
                                      "metadata": {"ombuds_refund": request.idempotency_key}}
        if ref.startswith("pi_"):
            params["payment_intent"] = ref
        else:
            params["charge"] = ref
        try:
            refund = await self.client.v1.refunds.create_async(params, {"idempotency_key": request.idempotency_key})
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe refused the refund: {exc.user_message or exc}") from None
        if refund.status in ("failed", "canceled"):
            raise ProviderError(f"Stripe refund {refund.id} {refund.status}")
        # succeeded: Stripe has sent it; pending: the refund.updated webhook settles it later.
        return ProviderRefund(refund.id, request.issued_at if refund.status == "succeeded" else None)

    async def create_transfer(self, request: TransferRequest) -> str:
        params: TransferCreateParams = {"amount": request.amount, "currency": request.currency.lower(),
                  "destination": request.destination, "transfer_group": f"order-{request.order_id}",
                  "metadata": {"ombuds_order": str(request.order_id), "ombuds_line": str(request.line_id)}}
        if request.payment_ref and request.payment_ref.startswith("ch_"):
            params["source_transaction"] = request.payment_ref  # paid from that charge's funds
        try:
            transfer = await self.client.v1.transfers.create_async(params, {"idempotency_key": request.idempotency_key})
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe refused the transfer: {exc.user_message or exc}") from None
        return transfer.id
