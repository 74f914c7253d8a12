"""Evidence use cases (R10, R22): attach a file to a dispute, list it, serve it.

Adding evidence runs in three steps, so that a refused file leaves nothing behind:

1. Who and when, before a byte is read: the caller must be a party (others get 404, staff
   403) and the dispute must not be closed, with room left on the caller's side.
2. What the file is, off the event loop: type sniffed from the bytes, size against the
   policy, photos decoded once (bombs and broken files refused) and their served copy,
   thumbnail and perceptual hash derived. Any refusal here happens before storage.
3. Store the blobs, then one transaction that locks the dispute, checks state and room
   again, finds earlier matching images (R22), and writes the row, the timeline entry and
   the outbox event. If it fails, blobs this call created and no row uses are removed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, BinaryIO

from anyio import to_thread

from ombuds.adapters.images import inspect_photo
from ombuds.adapters.media import HEAD_BYTES, KNOWN_EXTENSIONS, sniff
from ombuds.adapters.metadata import Cleaned, strip_pdf, strip_video
from ombuds.adapters.storage import EvidenceStore, sha256_of
from ombuds.domain import engine
from ombuds.domain import evidence as rules
from ombuds.domain import evidence_guidance as guidance
from ombuds.domain.disputes import Actor, Dispute
from ombuds.domain.errors import DomainError, NotFound
from ombuds.domain.policy import Policy
from ombuds.services.context import Caller, Ombuds
from ombuds.services.disputes import load_visible
from ombuds.store import evidence_store
from ombuds.store.uow import UnitOfWork

# R22: two photos whose 64-bit perceptual hashes differ in at most this many bits are taken
# for the same photo (resizing and re-compressing change 0–2 bits; unrelated photos ~32).
MATCH_BITS = 6
MAX_MATCHES_KEPT = 20


@dataclass(frozen=True, slots=True)
class Upload:
    file: BinaryIO  # seekable; the request's spooled temporary file
    file_name: str | None


@dataclass(slots=True)
class _Blob:
    sha256: str
    source: IO[bytes] | bytes
    media_type: str


@dataclass(slots=True)
class _Inspected:
    accepted: rules.Accepted
    file_name: str
    size: int
    sha256: str
    served_sha256: str
    served_media_type: str
    blobs: list[_Blob]
    thumbnail_sha256: str | None = None
    width: int | None = None
    height: int | None = None
    captured_at: str | None = None
    had_gps: bool = False
    phash: str | None = None


async def add_evidence(app: Ombuds, store: EvidenceStore, *, caller: Caller, dispute_id: int,
                       upload: Upload, max_image_pixels: int, shows: str | None = None) -> dict:
    """R10: a party attaches one file to a dispute that is not closed; R37: saying, if they
    like, what it shows."""
    now = await app.now()
    side = await check_may_add(app, caller=caller, dispute_id=dispute_id)
    proof = guidance.check_shows(shows)
    found = await to_thread.run_sync(_inspect, upload, app.policy, max_image_pixels)

    created: list[str] = []
    try:
        for blob in found.blobs:
            if await store.put(blob.sha256, blob.source, media_type=blob.media_type):
                created.append(blob.sha256)
        async with app.uow() as uow:
            d = await uow.repo.get_dispute(dispute_id, lock=True)  # uploads to one dispute queue here
            if d is None:
                raise NotFound("dispute")
            _check_open_now(d, now, app.policy)
            rules.check_room(side, await _count(uow, dispute_id, side), app.policy)
            reuse = await _matching_images(uow, d, dispute_id, found.phash) if found.phash else []
            row = _row(d, side, caller, found, reuse, now) | {"shows": proof and proof.value}
            row["id"] = await evidence_store.add_evidence(uow.conn, row)
            await _tell(uow, d, side, caller, row, now)
            await uow.commit()
    except BaseException:
        await _forget(app, store, created)
        raise
    return evidence_view(row, caller)


async def check_may_add(app: Ombuds, *, caller: Caller, dispute_id: int) -> Actor:
    """Step 1, before a byte of the file is read: a party, a dispute not closed, room left."""
    now = await app.now()
    async with app.uow() as uow:
        d = await load_visible(uow.repo, dispute_id, caller)
        side = rules.side_of(d, caller.user_id)
        _check_open_now(d, now, app.policy)
        rules.check_room(side, await _count(uow, dispute_id, side), app.policy)
    return side


def _check_open_now(d: Dispute, now: datetime, policy: Policy) -> None:
    """Closed, or about to be closed by a deadline the sweeper has not applied yet?"""
    rules.check_open(d)
    if d.deadline_at is not None and d.deadline_at <= now:
        ahead = copy.deepcopy(d)
        engine.fire_due(ahead, now=now, policy=policy)
        rules.check_open(ahead)


async def _count(uow: UnitOfWork, dispute_id: int, side: Actor) -> int:
    return await evidence_store.count_on_side(uow.conn, dispute_id, side.value)


def _inspect(upload: Upload, policy: Policy, max_image_pixels: int) -> _Inspected:
    """Everything about the file, refusing it before anything is stored (runs in a thread)."""
    name = rules.check_file_name(upload.file_name)
    f = upload.file
    f.seek(0)
    head = f.read(HEAD_BYTES)
    media_type, described = sniff(head)
    accepted = rules.check_type(media_type, described)
    rules.check_name_matches(name, accepted, KNOWN_EXTENSIONS)
    size = f.seek(0, 2)
    rules.check_size(accepted, size, policy)
    sha256 = sha256_of(f)
    original = _Blob(sha256, f, accepted.media_type)
    if accepted.kind is not rules.Kind.photo:
        cleaned = _without_metadata(f, accepted.media_type)
        if cleaned is None or not cleaned.removed:
            return _Inspected(accepted, name, size, sha256, sha256, accepted.media_type, [original])
        served = _Blob(sha256_of(cleaned.data), cleaned.data, accepted.media_type)
        return _Inspected(accepted, name, size, sha256, served.sha256, accepted.media_type, [original, served],
                          had_gps=cleaned.had_location)
    f.seek(0)
    photo = inspect_photo(f, accepted.media_type, max_pixels=max_image_pixels)  # read in its turn
    served = _Blob(sha256_of(photo.served), photo.served, photo.served_media_type)
    thumbnail = _Blob(sha256_of(photo.thumbnail), photo.thumbnail, "image/jpeg")
    return _Inspected(accepted, name, size, sha256, served.sha256, served.media_type,
                      [original, served, thumbnail], thumbnail_sha256=thumbnail.sha256,
                      width=photo.width, height=photo.height, captured_at=photo.captured_at,
                      had_gps=photo.had_gps, phash=photo.phash)


def _without_metadata(f, media_type: str) -> Cleaned | None:
    """R10: the served copy of a video or a PDF, without location or other metadata."""
    if media_type in ("video/mp4", "video/quicktime", "video/x-m4v"):
        return strip_video(f)
    if media_type == "application/pdf":
        try:
            return strip_pdf(f)
        except Exception as exc:  # pikepdf cannot read it: it is no PDF a reader could open
            raise DomainError("document_unreadable", "This PDF could not be read: the file is damaged or "
                              "incomplete. Export it again.", "file") from exc
    return None


def _bands(phash: str) -> list[int]:
    """The hash's four 16-bit quarters: two hashes within 3 bits always share one."""
    return [int(phash[i:i + 4], 16) for i in range(0, 16, 4)]


