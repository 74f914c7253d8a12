"""The composition root: the one place that turns settings into a running Ombuds.

Every entry point starts here: ``ombuds serve`` and the ASGI app (``ombuds.asgi``), ``ombuds
worker``, ``ombuds clock advance`` and ``ombuds ledger check``, and the demo's seeding.
:func:`build_ombuds` builds the ``Ombuds`` context (the database engine, the clock, the
policy, the payment provider, R9's language checker); :func:`create_app` builds the ASGI app
around it: the API (``api.app``), the pages (``web``) and the lifespan that runs the
in-process loop (``worker``). Nothing below this module wires these together.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from ombuds import web, worker
from ombuds.adapters.clock import Clock, WallClock, wall_now
from ombuds.adapters.language import LazyLanguageChecker
from ombuds.adapters.payments import PaymentProvider, SimulatedProvider
from ombuds.api.app import create_api
from ombuds.services.context import Ombuds
from ombuds.settings import Settings
from ombuds.store.clock_store import ManualClock
from ombuds.store.db import make_engine
from ombuds.store.request_transaction import request_scoped


def build_ombuds(settings: Settings) -> Ombuds:
    """The context every use case runs in, from the settings."""
    # R35: inside a request sent with an Idempotency-Key, every connection is a view of that
    # request's one transaction (store/request_transaction.py); elsewhere the plain engine.
    engine = request_scoped(make_engine(settings.database_url, pool_size=settings.pool_size))
    clock: Clock = (ManualClock(engine, settings.clock_start, wall=wall_now) if settings.clock == "manual"
                    else WallClock())
    return Ombuds(engine=engine, clock=clock, policy=settings.load_policy(),
                  payments=payment_provider(settings), languages=LazyLanguageChecker())


def payment_provider(settings: Settings) -> PaymentProvider:
    """R39: the simulator (default) or Stripe Connect, by setting."""
    if settings.payment_provider == "stripe":
        from ombuds.adapters.stripe_payments import StripeProvider
        return StripeProvider(settings.stripe_api_key, api_base=settings.stripe_api_base)
    return SimulatedProvider()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app: the API and the pages over one context, and the in-process loop."""
    settings = settings or Settings()
    ombuds = build_ombuds(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(ombuds.language_checker)  # R9's detector, built before the first request
        try:
            async with worker.in_background(ombuds, worker.for_serve(settings)):  # every loop: worker.py
                yield
        finally:
            await ombuds.engine.dispose()

    return create_api(ombuds, settings, lifespan=lifespan, install_pages=web.install)
