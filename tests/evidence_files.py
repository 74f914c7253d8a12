"""Small real files for evidence tests, made on the spot: photos (Pillow), video headers that
``filetype`` recognises, a PDF, and the bad files an attacker or a careless phone sends."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image, ImageDraw


def picture(seed: int = 1, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A photo-like picture: coloured shapes on a background, different for each seed."""
    r = random.Random(seed)
    img = Image.new("RGB", size, tuple(r.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(30):
        x, y = r.randrange(size[0]), r.randrange(size[1])
        draw.ellipse([x, y, x + r.randrange(40, 300), y + r.randrange(40, 300)],
                     fill=tuple(r.randrange(256) for _ in range(3)))
    return img


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def jpeg(seed: int = 1, size: tuple[int, int] = (800, 600), *, gps: bool = False,
         quality: int = 90) -> bytes:
    """A JPEG with EXIF capture time (and, if asked, where it was taken: Moscow)."""
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0132] = "2026:02:28 14:03:11"
    details = exif.get_ifd(0x8769)
    details[0x9003] = "2026:02:28 14:03:11"
    details[0x9011] = "+03:00"
    if gps:
        where = exif.get_ifd(0x8825)
        where[1], where[2] = "N", (55.0, 45.0, 21.0)
        where[3], where[4] = "E", (37.0, 37.0, 4.0)
    return encode(picture(seed, size), "JPEG", exif=exif, quality=quality)


def png(seed: int = 2) -> bytes:
    return encode(picture(seed, (400, 300)), "PNG")


def webp(seed: int = 3) -> bytes:
    return encode(picture(seed, (400, 300)), "WEBP", quality=80)


def heic(seed: int = 4) -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    return encode(picture(seed, (320, 240)), "HEIF", quality=70)


def pdf() -> bytes:
    """A one-page PDF receipt."""
    return encode(Image.new("RGB", (200, 100), "white"), "PDF")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4() -> bytes:
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41")
    return ftyp + _box(b"free", b"") + _box(b"mdat", bytes(2048))


def mov() -> bytes:
    ftyp = _box(b"ftyp", b"qt  " + struct.pack(">I", 0x200) + b"qt  ")
    return ftyp + _box(b"wide", b"") + _box(b"mdat", bytes(2048))


def webm() -> bytes:
    """An EBML header saying DocType 'webm', then an (empty) segment."""
    header = (b"\x42\x86\x81\x01" b"\x42\xf7\x81\x01" b"\x42\xf2\x81\x04" b"\x42\xf3\x81\x08"
              b"\x42\x82\x84webm" b"\x42\x87\x81\x04" b"\x42\x85\x81\x02")
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + b"\x18\x53\x80\x67\x01" + bytes(2048)


def windows_program() -> bytes:
    return (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(50)
            + b"This program cannot be run in DOS mode." + bytes(512))


def svg() -> bytes:
    return (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')


def noise_jpeg(side: int = 700) -> bytes:
    """A JPEG that compresses badly: big for its size."""
    r = random.Random(side)
    return encode(Image.frombytes("RGB", (side, side), r.randbytes(side * side * 3)), "JPEG", quality=95)


def bomb(width: int = 8000, height: int = 8000) -> bytes:
    """A PNG of one colour: tiny on disk, ``width × height`` pixels once decoded. Built by
    hand (one zlib stream of empty rows) so the test never holds the pixels itself."""
    row = b"\x00" + bytes(width)  # filter byte + one grey byte per pixel
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
