"""Photos as evidence: decode once, prove it is an image, and derive what others see.

From one decode come: the size, the capture time from EXIF, whether GPS tags were present,
a copy to serve with *no* metadata at all (re-encoded, so no GPS, no serial numbers, no
XMP), a thumbnail, and a perceptual hash for the reuse signal (R22). The original bytes are
stored untouched elsewhere; nothing here changes them.

Pillow, pillow-heif (HEIC) and imagehash are imported on first use: a server that never
receives a photo does not pay for them.
"""

from __future__ import annotations

import ctypes
import io
import warnings
from dataclasses import dataclass

from ombuds.domain.errors import DomainError

THUMBNAIL_SIZE = (320, 320)
HASH_INPUT_SIZE = (512, 512)  # phash looks at 32×32 anyway; hashing a small copy is cheaper
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, _DATETIME = 0x9003, 0x9011, 0x0132
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
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
        except ImportError:  # HEIC photos are then refused as unreadable
            pass
        _ready = True
    return Image


def inspect_photo(data: bytes, media_type: str, *, max_pixels: int) -> Photo:
    """Decode ``data`` once (refusing bombs and broken files) and derive what others see."""
    Image = _pillow()
    from PIL import ImageOps

    size = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            size = img.size
            if size[0] * size[1] > max_pixels:  # checked from the header, before decoding
                raise _too_many_pixels(size, max_pixels)
            img.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(size, max_pixels) from None
    except Exception:  # truncated, corrupt, or not what the header claimed
        raise ImageRefused("image_unreadable",
                           "This photo could not be read: the file is damaged or incomplete. "
                           "Export it again from your phone or camera.", "file") from None

    exif = img.getexif()
    captured_at = _captured_at(exif)
    had_gps = bool(exif.get_ifd(_GPS_IFD)) or _GPS_IFD in exif or _xmp_has_gps(img)
    icc_profile = img.info.get("icc_profile")  # colours, not facts about anyone: kept
    ImageOps.exif_transpose(img, in_place=True)  # turned the way the camera meant, no copy
    fmt, served_type = _SERVED_FORMAT[media_type]
    try:
        return Photo(width=img.width, height=img.height, captured_at=captured_at, had_gps=had_gps,
                     thumbnail=_thumbnail(img), phash=_phash(img),
                     served=_without_metadata(img, fmt, icc_profile), served_media_type=served_type)
    finally:
        img.close()
        del img
        _give_memory_back()


def _give_memory_back() -> None:
    """A 12 MP photo needs ~40 MB while it is decoded. glibc keeps freed memory in the
    arena of the worker thread that used it, so without this a server that took a few
    photos stays that much bigger for good. Elsewhere (musl, macOS) this does nothing."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


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


def _without_metadata(img, fmt: str, icc_profile: bytes | None) -> bytes:
    """Re-encode the pixels. Pillow writes EXIF, XMP and comments only from ``info`` or from
    what ``save`` is given, so with ``info`` emptied none of them (GPS included) survives."""
    transparency = img.info.get("transparency") if fmt == "PNG" else None
    img.info = {}
    if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    out = io.BytesIO()
    options = {"JPEG": {"quality": 92}, "WEBP": {"quality": 92}, "PNG": {}}[fmt]
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


def _phash(img) -> str:
    import imagehash
    from PIL import ImageOps

    return str(imagehash.phash(ImageOps.contain(img, HASH_INPUT_SIZE)))
