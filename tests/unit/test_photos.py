"""R10 and R22 at the photo adapter: what others are shown of a JPEG, and the perceptual hash.

A JPEG is never decoded at full size: its served copy keeps the compressed pixels and drops
every metadata segment. These tests hold that copy to the rule — no EXIF, GPS, XMP, comment,
embedded thumbnail or trailing data; the same pixels; the colour profile kept — and hold the
hash to imagehash's ``phash``, whose values are stored in every evidence row.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from ombuds.adapters.images import ImageRefused, inspect_photo
from tests import evidence_files as files

MAX_PIXELS = 50_000_000


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def with_segments(jpeg: bytes, *segments: bytes) -> bytes:
    """The same JPEG with extra segments right after its start marker."""
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB").tobytes()


def test_r10_a_jpeg_is_shown_with_its_own_pixels_and_none_of_its_metadata():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = with_segments(
        files.jpeg(gps=True, quality=85),
        segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>55,45N</exif:GPSLatitude>"),
        segment(0xED, b"Photoshop 3.0\0" + b"8BIM" + b"\x04\x04" + b"\0" * 10),  # IPTC
        segment(0xFE, b"taken at 12 Tverskaya St by serial 4711"),
        segment(0xE2, b"MPF\0" + b"\0" * 16),  # multi-picture: depth maps, secondary images
    ) + b"motion photo: an MP4 after the end of the image"
    with Image.open(io.BytesIO(files.jpeg(gps=True, quality=85))) as plain:
        plain_icc = plain.info.get("icc_profile")
    assert plain_icc is None
    original = original[:2] + b"".join(
        segment(0xE2, b"ICC_PROFILE\0" + bytes((1, 1)) + icc) for _ in [0]) + original[2:]

    photo = inspect_photo(original, "image/jpeg", max_pixels=MAX_PIXELS)

    served = photo.served
    for trace in (b"Exif", b"GPS", b"xmpmeta", b"Photoshop", b"Tverskaya", b"MPF\0", b"motion photo"):
        assert trace not in served
    assert served.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(served)) as shown:
        assert len(shown.getexif()) == 0 and shown.size == (800, 600)
        assert shown.info.get("icc_profile") == icc  # colours, not facts about anyone: kept
    assert pixels(served) == pixels(original)  # not re-encoded: nothing lost
    assert photo.had_gps and photo.captured_at == "2026-02-28T14:03:11+03:00"


def test_r10_a_photo_taken_sideways_keeps_only_its_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held sideways: turn 90° to show
    exif[0x010F] = "Apple"
    exif.get_ifd(0x8825).update({1: "N", 2: (55.0, 45.0, 21.0)})
    original = files.encode(files.picture(3, (640, 480)), "JPEG", exif=exif, quality=90)

    photo = inspect_photo(original, "image/jpeg", max_pixels=MAX_PIXELS)

    assert (photo.width, photo.height) == (480, 640)  # as people see it
    with Image.open(io.BytesIO(photo.served)) as shown:
        assert dict(shown.getexif()) == {0x0112: 6}
    assert b"Apple" not in photo.served
    with Image.open(io.BytesIO(photo.thumbnail)) as thumb:
        assert thumb.width < thumb.height  # the thumbnail is turned upright


@pytest.mark.parametrize("options", [{"progressive": True}, {"restart_marker_rows": 1},
                                     {"subsampling": 0, "quality": 95}])
def test_r10_every_kind_of_jpeg_scan_is_kept_whole(options):
    original = files.encode(files.picture(4, (640, 480)), "JPEG", **options)
    jfif_ends = 4 + int.from_bytes(original[4:6], "big")  # Pillow writes a JFIF APP0 first
    assert original[2:4] == b"\xff\xe0"
    photo = inspect_photo(with_segments(original, segment(0xFE, b"a comment")), "image/jpeg",
                          max_pixels=MAX_PIXELS)
    assert photo.served == original[:2] + original[jfif_ends:]  # every table and scan, byte for byte
    assert pixels(photo.served) == pixels(original)


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_r10_grey_and_print_jpegs_are_served_as_they_are(mode):
    original = files.encode(files.picture(5, (320, 240)).convert(mode), "JPEG", quality=90)
    photo = inspect_photo(original, "image/jpeg", max_pixels=MAX_PIXELS)
    with Image.open(io.BytesIO(photo.served)) as shown:
        assert shown.mode == mode and shown.size == (320, 240)


def test_r10_a_truncated_jpeg_is_refused():
    whole = files.jpeg(size=(800, 600))
    with pytest.raises(ImageRefused) as refused:
        inspect_photo(whole[: len(whole) * 2 // 3], "image/jpeg", max_pixels=MAX_PIXELS)
    assert refused.value.code == "image_unreadable"


@pytest.mark.parametrize("seed, size, expected", [
    (1, (800, 600), "9534c6668c7b4b39"),
    (7, (1200, 900), "c891cd72261f5daa"),
    (42, (333, 517), "c23d5b603b24bd87"),
])
def test_r22_the_perceptual_hash_is_the_one_imagehash_computes(seed, size, expected):
    """Hashes already stored were made by imagehash.phash (64 bits, on a copy at most 512
    pixels wide); new ones must be comparable bit for bit."""
    photo = inspect_photo(files.encode(files.picture(seed, size), "PNG"), "image/png", max_pixels=MAX_PIXELS)
    assert photo.phash == expected


def test_r10_whole_decodes_happen_in_a_child_that_is_replaced_when_it_dies():
    """PNG, WebP and HEIC are decoded whole in a child process, so their peak memory (and a
    decoder crashing on a hostile file) stays out of the server; a dead child is replaced."""
    import os
    import signal

    from ombuds.adapters import images

    png = files.encode(files.picture(3, (640, 480)), "PNG")
    assert inspect_photo(png, "image/png", max_pixels=MAX_PIXELS).width == 640
    [child] = list(images._decoder._processes.values())
    assert child.pid != os.getpid() and child.is_alive()
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)

    again = inspect_photo(png, "image/png", max_pixels=MAX_PIXELS)  # a new child decodes it
    assert again.width == 640 and again.phash
    [replacement] = list(images._decoder._processes.values())
    assert replacement.pid != child.pid

    with pytest.raises(ImageRefused) as refused:  # a refusal in the child reaches the caller as itself
        inspect_photo(png[: len(png) // 2], "image/png", max_pixels=MAX_PIXELS)
    assert refused.value.code == "image_unreadable" and refused.value.field == "file"
