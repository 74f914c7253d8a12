"""What every use case needs: the database, the clock and the policy in force."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ombuds.adapters.clock import Clock
from ombuds.adapters.payments import PaymentProvider
from ombuds.domain.disputes import Actor
from ombuds.domain.policy import Policy
from ombuds.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is acting. ``user_id`` is None for the marketplace key acting as the platform."""

    role: str  # buyer | seller | arbitrator | platform
    user_id: int | None = None

    @property
    def is_platform(self) -> bool:
        return self.role == "platform"

    @property
    def is_staff(self) -> bool:
        return self.role in ("platform", "arbitrator")

    @property
    def key(self) -> str:
        return f"{self.role}:{self.user_id or 0}"


PLATFORM = Caller("platform")
SYSTEM_ACTOR = Actor.system


@dataclass(slots=True)
class Ombuds:
    """The application's services, bound to one database, clock and policy."""

    engine: AsyncEngine
    clock: Clock
    policy: Policy
    payments: PaymentProvider
    # token hash → caller; a user's id and role never change, so this cannot go stale.
    known_tokens: dict[str, Caller] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    async def now(self) -> datetime:
        return await self.clock.now()
