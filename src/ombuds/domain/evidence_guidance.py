"""R37: the evidence that helps each kind of claim, and which of it each side supplied.

The policy holds, per dispute reason, a list of *proofs* — kinds of evidence, each a word of
the fixed vocabulary below (the pages and e-mails have words for every one). The dispute form
lists them for the chosen reason; a party may say what a file shows when attaching it; the
arbitrator's case page (and ``GET /disputes/{id}/evidence``) ticks off, for each proof of the
dispute's reason, the files each side supplied. Missing proofs are shown, never refused (R10).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from ombuds.domain.errors import DomainError


class Proof(StrEnum):
    """What a file shows. Stable codes: they are stored on evidence and named in the policy."""

    everything_received = "everything_received"  # all that arrived, laid out together
    packing_list = "packing_list"  # the packing list or invoice found in the parcel
    unpacking_video = "unpacking_video"  # the parcel opened on camera, from the sealed box on
    item_label = "item_label"  # the item's own label: size, colour, model
    measurement = "measurement"  # the item measured with a ruler or tape
    listing = "listing"  # the product page as it was ordered
    item_photos = "item_photos"  # the item as it arrived, from every side
    damage = "damage"  # close-ups of the damage
    packaging = "packaging"  # the box and the packing, outside and inside
    authenticity_marks = "authenticity_marks"  # logo, serial number, label that show it is not genuine


# The default lists (DESIGN.md R37): missing items — everything received laid out, the packing
# list, the unpacking video; wrong size or colour — the label and a ruler; damaged — the damage
# and the box; not received — none needed.
DEFAULT_GUIDANCE: dict[str, tuple[Proof, ...]] = {
    "not_received": (),
    "missing_items": (Proof.everything_received, Proof.packing_list, Proof.unpacking_video),
    "wrong_item": (Proof.item_label, Proof.measurement, Proof.listing),
    "not_as_described": (Proof.listing, Proof.item_photos, Proof.measurement),
    "damaged": (Proof.damage, Proof.packaging, Proof.unpacking_video),
    "counterfeit": (Proof.authenticity_marks, Proof.item_label, Proof.listing),
    "other": (Proof.item_photos,),
}


def proofs_for(guidance: Mapping[str, Iterable[Proof]], reason: str) -> tuple[Proof, ...]:
    """The proofs that help a claim of this reason, in the policy's order (none if unlisted)."""
    return tuple(guidance.get(reason, ()))


def check_shows(shows: str | None) -> Proof | None:
    """What a party says a file shows: a proof of the vocabulary, or nothing said."""
    if shows is None or not shows.strip():
        return None
    try:
        return Proof(shows.strip())
    except ValueError:
        raise DomainError("unknown_proof", f"'{shows}' is not a kind of evidence Ombuds knows; use one of "
                          + ", ".join(p.value for p in Proof) + ", or leave it out.", "shows",
                          known=[p.value for p in Proof]) from None


def checklist(guidance: Mapping[str, Iterable[Proof]], reason: str,
              files: Iterable[tuple[str, str | None, int]]) -> list[dict]:
    """For each proof of the reason: the ids of the files each side said show it.

    ``files`` are ``(side, shows, evidence_id)``; a file that shows something not on the list
    is not counted here (it is still evidence, listed with the others)."""
    wanted = proofs_for(guidance, reason)
    shown: dict[Proof, dict[str, list[int]]] = {p: {"buyer": [], "seller": []} for p in wanted}
    for side, shows, evidence_id in files:
        if shows in shown and side in ("buyer", "seller"):
            shown[Proof(shows)][side].append(evidence_id)
    return [{"proof": p.value, **shown[p]} for p in wanted]
