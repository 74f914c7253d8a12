"""Parts of Ombuds the pages use when they are installed, and leave out when they are not.

Evidence, conversations, the language checker and the mailbox land as separate features;
the pages look for each once and show its parts only when it is there.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

import structlog
from fastapi import FastAPI

log = structlog.get_logger("ombuds.web")


def _module(name: str, *needs: str) -> ModuleType | None:
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    return module if all(hasattr(module, n) for n in needs) else None


@dataclass(frozen=True, slots=True)
class Features:
    evidence: ModuleType | None  # ombuds.services.evidence
    evidence_rules: ModuleType | None  # ombuds.domain.evidence
    conversations: ModuleType | None  # ombuds.services.conversations
    language: ModuleType | None  # ombuds.adapters.language
    mailbox: bool
    arbitration: ModuleType | None  # ombuds.services.arbitration (the trust feature's queue)
    sellers: ModuleType | None  # ombuds.services.sellers (R21 ratings)
    buyer_risk: ModuleType | None  # ombuds.services.buyer_risk (R22 signals)
    complaints: ModuleType | None  # ombuds.services.complaints (R24)

    @classmethod
    def of(cls, app: FastAPI) -> Features:
        settings = app.state.settings
        evidence = _module("ombuds.services.evidence", "add_evidence", "list_evidence", "evidence_file",
                           "check_may_add", "Upload")
        rules = _module("ombuds.domain.evidence", "limits", "ACCEPTED")
        return cls(
            evidence=evidence if evidence and rules and hasattr(app.state, "evidence_store") else None,
            evidence_rules=rules,
            conversations=_module("ombuds.services.conversations", "post_order_message",
                                  "order_messages_of", "add_note", "notes_of"),
            language=_module("ombuds.adapters.language", "get_checker"),
            mailbox=not getattr(settings, "smtp_host", "") and _module(
                "ombuds.api.routes_notifications", "mailbox_page") is not None,
            arbitration=_module("ombuds.services.arbitration", "queue"),
            sellers=_module("ombuds.services.sellers", "seller_rating"),
            buyer_risk=_module("ombuds.services.buyer_risk", "buyer_risk"),
            complaints=_module("ombuds.services.complaints", "file_complaint", "list_complaints"),
        )


async def optional(call, default=None):
    """Run a call into a feature that lands separately; if its interface moved, the page
    goes on without that part instead of failing (and the log says why)."""
    try:
        return await call()
    except (TypeError, AttributeError, KeyError, ImportError) as exc:
        log.warning("web.optional_feature_failed", error=repr(exc))
        return default
