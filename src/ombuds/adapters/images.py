"""Photos as evidence: decode once, prove it is an image, and derive what others see.

From one decode come: the size, the capture time from EXIF, whether GPS tags were present,
a copy to serve without metadata (no GPS, no serial numbers, no XMP), a thumbnail, and a
perceptual hash for the reuse signal (R22). The original bytes are stored untouched
elsewhere; nothing here changes them.

Memory is the constraint (a server process stays under 200 MB while photos arrive):

- **JPEG**, what phones and cameras send, is never decoded at full size. Its entropy-coded
  data is decoded to the end at a quarter or an eighth of its size (``Image.draft``: the
  JPEG decoder scales while it decodes, a 12-megapixel photo takes ~2 MB instead of ~37 MB),
  which proves the file is whole and gives the thumbnail and the hash. The served copy keeps
  the compressed pixels as they are and drops every metadata segment (:func:`_jpeg_bare`):
  nothing is re-encoded, so nothing is lost either.
- **PNG, WebP and HEIC** have no such scaled decoding; they are decoded whole and re-encoded,
  in a child process of the server (:func:`_decoded_elsewhere`): a 12-megapixel HEIC needs
  ~100 MB at its peak, which the child gives back to the system when done, and a decoder that
  crashes on a hostile file takes the child down, not the server.
- Either way one photo is handled at a time per process (``_ONE_AT_A_TIME``), and its buffers
  are given back to the system as soon as it is done.

Pillow and pillow-heif (HEIC) are imported on first use: a server that never receives a
photo does not pay for them.
"""

from __future__ import annotations

import ctypes
import io
import multiprocessing
import statistics
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from math import cos, pi
from typing import BinaryIO, Literal

from ombuds.domain.errors import DomainError

THUMBNAIL_SIZE = (320, 320)
HASH_INPUT_SIZE = (512, 512)  # phash looks at 32×32 anyway; hashing a small copy is cheaper
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, _DATETIME, _ORIENTATION = 0x9003, 0x9011, 0x0132, 0x0112
# One photo at a time per process: a 12-megapixel PNG, WebP or HEIC decodes to ~40 MB, and
# even a JPEG, scaled while decoded, holds its bytes two or three times over (the upload, the
# served copy) for a moment. Uploads beyond it wait their turn in their worker thread, their
# bodies spooled to disk; a photo takes ~0.1 s of CPU, so the wait is short.
_ONE_AT_A_TIME = threading.BoundedSemaphore(1)
# What each accepted photo is served as: browsers cannot show HEIC, so it becomes JPEG.
_SERVED_FORMAT = {"image/jpeg": ("JPEG", "image/jpeg"), "image/png": ("PNG", "image/png"),
                  "image/webp": ("WEBP", "image/webp"), "image/heic": ("JPEG", "image/jpeg")}


@dataclass(frozen=True, slots=True)
class Photo:
    width: int
    height: int
    captured_at: str | None  # camera's local time, ISO 8601, with its offset when EXIF has one
    had_gps: bool
    served: bytes  # re-encoded without metadata
    served_media_type: str
    thumbnail: bytes  # JPEG
    phash: str  # 16 hex digits (64 bits)


class ImageRefused(DomainError):
    pass


_ready = False


def _pillow():
    global _ready
    from PIL import Image

    if not _ready:
        _libc()  # before the first photo's buffers
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
        except ImportError:  # HEIC photos are then refused as unreadable
            pass
        _ready = True
    return Image


def inspect_photo(source: bytes | BinaryIO, media_type: str, *, max_pixels: int) -> Photo:
    """Decode the photo once (refusing bombs and broken files) and derive what others see.

    Given a file, it is read only when this photo's turn comes, so uploads that wait hold
    nothing but their spooled bodies."""
    Image = _pillow()
    with _ONE_AT_A_TIME:
        data = source if isinstance(source, bytes) else source.read()
        if media_type == "image/jpeg":
            return _inspect_jpeg(Image, data, max_pixels)
        return _decoded_elsewhere(data, media_type, max_pixels)


# The child that decodes whole photos: one per server process, started at its first such
# photo (``spawn``: it shares no memory or locks with the server), kept for the next ones.
_decoder: ProcessPoolExecutor | None = None


def _decoded_elsewhere(data: bytes, media_type: str, max_pixels: int) -> Photo:
    """:func:`_inspect_decoded` in the decoder child; a refusal there is raised here."""
    global _decoder
    for attempt in (1, 2):  # a decoder found dead is replaced once; one that dies on this file twice refuses it
        if _decoder is None:
            _decoder = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        try:
            result = _decoder.submit(_inspect_in_child, data, media_type, max_pixels).result()
            break
        except BrokenProcessPool:
            _decoder = None
            if attempt == 2:
                raise _unreadable() from None
    if isinstance(result, Photo):
        return result
    code, message, field = result
    raise ImageRefused(code, message, field)


