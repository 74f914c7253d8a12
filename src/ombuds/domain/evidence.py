"""R10: what evidence may be attached, by whom, when, and how big.

The type of a file is what its bytes say (sniffed by the adapter), never its name or the
Content-Type the client sent. The name is only checked to agree with the bytes, so that a
program renamed ``photo.jpg`` or a PNG called ``receipt.pdf`` is refused with a clear word
instead of being shown as something it is not.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from ombuds.domain.disputes import Actor, Dispute, DisputeState
from ombuds.domain.errors import Conflict, DomainError, Forbidden
from ombuds.domain.policy import Policy


class Kind(StrEnum):
    photo = "photo"
    video = "video"
    document = "document"


@dataclass(frozen=True, slots=True)
class Accepted:
    media_type: str
    kind: Kind
    label: str
    extensions: tuple[str, ...]  # the first is used when serving the file


ACCEPTED: tuple[Accepted, ...] = (
    Accepted("image/jpeg", Kind.photo, "JPEG photo", (".jpg", ".jpeg", ".jpe", ".jfif")),
    Accepted("image/png", Kind.photo, "PNG image", (".png",)),
    Accepted("image/webp", Kind.photo, "WebP image", (".webp",)),
    Accepted("image/heic", Kind.photo, "HEIC photo", (".heic", ".heif")),
    Accepted("video/mp4", Kind.video, "MP4 video", (".mp4", ".m4v")),
    Accepted("video/x-m4v", Kind.video, "MP4 video", (".m4v", ".mp4")),  # Apple's MP4 brand
    Accepted("video/quicktime", Kind.video, "MOV video", (".mov", ".qt")),
    Accepted("video/webm", Kind.video, "WebM video", (".webm",)),
    Accepted("application/pdf", Kind.document, "PDF document", (".pdf",)),
)
BY_MEDIA_TYPE = {a.media_type: a for a in ACCEPTED}
ACCEPTED_WORDS = "JPEG, PNG, WebP or HEIC photos, MP4, MOV or WebM videos, and PDF documents"


class FileTooLarge(DomainError):
    status = 413


class UnsupportedFile(DomainError):
    status = 415


def max_bytes(kind: Kind, policy: Policy) -> int:
    """Videos have their own limit; photos and PDF receipts share the photo limit."""
    return policy.evidence_video_max_bytes if kind is Kind.video else policy.evidence_photo_max_bytes


def limits(policy: Policy, *, max_image_pixels: int) -> dict:
    """What a client shows before the upload (GET /evidence/limits)."""
    return {
        "photo_max_bytes": policy.evidence_photo_max_bytes,
        "video_max_bytes": policy.evidence_video_max_bytes,
        "document_max_bytes": policy.evidence_photo_max_bytes,
        "max_files_per_side": policy.evidence_max_files_per_side,
        "max_image_pixels": max_image_pixels,
        "accepted": [{"media_type": a.media_type, "kind": a.kind.value, "label": a.label,
                      "extensions": list(a.extensions)} for a in ACCEPTED],
    }


def side_of(d: Dispute, user_id: int | None) -> Actor:
    """Only the parties add evidence; arbitrators read it (R15)."""
    party = d.party(user_id) if user_id is not None else None
    if party is None:
        raise Forbidden("parties_only", "Only the buyer and the seller add evidence to a dispute; "
                        "arbitrators read it.")
    return party


def check_open(d: Dispute) -> None:
    """R10: evidence is added at any time before the dispute closes."""
    if d.state is DisputeState.closed:
        raise Conflict("dispute_closed", "This dispute is closed: no more evidence can be added.",
                       None, state=d.state.value)


def check_room(side: Actor, already: int, policy: Policy) -> None:
    if already >= policy.evidence_max_files_per_side:
        raise Conflict("too_many_files",
                       f"The {side.value} has already attached {already} files, the most a side may "
                       "attach to one dispute.", "file",
                       max_files_per_side=policy.evidence_max_files_per_side)


def check_file_name(name: str | None) -> str:
    """A plain file name, shown to people and never used as a path; returns it trimmed."""
    name = (name or "").strip()
    if not name:
        return "evidence"
    if (len(name) > 255 or "/" in name or "\\" in name or name in (".", "..")
            or name.startswith("..") or any(unicodedata.category(c)[0] == "C" for c in name)):
        raise DomainError("invalid_file_name",
                          "The file name must be a plain name such as 'unboxing.mp4', without folders, "
                          "'..' or control characters.", "file")
    return name


def check_size(accepted: Accepted, size: int, policy: Policy) -> None:
    if size == 0:
        raise DomainError("empty_file", "The file is empty.", "file")
    limit = max_bytes(accepted.kind, policy)
    if size > limit:
        raise FileTooLarge("file_too_large",
                           f"This {accepted.label} is {_mb(size)}; a {accepted.kind.value} may be at most "
                           f"{_mb(limit)}.", "file", max_bytes=limit, size=size, kind=accepted.kind.value)


def check_type(media_type: str | None, described_as: str | None) -> Accepted:
    """The sniffed type must be one we accept. ``described_as`` is what the sniffer calls it."""
    accepted = BY_MEDIA_TYPE.get(media_type or "")
    if accepted is None:
        what = f"its contents are: {described_as}" if described_as else "we do not recognise its contents"
        raise UnsupportedFile("file_type_not_accepted",
                              f"This file cannot be evidence ({what}). Evidence can be {ACCEPTED_WORDS}; "
                              "the file's contents decide, not its name.", "file",
                              found=media_type, accepted=[a.media_type for a in ACCEPTED])
    return accepted


def check_name_matches(name: str, accepted: Accepted, known_extensions: frozenset[str]) -> None:
    """A name ending in a known extension must agree with the bytes ('photo.jpg' holding a PNG
    or a program is refused); a name with no known extension says nothing and passes."""
    dot = name.rfind(".")
    extension = name[dot:].lower() if dot > 0 else ""
    if extension and extension in known_extensions and extension not in accepted.extensions:
        raise UnsupportedFile("file_type_mismatch",
                              f"The name says '{extension}' but the file is a {accepted.label}. Rename it "
                              f"to end in '{accepted.extensions[0]}' or export it again.", "file",
                              found=accepted.media_type)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"