async def _matching_images(uow: UnitOfWork, d: Dispute, dispute_id: int, phash: str) -> list[dict]:
    """R22: earlier images like this one in a dispute of another buyer or another order."""
    value = int(phash, 16)
    found = []
    for r in await evidence_store.images_sharing_a_band(uow.conn, _bands(phash), dispute_id=dispute_id,
                                                        buyer_id=d.buyer_id, order_id=d.order_id):
        distance = (value ^ int(r["phash"], 16)).bit_count()
        if distance <= MATCH_BITS:
            found.append({"evidence_id": r["id"], "dispute_id": r["dispute_id"], "order_id": r["order_id"],
                          "side": r["side"], "same_buyer": r["buyer_id"] == d.buyer_id, "distance": distance})
    return found[:MAX_MATCHES_KEPT]


def _row(d: Dispute, side: Actor, caller: Caller, f: _Inspected, reuse: list[dict], now: datetime
         ) -> dict[str, Any]:
    bands: list[int | None] = list(_bands(f.phash)) if f.phash else [None] * 4
    return {
        "dispute_id": d.id, "order_id": d.order_id, "buyer_id": d.buyer_id, "side": side.value,
        "uploader_id": caller.user_id, "kind": f.accepted.kind.value, "media_type": f.accepted.media_type,
        "file_name": f.file_name, "size": f.size, "sha256": f.sha256, "served_sha256": f.served_sha256,
        "served_media_type": f.served_media_type, "thumbnail_sha256": f.thumbnail_sha256,
        "width": f.width, "height": f.height, "captured_at": f.captured_at, "gps_removed": f.had_gps,
        "phash": f.phash, **{f"phash_band{i}": b for i, b in enumerate(bands)},
        "reuse": reuse, "created_at": now,
    }


