"""What every use case needs: the database, the clock, the policy in force, the payment provider
and the language checker (R9). ``ombuds.bootstrap`` builds it for every entry point."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ombuds.adapters.clock import Clock
from ombuds.adapters.language import LanguageChecker, LazyLanguageChecker
from ombuds.adapters.payments import PaymentProvider
from ombuds.domain.policy import Policy
from ombuds.store.uow import Engine, UnitOfWork


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


@dataclass(slots=True)
class Ombuds:
    """The application's services, bound to one database, clock and policy."""

    engine: Engine
    clock: Clock
    policy: Policy
    payments: PaymentProvider
    # R9's checker, built on first use (lingua's models are big; a process may never need them).
    languages: LazyLanguageChecker = field(default_factory=LazyLanguageChecker)
    # token hash → caller; a user's id and role never change, so this cannot go stale.
    known_tokens: dict[str, Caller] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    async def now(self) -> datetime:
        return await self.clock.now()

    def language_checker(self) -> LanguageChecker:
        """R9's checker: built by the first caller (call it off the event loop), then shared."""
        return self.languages.get()
