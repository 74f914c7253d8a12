"""Tables for conversations and evidence (R4, R10, R22, R32). Migration 0004 creates them.

Every row here is append-only: a message, a note or a piece of evidence is never edited or
deleted once written (R10), so none of these tables has a version or an updated_at.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from ombuds.store.tables import metadata
from ombuds.store.types import Id, Json, UtcDateTime

order_messages = Table(
    "order_messages", metadata,
    # R4: buyer and seller talk on the order, before (and besides) any dispute.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False),
    Column("author_id", Id, ForeignKey("users.id")),  # None: the marketplace itself
    Column("author_role", String(20), nullable=False),  # buyer | seller | arbitrator | platform
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_order_messages_order_id_id", "order_id", "id"),
)

dispute_notes = Table(
    "dispute_notes", metadata,
    # R32: staff only. Never in the timeline, the outbox or anything a party can read.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dispute_id", Id, ForeignKey("disputes.id"), nullable=False),
    Column("author_id", Id, ForeignKey("users.id")),
    Column("author_role", String(20), nullable=False),  # arbitrator | platform
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_dispute_notes_dispute_id_id", "dispute_id", "id"),
)

evidence = Table(
    "evidence", metadata,
    # R10: one file a party attached to a dispute. ``sha256`` names the original's bytes in
    # the evidence store; ``served_sha256`` the copy others see (images: re-encoded without
    # GPS or any other metadata; other files: the original); ``thumbnail_sha256`` a small JPEG.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dispute_id", Id, ForeignKey("disputes.id"), nullable=False),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False),
    Column("buyer_id", Id, ForeignKey("users.id"), nullable=False),
    Column("side", String(10), nullable=False),  # buyer | seller
    Column("uploader_id", Id, ForeignKey("users.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # photo | video | document
    Column("media_type", String(40), nullable=False),  # sniffed from the bytes
    Column("file_name", String(255), nullable=False),  # as given, for display only
    Column("size", Id, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("served_sha256", String(64), nullable=False),
    Column("served_media_type", String(40), nullable=False),
    Column("thumbnail_sha256", String(64)),
    Column("width", Integer),
    Column("height", Integer),
    Column("captured_at", String(32)),  # EXIF DateTimeOriginal, camera's local time (+offset if known)
    Column("gps_removed", Boolean, nullable=False),  # the original carried GPS tags
    # R22: perceptual hash (64 bits as 16 hex digits) and its four 16-bit bands; two images
    # within 3 bits of each other share a band, so matches are found through an index.
    Column("phash", String(16)),
    Column("phash_band0", Integer), Column("phash_band1", Integer),
    Column("phash_band2", Integer), Column("phash_band3", Integer),
    Column("reuse", Json, nullable=False),  # staff only: earlier evidence this image matches
    Column("shows", String(40)),  # R37: what the party says it shows (a Proof), if they said (0011)
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_evidence_dispute_id_side", "dispute_id", "side"),
    Index("ix_evidence_sha256", "sha256"),
    Index("ix_evidence_phash_band0", "phash_band0"),
    Index("ix_evidence_phash_band1", "phash_band1"),
    Index("ix_evidence_phash_band2", "phash_band2"),
    Index("ix_evidence_phash_band3", "phash_band3"),
)

evidence_uploads = Table(
    "evidence_uploads", metadata,
    # R10: a file a buyer attached on the dispute form before the dispute exists (migration 0011).
    # It is checked and stored when chosen, so it survives every round of the form (a refused
    # language, the postage warning), and becomes evidence when the dispute opens; then, or a
    # day after it was uploaded, the row goes. The blob is the original, by its SHA-256.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("line_id", Id, ForeignKey("order_lines.id"), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("media_type", String(40), nullable=False),
    Column("size", Id, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_evidence_uploads_user_id_line_id", "user_id", "line_id"),
    Index("ix_evidence_uploads_sha256", "sha256"),
)
