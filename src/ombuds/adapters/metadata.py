"""R10: what others are served of a video or a PDF carries no location or other metadata.

Photos are re-encoded without metadata (``adapters/images.py``). Videos and PDFs are served
as a cleaned copy; the original is kept as uploaded, for its hash.

- **MP4 and QuickTime (MOV, M4V)**: metadata lives in boxes of its own: ``udta`` (QuickTime's
  ``©xyz`` location, ``©day``, ``©mak``, ``©mod``…), ``meta`` (the ``keys``/``ilst`` pairs
  phones write, ``com.apple.quicktime.location.ISO6709`` among them) and ``uuid`` (XMP),
  in the movie and in each track. Each is turned into a ``free`` box of the same size with
  its payload zeroed: no other byte moves, so the sample offsets (``stco``/``co64``) stay
  right and the video plays as before. No library does this for QuickTime's boxes (mutagen
  edits iTunes-style ``ilst`` tags only), and ffmpeg is a program, not a library; the box
  format is simple and stable (ISO/IEC 14496-12), so it is done here, in place, on a copy.
- **PDF**: pikepdf (qpdf) drops the document information dictionary (author, creator,
  producer, dates) and every XMP ``/Metadata`` stream (of the document, its pages and the
  images on them); a photo placed in the PDF as a JPEG keeps its camera's segments inside its
  stream, so those (EXIF with its GPS, XMP, IPTC, comments) are cut out of each JPEG without
  decoding it — its image data is byte for byte the same. Then the file is written again.
- **WebM**: served as uploaded (its tags are rare and hold no location): said in evidence.md.
"""

from __future__ import annotations

import io
import shutil
import struct
import tempfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import pikepdf

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"edts"}
METADATA = {b"udta", b"meta", b"uuid"}
LOCATION_MARKERS = (b"\xa9xyz", b"location.ISO6709", b"GPSCoordinates", b"exif:GPS")


@dataclass(frozen=True, slots=True)
class Cleaned:
    data: IO[bytes]  # the copy to serve, positioned at 0
    removed: int  # how many metadata boxes or objects were removed
    had_location: bool


def strip_video(source: BinaryIO) -> Cleaned:
    """A copy of an MP4/QuickTime file with its metadata boxes blanked into ``free`` boxes."""
    source.seek(0)
    copy = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 (returned, the caller closes it)
    shutil.copyfileobj(source, copy)
    end = copy.seek(0, 2)
    found = _blank_boxes(copy, 0, end)
    had_location = False
    for offset, size in found:
        copy.seek(offset + 8)
        payload = copy.read(size - 8)
        had_location = had_location or any(m in payload for m in LOCATION_MARKERS)
        copy.seek(offset + 4)
        copy.write(b"free")
        copy.write(bytes(size - 8))
    copy.seek(0)
    return Cleaned(copy, len(found), had_location)


def _blank_boxes(f: IO[bytes], start: int, end: int) -> list[tuple[int, int]]:
    """(offset, size) of each metadata box between ``start`` and ``end``, descending into the
    movie and its tracks. A box that does not parse ends the walk (the rest is left as is)."""
    found: list[tuple[int, int]] = []
    offset = start
    while offset + 8 <= end:
        f.seek(offset)
        header = f.read(8)
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
            header_size = 16
        elif size == 0:
            size = end - offset
        if size < header_size or offset + size > end:
            break
        if kind in METADATA and header_size == 8:
            found.append((offset, size))
        elif kind in CONTAINERS:
            found += _blank_boxes(f, offset + header_size, offset + size)
        offset += size
    return found


def strip_pdf(source: BinaryIO) -> Cleaned:
    """A copy of a PDF without its information dictionary and XMP metadata streams."""
    import pikepdf

    source.seek(0)
    removed = 0
    had_location = False
    with pikepdf.open(io.BytesIO(source.read())) as pdf:
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
            removed += 1
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image" \
                    and obj.get("/Filter") == "/DCTDecode":
                cut = _jpeg_without_metadata(obj.read_raw_bytes())
                if cut is not None:
                    jpeg, segments, located = cut
                    obj.write(jpeg, filter=pikepdf.Name.DCTDecode, decode_parms=_decode_parms(obj))
                    removed += segments
                    had_location = had_location or located
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)) and "/Metadata" in obj:
                meta = obj.get("/Metadata")
                if isinstance(meta, pikepdf.Stream):
                    had_location = had_location or any(m in meta.read_bytes() for m in LOCATION_MARKERS)
                del obj["/Metadata"]
                removed += 1
        out = io.BytesIO()
        pdf.save(out, fix_metadata_version=False, deterministic_id=True)
    out.seek(0)
    return Cleaned(out, removed, had_location)


def _decode_parms(stream: pikepdf.Object) -> pikepdf.Dictionary | pikepdf.Array | None:
    """A stream's ``/DecodeParms``, written back as it was. Anything but a dictionary or an
    array of them is a damaged file, which pikepdf refuses to write (a TypeError) as it did."""
    import pikepdf

    parms = stream.get("/DecodeParms")
    if parms is None or isinstance(parms, (pikepdf.Dictionary, pikepdf.Array)):
        return parms
    raise TypeError("decode_parms must be: pikepdf.Dictionary or pikepdf.Array([pikepdf.Dictionary])")


# JPEG segments that describe the picture rather than draw it: APP1 (EXIF, XMP), APP3–APP13
# and APP15 (makers' notes, IPTC, Photoshop) and comments. Kept: APP0 (JFIF), APP2 when it is an
# ICC colour profile, APP14 (Adobe's colour transform) — without them colours would change.
_DROPPED = {0xE1, *range(0xE3, 0xEE), 0xEF, 0xFE}


def _jpeg_without_metadata(data: bytes) -> tuple[bytes, int, bool] | None:
    """The JPEG without its metadata segments, how many went and whether one held a location;
    None if there was nothing to cut or the stream is not a JPEG this can walk."""
    if not data.startswith(b"\xff\xd8"):
        return None
    kept, dropped, located, i = bytearray(b"\xff\xd8"), 0, False, 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: the image data, to the end, as it is
            kept += data[i:]
            break
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        segment = data[i:i + 2 + length]
        if length < 2 or len(segment) < 2 + length:
            return None
        if marker in _DROPPED or (marker == 0xE2 and segment[4:16] != b"ICC_PROFILE\0"):
            dropped += 1
            located = located or _has_location(marker, segment[4:])
        else:
            kept += segment
        i += 2 + length
    else:
        return None
    return (bytes(kept), dropped, located) if dropped else None


def _has_location(marker: int, payload: bytes) -> bool:
    if any(m in payload for m in LOCATION_MARKERS):
        return True
    if marker != 0xE1 or not payload.startswith(b"Exif\0\0"):
        return False
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(payload[6:])
        return bool(exif.get_ifd(0x8825))  # the GPS IFD
    except Exception:  # noqa: BLE001 — a broken EXIF block is dropped all the same
        return False