async def _tell(uow: UnitOfWork, d: Dispute, side: Actor, caller: Caller, row: dict[str, Any],
                now: datetime) -> None:
    """R25: the timeline shows who added what; R23: the outbox tells the parties. Neither
    carries the staff-only reuse signal."""
    details = {"evidence_id": row["id"], "kind": row["kind"], "media_type": row["media_type"],
               "size": row["size"], "sha256": row["sha256"], "file_name": row["file_name"],
               "shows": row["shows"]}
    await evidence_store.add_timeline_entry(uow.conn, dict(
        dispute_id=d.id, at=now, actor=side.value, actor_id=caller.user_id, action="evidence_added",
        from_state=d.state.value, to_state=d.state.value, deadline=d.deadline,
        deadline_at=d.deadline_at, details=details))
    await evidence_store.add_outbox_message(uow.conn, dict(
        type="dispute.evidence_added", aggregate="dispute", aggregate_id=d.id, created_at=now,
        payload={"dispute_id": d.id, "order_id": d.order_id, "line_id": d.line_id,
                 "buyer_id": d.buyer_id, "seller_id": d.seller_id, "state": d.state.value,
                 "action": "evidence_added", "outcome": d.outcome and d.outcome.value,
                 "deadline": d.deadline, "deadline_at": d.deadline_at and d.deadline_at.isoformat(),
                 "by": side.value, "evidence_id": row["id"], "kind": row["kind"]}))


async def _forget(app: Ombuds, store: EvidenceStore, created: list[str]) -> None:
    """Remove blobs this upload created, unless a row (another upload of the same bytes,
    committed meanwhile) now names them."""
    if not created:
        return
    used = await evidence_store.evidence_blobs_in_use(app.engine, created)
    for sha256 in created:
        if sha256 not in used:
            await store.delete(sha256)


# Reading -------------------------------------------------------------------------------

async def list_evidence(app: Ombuds, *, caller: Caller, dispute_id: int) -> dict:
    """Every file of a dispute, oldest first, with a count per side (R10: missing evidence
    shows). Staff also see the reuse signal (R22); parties never do."""
    async with app.uow() as uow:
        d = await load_visible(uow.repo, dispute_id, caller)
        rows = await evidence_store.evidence_of(uow.conn, dispute_id)
    items = [evidence_view(r, caller) for r in rows]
    counts = {side: sum(1 for r in rows if r["side"] == side) for side in ("buyer", "seller")}
    body = {"items": items, "counts": counts,
            "max_files_per_side": app.policy.evidence_max_files_per_side,
            # R37: the evidence that helps this reason, and the files each side said show it.
            "checklist": guidance.checklist(app.policy.evidence_guidance, d.reason.value,
                                            [(r["side"], r["shows"], r["id"]) for r in rows])}
    if caller.is_staff:
        body["without_evidence"] = [side for side, n in counts.items() if n == 0]
        body["flagged"] = sum(1 for r in rows if r["reuse"])
    return body


async def evidence_file(app: Ombuds, *, caller: Caller, evidence_id: int, thumbnail: bool = False
                        ) -> tuple[str, str, str]:
    """(sha256 of the blob to serve, its media type, a file name for it) — the served copy
    (images without metadata) or the thumbnail, for the parties and staff only."""
    async with app.uow() as uow:
        row = await evidence_store.evidence_by_id(uow.conn, evidence_id)
        if row is None:
            raise NotFound("evidence")
        try:
            await load_visible(uow.repo, row["dispute_id"], caller)
        except NotFound:
            raise NotFound("evidence") from None
    if thumbnail:
        if row["thumbnail_sha256"] is None:
            raise NotFound("thumbnail")
        return row["thumbnail_sha256"], "image/jpeg", f"evidence-{row['id']}-thumbnail.jpg"
    extension = next((a.extensions[0] for a in rules.ACCEPTED if a.media_type == row["served_media_type"]), "")
    return row["served_sha256"], row["served_media_type"], f"evidence-{row['id']}{extension}"


def evidence_view(r: dict, caller: Caller) -> dict:
    view = {
        "id": r["id"], "dispute_id": r["dispute_id"], "side": r["side"], "uploaded_by": r["uploader_id"],
        "uploaded_at": r["created_at"].isoformat(), "kind": r["kind"], "media_type": r["media_type"],
        "file_name": r["file_name"], "size": r["size"], "sha256": r["sha256"],
        "width": r["width"], "height": r["height"], "captured_at": r["captured_at"], "shows": r.get("shows"),
        "file_url": f"/api/v1/evidence/{r['id']}/file",
        "thumbnail_url": f"/api/v1/evidence/{r['id']}/thumbnail" if r["thumbnail_sha256"] else None,
    }
    if caller.is_staff:  # R22: signals inform the arbitrator, never the parties
        view["served_sha256"] = r["served_sha256"]
        view["gps_removed"] = r["gps_removed"]
        view["flags"] = [_reuse_flag(m) for m in r["reuse"]]
    return view


def _reuse_flag(m: dict) -> dict:
    whose = "the same buyer's other order" if m["same_buyer"] else "another buyer's dispute"
    return {"code": "image_reused", **m,
            "message": f"This image matches evidence #{m['evidence_id']} ({m['side']}'s) in dispute "
                       f"#{m['dispute_id']}, {whose} ({m['distance']} of 64 bits differ)."}
