"""Server memory while buyers upload 12-megapixel photos as evidence (R10).

A scratch database gets disputes awaiting the seller; ``ombuds serve --workers 2`` (manual
clock, evidence on a scratch folder) then takes ``POST /api/v1/disputes/{id}/evidence`` with a
12-megapixel JPEG (4032 × 3024, about 4 MB, EXIF with an orientation and GPS tags, as a phone
writes it) — or a 12-megapixel HEIC, an iPhone's default — from ``--concurrency`` clients at
once. Every upload is decoded, checked, stripped
of its metadata, thumbnailed and hashed (:mod:`ombuds.adapters.images`). The server's
resident memory is sampled every quarter second (:class:`bench.processes.CpuMeter`): its
peak per process is what the 200 MB target is about.

    .venv/bin/python -m bench.photos [--photos 40] [--concurrency 8] [--kind jpeg|heic]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from bench.contract import RSS_TARGET_MB, Context, Row, per_operation, row
from bench.load import ombuds_server
from bench.processes import CpuMeter, process_tree, rss_mb, time_limit
from bench.scratch import backend_pids, scratch_database
from bench.seed import migrated_market, seed_due_disputes

PHOTOS, CONCURRENCY, WORKERS = 40, 8, 2
SIZE = (4032, 3024)  # 12.2 megapixels: a phone's main camera


def twelve_megapixel_jpeg() -> bytes:
    """A photo-like JPEG: gradients and sensor-like noise (so it compresses like a photo),
    EXIF orientation 6 (held sideways) and a GPS position."""
    from PIL import Image

    width, height = SIZE
    ramp = Image.linear_gradient("L").resize(SIZE)
    noise = Image.effect_noise(SIZE, 14)
    img = Image.merge("RGB", (ramp, noise, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    exif = img.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° to show
    exif.get_ifd(0x8769)[0x9003] = "2026:03:01 18:04:05"
    exif.get_ifd(0x8825).update({1: "N", 2: (55.0, 45.0, 21.0), 3: "E", 4: (37.0, 37.0, 4.0)})
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


CACHE = Path(__file__).with_name("results") / "photo-12mp.heic"


def twelve_megapixel_heic() -> bytes:
    """A 12-megapixel HEIC, as an iPhone sends by default. Encoding one takes x265 ten seconds
    or more, so it is made once and kept in ``bench/results/`` (git-ignored). Its pixels are
    smooth (a small file), but decoding costs what any 12-megapixel HEIC costs."""
    if CACHE.exists():
        return CACHE.read_bytes()
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    ramp = Image.linear_gradient("L").resize(SIZE)
    img = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.ROTATE_180),
                              ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    out = io.BytesIO()
    img.save(out, "HEIF", quality=60)
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_bytes(out.getvalue())
    return out.getvalue()


async def _seed(url: str, disputes: int) -> tuple[dict[int, str], list[int]]:
    """``disputes`` disputes awaiting the seller, each with its buyer's token."""
    app, market = await migrated_market(url, lines=disputes, lines_per_order=1, buyers=disputes)
    try:
        await seed_due_disputes(app, market)
        async with app.engine.connect() as conn:
            from sqlalchemy import text
            rows = (await conn.execute(text("SELECT id, buyer_id FROM disputes ORDER BY id"))).all()
    finally:
        await app.engine.dispose()
    return {d: market.buyer_tokens[b] for d, b in rows}, [d for d, _ in rows]


