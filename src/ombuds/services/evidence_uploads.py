"""Files chosen on the dispute form before the dispute exists (R10).

A buyer may attach photos and videos while she fills in the form; the form can come back
several times before the dispute opens (a description in a refused language, the return
postage to acknowledge). So each file is checked and stored as soon as it arrives — its name,
its type from its bytes, its size — and waits in ``evidence_uploads`` for that buyer and that
order line. The form lists what is waiting, whatever round it is in; when the dispute opens,
every waiting file becomes evidence through :func:`ombuds.services.evidence.add_evidence`
(which decodes photos, strips their metadata and looks for reuse, R22) and leaves the waiting
room. A file nobody used goes after ``WAITING_FOR``; its bytes go too unless evidence uses them.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from typing import BinaryIO, cast

from anyio import to_thread

from ombuds.adapters.media import HEAD_BYTES, KNOWN_EXTENSIONS, sniff
from ombuds.adapters.storage import EvidenceStore, sha256_of
from ombuds.domain import evidence as rules
from ombuds.domain.errors import Conflict, DomainError, NotFound
from ombuds.domain.policy import Policy
from ombuds.services import evidence
from ombuds.services.context import Caller, Ombuds
from ombuds.store import evidence_store

WAITING_FOR = timedelta(days=1)
SPOOL_BYTES = 1024 * 1024  # a file read back from the store stays in memory up to this size


async def stage(app: Ombuds, store: EvidenceStore, *, caller: Caller, order_id: int, line_id: int,
                upload: evidence.Upload) -> dict:
    """Check one file and keep it for the dispute the buyer is about to open on this line."""
    now = await app.now()
    buyer_id = await _check_buyer(app, caller, order_id, line_id)
    found = await to_thread.run_sync(_check_file, upload, app.policy)
    created = await store.put(found["sha256"], upload.file, media_type=found["media_type"])
    try:
        async with app.uow() as uow:
            waiting = await evidence_store.count_waiting(uow.conn, user_id=buyer_id, line_id=line_id,
                                                         since=now - WAITING_FOR)
            if waiting >= app.policy.evidence_max_files_per_side:
                raise Conflict("too_many_files",
                               f"{waiting} files are already attached, the most a side may attach to one "
                               "dispute.", "file", max_files_per_side=app.policy.evidence_max_files_per_side)
            row = {"user_id": caller.user_id, "line_id": line_id, "created_at": now, **found}
            row["id"] = await evidence_store.add_waiting(uow.conn, row)
            await uow.commit()
    except BaseException:
        if created:
            await _forget(app, store, {found["sha256"]})
        raise
    await _purge_expired(app, store, buyer_id, now)
    return _view(row)


async def waiting(app: Ombuds, *, caller: Caller, line_id: int) -> list[dict]:
    """The buyer's files waiting for her dispute on this line, in the order she chose them."""
    now = await app.now()
    if caller.user_id is None:  # the marketplace itself stages no files
        return []
    rows = await evidence_store.waiting_files(app.engine, user_id=caller.user_id, line_id=line_id,
                                              since=now - WAITING_FOR)
    return [_view(r) for r in rows]


async def remove(app: Ombuds, store: EvidenceStore, *, caller: Caller, line_id: int, upload_id: int) -> None:
    """She changed her mind about a file before opening the dispute."""
    if caller.user_id is None:  # the marketplace itself stages no files
        return
    async with app.uow() as uow:
        sha256 = await evidence_store.remove_waiting_of(uow.conn, upload_id=upload_id, user_id=caller.user_id,
                                                        line_id=line_id)
        await uow.commit()
    if sha256 is not None:
        await _forget(app, store, {sha256})


async def attach_waiting(app: Ombuds, store: EvidenceStore, *, caller: Caller, dispute_id: int,
                         line_id: int, shows: dict[int, str], max_image_pixels: int
                         ) -> list[tuple[str, DomainError | None]]:
    """The dispute is open: each waiting file becomes evidence (R10), saying what it shows if
    she said (R37). Returns (file name, refusal or None) per file; a file refused now (a photo
    that does not decode) leaves the waiting room all the same."""
    done = []
    for item in await waiting(app, caller=caller, line_id=line_id):
        refusal = None
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as copy:
            async for chunk in store.stream(item["sha256"]):
                copy.write(chunk)
            copy.seek(0)
            try:
                await evidence.add_evidence(app, store, caller=caller, dispute_id=dispute_id,
                                            upload=evidence.Upload(cast(BinaryIO, copy), item["file_name"]),
                                            max_image_pixels=max_image_pixels, shows=shows.get(item["id"]))
            except DomainError as exc:
                refusal = exc
        async with app.uow() as uow:
            await evidence_store.remove_waiting(uow.conn, item["id"])
            await uow.commit()
        if refusal is not None:
            await _forget(app, store, {item["sha256"]})
        done.append((item["file_name"], refusal))
    return done


def _view(row: dict) -> dict:
    return {key: row[key] for key in ("id", "line_id", "file_name", "kind", "media_type", "size", "sha256",
                                      "created_at")}


async def _check_buyer(app: Ombuds, caller: Caller, order_id: int, line_id: int) -> int:
    """Only the order's buyer attaches files for a dispute on one of its lines; returns her id."""
    async with app.uow() as uow:
        order = await uow.repo.get_order(order_id)
    if (order is None or caller.user_id is None or order.buyer_id != caller.user_id
            or all(line.id != line_id for line in order.lines)):
        raise NotFound("order")
    return caller.user_id


def _check_file(upload: evidence.Upload, policy: Policy) -> dict:
    """R10's checks that need no decoding: a plain name, an accepted type read from the bytes,
    a name that agrees with it, a size within the limit (runs in a thread)."""
    name = rules.check_file_name(upload.file_name)
    f = upload.file
    f.seek(0)
    media_type, described = sniff(f.read(HEAD_BYTES))
    accepted = rules.check_type(media_type, described)
    rules.check_name_matches(name, accepted, KNOWN_EXTENSIONS)
    size = f.seek(0, 2)
    rules.check_size(accepted, size, policy)
    return {"file_name": name, "kind": accepted.kind.value, "media_type": accepted.media_type, "size": size,
            "sha256": sha256_of(f)}


async def _purge_expired(app: Ombuds, store: EvidenceStore, user_id: int, now: datetime) -> None:
    """Files this person left waiting longer than ``WAITING_FOR`` go, with their bytes if unused."""
    async with app.uow() as uow:
        gone = await evidence_store.purge_waiting(uow.conn, user_id=user_id, until=now - WAITING_FOR)
        await uow.commit()
    if gone:
        await _forget(app, store, gone)


async def _forget(app: Ombuds, store: EvidenceStore, sha256s: set[str]) -> None:
    """Remove blobs that neither evidence nor another waiting file uses."""
    used = await evidence_store.blobs_in_use(app.engine, sha256s)
    for sha256 in sha256s - used:
        await store.delete(sha256)
