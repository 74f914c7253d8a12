"""R41: everything a dispute's case file holds, gathered for one reader.

The reader is the marketplace (its key), an arbitrator, or one of the parties. Everyone gets the
same case — parties, the order and its lines, the timeline, the order's messages, proposals,
both sides' evidence with every file's SHA-256 and photo thumbnails, the carrier checkpoints,
the verdict and the refunds with their dates — except staff notes (R32), which only staff see.
Nothing here formats or translates; ``services/case_pdf.py`` renders it in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ombuds.adapters.storage import EvidenceStore
from ombuds.domain.orders import Order
from ombuds.services import conversations, evidence, orders, queries, tracking
from ombuds.services.context import Caller, Ombuds
from ombuds.services.disputes import load_visible
from ombuds.services.views import dispute_view
from ombuds.store.read_models import people as people_of

MAX_THUMBNAILS = 40


@dataclass
class CaseFile:
    reader: Caller
    made_at: datetime
    dispute: dict[str, Any]  # the dispute view (services.views.dispute_view), with its timeline
    order: Order
    line_id: int
    people: dict[int, dict[str, Any]]  # id → name, email, country, role
    messages: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    tracks: list[Any]
    refunds: list[dict[str, Any]]
    notes: list[dict[str, Any]] | None  # None: the reader is not staff (R32)
    thumbnails: dict[int, bytes] = field(default_factory=dict)  # evidence id → JPEG


async def gather(app: Ombuds, store: EvidenceStore | None, *, caller: Caller, dispute_id: int) -> CaseFile:
    """The case as ``caller`` may see it; 404 for a dispute they may not see."""
    now = await app.now()
    async with app.uow() as uow:
        d = await load_visible(uow.repo, dispute_id, caller)
    order = await orders.get_order(app, caller=caller, order_id=d.order_id)
    timeline = await queries.timeline(app, dispute_id)
    view = dispute_view(d, caller, app.policy, now, timeline)
    people = await people_of(app.engine, [d.buyer_id, d.seller_id])
    messages = await conversations.order_messages_of(app, caller=caller, order_id=d.order_id, after_id=None,
                                                     limit=1000)
    files = (await evidence.list_evidence(app, caller=caller, dispute_id=dispute_id))["items"]
    refunds = [r for r in await queries.list_refunds(app, caller, order_id=d.order_id)
               if r["dispute_id"] == d.id]
    notes = await conversations.notes_of(app, caller=caller, dispute_id=dispute_id) if caller.is_staff else None
    case = CaseFile(reader=caller, made_at=now, dispute=view, order=order, line_id=d.line_id, people=people,
                    messages=messages, evidence=files,
                    tracks=await tracking.tracks(app, order_id=d.order_id, dispute_id=d.id),
                    refunds=refunds, notes=notes)
    if store is not None:
        await _thumbnails(app, store, case)
    return case


async def _thumbnails(app: Ombuds, store: EvidenceStore, case: CaseFile) -> None:
    photos = [f for f in case.evidence if f.get("thumbnail_url")][:MAX_THUMBNAILS]
    for f in photos:
        sha, _, _ = await evidence.evidence_file(app, caller=case.reader, evidence_id=f["id"], thumbnail=True)
        try:
            case.thumbnails[f["id"]] = await store.read(sha)
        except (FileNotFoundError, KeyError, OSError):
            continue  # the listing still names the file and its hash