async def _upload_all(port: int, photo: tuple[str, bytes, str], tokens: dict[int, str], disputes: list[int], *,
                      photos: int, concurrency: int) -> dict:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(photos):
        queue.put_nowait(disputes[i % len(disputes)])
    statuses: dict[int, int] = {}
    latencies: list[float] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, trust_env=False) as http:
            while not queue.empty():
                dispute = queue.get_nowait()
                started = time.perf_counter()
                r = await http.post(f"/api/v1/disputes/{dispute}/evidence",
                                    headers={"Authorization": f"Bearer {tokens[dispute]}"},
                                    files={"file": photo})
                latencies.append(time.perf_counter() - started)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code != 201 and statuses[r.status_code] == 1:
                    print(f"upload answered {r.status_code}: {r.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    latencies.sort()
    return {"seconds": seconds, "statuses": statuses, "ok": statuses.get(201, 0),
            "p50_s": latencies[len(latencies) // 2], "max_s": latencies[-1]}


def _server_rss(pid: int) -> float:
    return max((m for p in process_tree(pid) if (m := rss_mb(p)) is not None), default=0.0)


FORMATS = {"jpeg": ("IMG_0001.jpg", twelve_megapixel_jpeg, "image/jpeg"),
           "heic": ("IMG_0002.heic", twelve_megapixel_heic, "image/heic")}


def measure(*, photos: int = PHOTOS, concurrency: int = CONCURRENCY, workers: int = WORKERS, kind: str = "jpeg",
            extra_env: dict[str, str] | None = None) -> dict:
    name, make, media_type = FORMATS[kind]
    photo = (name, make(), media_type)
    work = Path(tempfile.mkdtemp(prefix="ombuds-bench-photos-"))
    try:
        with scratch_database("ombuds_bench_photos") as (name, url):
            disputes = max(2, -(-photos // 10))  # R10 allows 20 files a side; 10 each at most here
            tokens, ids = asyncio.run(_seed(url, disputes))
            env = {"OMBUDS_EVIDENCE_DIR": str(work / "evidence"), **(extra_env or {})}
            with ombuds_server(url, workers=workers, log=work / "serve.log", env=env) as (port, proc):
                time.sleep(1)
                idle = _server_rss(proc.pid)
                with CpuMeter(proc.pid, lambda: backend_pids(name)) as meter:
                    result = asyncio.run(_upload_all(port, photo, tokens, ids, photos=photos,
                                                     concurrency=concurrency))
                after = _server_rss(proc.pid)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {**result, "photos": photos, "concurrency": concurrency, "workers": workers, "kind": kind,
            "photo_bytes": len(photo[1]), "rss_mb": meter.rss_mb, "rss_idle_mb": idle, "rss_after_mb": after,
            "cpu_seconds": meter.result,
            "cpu_ms": per_operation(meter.result, photos, keep=("server", "postgres"))}  # the client is this process


def run(ctx: Context) -> list[Row]:
    """The contract of :mod:`bench.run_all`: photo uploads, their rate, CPU and the server's memory."""
    rows = []
    for kind, photos in (("jpeg", 16 if ctx.quick else PHOTOS), ("heic", 6 if ctx.quick else 12)):
        r = measure(photos=photos, kind=kind)
        refused = {s: n for s, n in r["statuses"].items() if s != 201}
        rows.append(row(
            path=f"POST /api/v1/disputes/{{id}}/evidence (12 MP {kind.upper()}, {r['concurrency']} at once)",
            rate=r["ok"] / r["seconds"], unit="photos/s", cpu_ms=r["cpu_ms"], rss_mb=r["rss_mb"],
            notes=(f"server RSS per process: {r['rss_idle_mb']:.0f} MB idle, peak {r['rss_mb']['server_process']:.0f} "
                   f"MB (target ≤ {RSS_TARGET_MB}), {r['rss_after_mb']:.0f} MB after; p50 {r['p50_s']:.2f} s; "
                   f"{r['ok']} of {r['photos']} stored" + (f"; refused {refused}" if refused else ""))))
    return rows


def report(r: dict) -> str:
    return (f"{r['ok']} of {r['photos']} {r['kind'].upper()} photos ({r['photo_bytes'] / 1e6:.1f} MB each, "
            f"{r['concurrency']} at once, "
            f"ombuds serve --workers {r['workers']}) in {r['seconds']:.1f} s = {r['ok'] / r['seconds']:.1f}/s; "
            f"p50 {r['p50_s']:.2f} s, max {r['max_s']:.2f} s\n"
            f"server RSS per process: idle {r['rss_idle_mb']:.0f} MB, peak {r['rss_mb']['server_process']:.0f} MB "
            f"(all processes {r['rss_mb']['server_total']:.0f} MB), after {r['rss_after_mb']:.0f} MB "
            f"(target ≤ {RSS_TARGET_MB} MB per process)\n"
            "CPU ms per photo: " + ", ".join(f"{k} {v:.0f}" for k, v in r["cpu_ms"].items())
            + f"\nstatuses: {r['statuses']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=PHOTOS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--kind", choices=sorted(FORMATS), default="jpeg")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the server (e.g. MALLOC_ARENA_MAX=2)")
    args = parser.parse_args()
    with time_limit(600, "photo benchmark"):
        print(report(measure(photos=args.photos, concurrency=args.concurrency, workers=args.workers,
                             kind=args.kind, extra_env=dict(e.split("=", 1) for e in args.env))))


if __name__ == "__main__":
    main()