def _inspect_in_child(data: bytes, media_type: str, max_pixels: int) -> Photo | tuple[str, str, str | None]:
    try:
        return _inspect_decoded(_pillow(), data, media_type, max_pixels)
    except ImageRefused as refused:  # sent back as plain values (a DomainError does not pickle)
        return refused.code, refused.message, refused.field


def _open(Image, data: bytes, max_pixels: int, *, draft: tuple[int, int] | None = None):
    """Open, check the pixel count from the header, and decode to the end (scaled with ``draft``:
    ``img.size`` is then the scaled size; the header's is kept in ``img.info["declared_size"]``)."""
    size = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            size = img.size
            if size[0] * size[1] > max_pixels:  # checked from the header, before decoding
                raise _too_many_pixels(size, max_pixels)
            img.info["declared_size"] = size
            if draft:
                img.draft("RGB", draft)
            img.load()
            return img
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(size, max_pixels) from None
    except Exception:  # truncated, corrupt, or not what the header claimed
        raise _unreadable() from None


def _inspect_jpeg(Image, data: bytes, max_pixels: int) -> Photo:
    from PIL import ImageOps

    img = _open(Image, data, max_pixels, draft=HASH_INPUT_SIZE)
    try:
        exif = img.getexif()
        orientation = exif.get(_ORIENTATION, 1)
        orientation = orientation if orientation in range(1, 9) else 1
        width, height = img.info["declared_size"]
        if orientation >= 5:  # turned a quarter: the photo people see is the other way round
            width, height = height, width
        try:
            served = _jpeg_bare(data, orientation)
        except (ValueError, IndexError):
            raise _unreadable() from None
        ImageOps.exif_transpose(img, in_place=True)  # the small copy, turned as people see it
        return Photo(width=width, height=height, captured_at=_captured_at(exif),
                     had_gps=_has_gps(img, exif), served=served, served_media_type="image/jpeg",
                     thumbnail=_thumbnail(img), phash=_phash(img))
    finally:
        img.close()
        _give_memory_back()


def _inspect_decoded(Image, data: bytes, media_type: str, max_pixels: int) -> Photo:
    from PIL import ImageOps

    img = _open(Image, data, max_pixels)
    exif = img.getexif()
    captured_at = _captured_at(exif)
    had_gps = _has_gps(img, exif)
    icc_profile = img.info.get("icc_profile")  # colours, not facts about anyone: kept
    ImageOps.exif_transpose(img, in_place=True)  # turned the way the camera meant
    fmt, served_type = _SERVED_FORMAT[media_type]
    try:
        return Photo(width=img.width, height=img.height, captured_at=captured_at, had_gps=had_gps,
                     thumbnail=_thumbnail(img), phash=_phash(img),
                     served=_without_metadata(img, fmt, icc_profile), served_media_type=served_type)
    finally:
        img.close()
        del img
        _give_memory_back()


def _unreadable() -> ImageRefused:
    return ImageRefused("image_unreadable",
                        "This photo could not be read: the file is damaged or incomplete. "
                        "Export it again from your phone or camera.", "file")


def _has_gps(img, exif) -> bool:
    return bool(exif.get_ifd(_GPS_IFD)) or _GPS_IFD in exif or _xmp_has_gps(img)


# JPEG segments kept in the served copy: the colour profile (APP2 "ICC_PROFILE") and Adobe's
# colour-transform flag (APP14), which decoders need to show the colours right. Every other
# APPn (EXIF, XMP, IPTC, maker notes, MPF secondary images, FlashPix, JFIF thumbnails) and
# every comment is dropped, and so is anything after the end of the image (motion photos).
_KEPT_APP = {0xE2: b"ICC_PROFILE\0", 0xEE: b"Adobe"}


def _jpeg_bare(data: bytes, orientation: int) -> bytes:
    """The JPEG's own segments and compressed pixels, without its metadata.

    A photo taken sideways keeps one EXIF field, its orientation (a number from 1 to 8 that
    tells a browser to turn it), since turning the pixels would mean decoding and
    re-encoding the whole photo; it says nothing about who took it or where.
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    view = memoryview(data)  # slices of it are not copies; the join below is the one copy
    out: list = [b"\xff\xd8"]
    if orientation != 1:
        out.append(_orientation_segment(orientation))
    i, end = 2, len(data)
    while i < end:
        if data[i] != 0xFF:
            raise ValueError("expected a marker")
        while data[i] == 0xFF:  # fill bytes before a marker
            i += 1
        marker = data[i]
        i += 1
        if marker == 0xD9:  # end of image: what follows is not part of it
            out.append(b"\xff\xd9")
            return b"".join(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out.append(bytes((0xFF, marker)))
            continue
        length = int.from_bytes(data[i:i + 2], "big")
        if length < 2 or i + length > end:
            raise ValueError("segment runs past the end")
        body = view[i + 2:i + length]
        segment = (bytes((0xFF, marker)), view[i:i + length])
        i += length
        if 0xE0 <= marker <= 0xEF:
            kept = _KEPT_APP.get(marker)
            if kept and bytes(body[:len(kept)]) == kept:
                out += segment
            continue
        if marker == 0xFE:  # a comment
            continue
        out += segment
        if marker == 0xDA:  # start of scan: compressed data up to the next real marker
            j = i
            while True:
                j = data.index(b"\xff", j)
                following = data[j + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte, restart
                    j += 2
                    continue
                break
            out.append(view[i:j])
            i = j
    raise ValueError("no end of image")


def _orientation_segment(orientation: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    payload = exif.tobytes()  # b"Exif\0\0" + a TIFF header with the one field
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def _give_memory_back() -> None:
    """A 12 MP photo needs tens of MB while it is handled. glibc keeps freed memory in the
    arena of the worker thread that used it, so without this a server that took a few
    photos stays that much bigger for good. Elsewhere (musl, macOS) this does nothing."""
    libc = _libc()
    if libc:
        libc.malloc_trim(0)


_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8
_libc_handle: ctypes.CDLL | Literal[False] | None = None  # False: no glibc here


def _libc() -> ctypes.CDLL | Literal[False]:
    """glibc, tuned once for photos: buffers of 1 MB or more are mapped on their own and
    unmapped when freed (glibc would otherwise raise that threshold to 32 MB after the first
    big free and keep such buffers in its heaps), and at most two heaps (arenas) serve all
    threads, so a burst of uploads on many threads does not leave many half-empty heaps."""
    global _libc_handle
    if _libc_handle is None:
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)
            libc.mallopt(_M_ARENA_MAX, 2)
            _libc_handle = libc
        except (OSError, AttributeError):
            _libc_handle = False
    return _libc_handle


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int) -> ImageRefused:
    claims = f"claims {size[0]}×{size[1]} pixels, " if size else "claims "
    return ImageRefused("image_too_many_pixels",
                        f"This image {claims}more than the {max_pixels:,} we decode; send a smaller "
                        "copy of the photo.", "file", max_pixels=max_pixels)


def _captured_at(exif) -> str | None:
    details = exif.get_ifd(_EXIF_IFD)
    raw = details.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not isinstance(raw, str) or len(raw) < 19:
        return None
    date, _, time = raw.strip().partition(" ")
    moment = f"{date.replace(':', '-')}T{time[:8]}"
    offset = details.get(_OFFSET_TIME_ORIGINAL)
    return moment + offset.strip() if isinstance(offset, str) and offset.strip() else moment


def _xmp_has_gps(img) -> bool:
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp") or b""
    if isinstance(xmp, str):
        xmp = xmp.encode()
    return b"GPSLatitude" in xmp or b"GPSLongitude" in xmp


_ENCODING: dict[str, dict[str, object]] = {"JPEG": {"quality": 92}, "WEBP": {"quality": 92}, "PNG": {}}


def _without_metadata(img, fmt: str, icc_profile: bytes | None) -> bytes:
    """Re-encode the pixels. Pillow writes EXIF, XMP and comments only from ``info`` or from
    what ``save`` is given, so with ``info`` emptied none of them (GPS included) survives."""
    transparency = img.info.get("transparency") if fmt == "PNG" else None
    img.info = {}
    if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    out = io.BytesIO()
    options = dict(_ENCODING[fmt])  # a copy: the profile and transparency are this photo's
    if icc_profile:
        options["icc_profile"] = icc_profile
    if transparency is not None:
        options["transparency"] = transparency
    img.save(out, fmt, **options)
    return out.getvalue()


def _thumbnail(img) -> bytes:
    from PIL import Image, ImageOps

    small = ImageOps.contain(img, THUMBNAIL_SIZE)  # never a full-size copy
    if small.mode != "RGB":
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, "white")
        small.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


# DCT-II basis for a 32-point signal, the 8 lowest frequencies: what pHash keeps.
_DCT = [[cos(pi * k * (2 * n + 1) / 64) for n in range(32)] for k in range(8)]


def _phash(img) -> str:
    """The 64-bit perceptual hash of imagehash's ``phash`` (same steps, same bits), computed on
    the 8 × 8 lowest frequencies only, in plain Python: no NumPy or SciPy in the server
    (they cost a process ~33 MB). Greyscale, 32 × 32 (Lanczos), a 2-D DCT, each coefficient
    above the median is a 1 bit, row by row."""
    from PIL import Image, ImageOps

    small = ImageOps.contain(img, HASH_INPUT_SIZE).convert("L").resize((32, 32), Image.Resampling.LANCZOS)
    pixels = list(small.tobytes())  # 1,024 grey levels, row by row
    columns = [pixels[c::32] for c in range(32)]
    down = [[sum(b * x for b, x in zip(basis, column, strict=True)) for column in columns] for basis in _DCT]
    low = [sum(b * x for b, x in zip(basis, row, strict=True)) for row in down for basis in _DCT]
    median = statistics.median(low)
    return format(int("".join("1" if v > median else "0" for v in low), 2), "016x")
