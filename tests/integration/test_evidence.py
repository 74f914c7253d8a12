"""R10 evidence and the R22 reuse signal, over HTTP, on SQLite and PostgreSQL.

Files are made in the test (tests/evidence_files.py). The policy here is small (photos ≤
400 KB, videos ≤ 1 MB, 4 files a side) so that "too big" and "too many" cost little.
"""

from __future__ import annotations

import hashlib
import io
import struct
from datetime import timedelta
from pathlib import Path

import boto3
import pikepdf
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ombuds.adapters.storage import key_for
from ombuds.bootstrap import create_app
from ombuds.settings import Settings
from tests import evidence_files as files
from tests.conftest import MARKETPLACE_KEY, T0
from tests.factories import Marketplace, Person

PHOTO_MAX, VIDEO_MAX, PER_SIDE = 400_000, 1_000_000, 4


def evidence_settings(url: str, policy_file: Path, **extra) -> Settings:
    return Settings(database_url=url, clock="manual", clock_start=T0, marketplace_key=MARKETPLACE_KEY,
                    worker_in_process=False, policy_file=policy_file, **extra)


@pytest.fixture
def policy_file(tmp_path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(f"evidence_photo_max_bytes = {PHOTO_MAX}\nevidence_video_max_bytes = {VIDEO_MAX}\n"
                    f"evidence_max_files_per_side = {PER_SIDE}\n")
    return path


@pytest.fixture
def evidence_dir(tmp_path) -> Path:
    return tmp_path / "evidence"


@pytest.fixture
def client(database_url, policy_file, evidence_dir):
    app = create_app(evidence_settings(database_url, policy_file, evidence_dir=evidence_dir))
    with TestClient(app, raise_server_exceptions=True) as c:
        yield c


@pytest.fixture
def people(market: Marketplace):
    return market.buyer(), market.seller(), market.arbitrator()


@pytest.fixture
def dispute(market: Marketplace, people) -> dict:
    buyer, seller, _ = people
    return market.open_dispute(buyer, market.order(buyer, seller))


def upload(person: Person, dispute_id: int, name: str, data: bytes, *, content_type: str = "image/jpeg",
           expect: int = 201):
    r = person.market.client.post(f"/api/v1/disputes/{dispute_id}/evidence", headers=person.headers,
                                  files={"file": (name, data, content_type)})
    assert r.status_code == expect, f"upload {name} → {r.status_code}: {r.text}"
    return r.json() if expect < 300 else r


def stored(evidence_dir: Path) -> list[Path]:
    return [p for p in evidence_dir.rglob("*") if p.is_file()] if evidence_dir.exists() else []


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


ACCEPTED = [
    ("unboxing.jpg", files.jpeg, "image/jpeg", "photo"),
    ("screenshot.png", files.png, "image/png", "photo"),
    ("label.webp", files.webp, "image/webp", "photo"),
    ("IMG_0001.HEIC", files.heic, "image/heic", "photo"),
    ("unboxing.mp4", files.mp4, "video/mp4", "video"),
    ("IMG_0002.MOV", files.mov, "video/quicktime", "video"),
    ("parcel.webm", files.webm, "video/webm", "video"),
    ("receipt.pdf", files.pdf, "application/pdf", "document"),
]


@pytest.mark.parametrize(("name", "make", "media_type", "kind"), ACCEPTED, ids=[a[2] for a in ACCEPTED])
def test_r10_every_accepted_type_is_taken_stored_by_its_hash_and_shown_to_the_other_party(
        market, people, dispute, evidence_dir, name, make, media_type, kind):
    buyer, seller, arbitrator = people
    data = make()
    added = upload(buyer, dispute["id"], name, data, content_type="application/octet-stream")
    assert (added["media_type"], added["kind"], added["side"]) == (media_type, kind, "buyer")
    assert added["size"] == len(data) and added["sha256"] == sha256(data)
    assert (evidence_dir / key_for(added["sha256"])).read_bytes() == data
    for reader in (seller, arbitrator):
        served = market.client.get(added["file_url"], headers=reader.headers)
        assert served.status_code == 200
        assert served.headers["x-content-type-options"] == "nosniff"
        if kind == "video":
            assert served.content == data  # nothing in these to remove
        if kind == "document":  # served without its information dictionary (R10)
            assert served.content.startswith(b"%PDF")
            assert "/Info" not in pikepdf.open(io.BytesIO(served.content)).trailer
    if kind == "photo":
        assert added["width"] and added["height"]
        thumb = market.client.get(added["thumbnail_url"], headers=seller.headers)
        assert thumb.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320
    else:
        assert added["thumbnail_url"] is None


REFUSED = [
    # (case, file name, bytes, HTTP status, code)
    ("oversized photo", "big.jpg", lambda: files.noise_jpeg(700), 413, "file_too_large"),
    ("bigger than any file", "huge.mp4", lambda: files.mp4() + bytes(2 * VIDEO_MAX), 413, "file_too_large"),
    ("bytes not what the name says", "receipt.pdf", files.png, 415, "file_type_mismatch"),
    ("program renamed .jpg", "photo.jpg", files.windows_program, 415, "file_type_not_accepted"),
    ("decompression bomb", "bomb.png", files.bomb, 422, "image_too_many_pixels"),
    ("truncated image", "cut.jpg", lambda: files.jpeg()[:20_000], 422, "image_unreadable"),
    ("SVG", "drawing.svg", files.svg, 415, "file_type_not_accepted"),
    ("path traversal", "../../etc/passwd.jpg", files.jpeg, 422, "invalid_file_name"),
    ("windows path traversal", "..\\..\\boot.ini.jpg", files.jpeg, 422, "invalid_file_name"),
]


@pytest.mark.parametrize(("case", "name", "make", "status", "code"), REFUSED, ids=[r[0] for r in REFUSED])
def test_r10_a_bad_file_is_refused_with_a_clear_code_and_leaves_nothing_behind(
        market, people, dispute, evidence_dir, case, name, make, status, code):
    buyer, _, arbitrator = people
    r = upload(buyer, dispute["id"], name, make(), expect=status)
    assert r.json()["code"] == code
    assert r.json()["field"] == "file" and len(r.json()["message"]) > 20
    assert stored(evidence_dir) == []
    assert arbitrator.get(f"/disputes/{dispute['id']}/evidence")["items"] == []
    assert "evidence_added" not in [e["action"] for e in buyer.dispute(dispute["id"])["timeline"]]


def test_r10_a_body_that_hides_its_size_is_cut_off_past_the_biggest_limit(market, people, dispute,
                                                                         evidence_dir):
    buyer, _, _ = people
    boundary = "evidence-boundary"

    def chunked_body():  # no Content-Length: the server must count for itself
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.mp4\"\r\n"
               "Content-Type: video/mp4\r\n\r\n").encode() + files.mp4()
        for _ in range(3 * VIDEO_MAX // 65536):
            yield bytes(65536)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = market.client.post(f"/api/v1/disputes/{dispute['id']}/evidence", content=chunked_body(),
                           headers={**buyer.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413 and r.json()["code"] == "file_too_large"
    assert stored(evidence_dir) == []


def test_r10_oversized_photo_says_the_limit(market, people, dispute):
    buyer, _, _ = people
    body = upload(buyer, dispute["id"], "big.jpg", files.noise_jpeg(700), expect=413).json()
    assert body["max_bytes"] == PHOTO_MAX and body["kind"] == "photo"
    assert market.client.get("/api/v1/evidence/limits").json()["photo_max_bytes"] == PHOTO_MAX


def test_r10_no_evidence_after_the_dispute_closed(market, people, dispute, evidence_dir):
    buyer, seller, _ = people
    buyer.withdraw(dispute["id"])
    for party in (buyer, seller):
        r = upload(party, dispute["id"], "late.jpg", files.jpeg(), expect=409)
        assert r.json()["code"] == "dispute_closed"
    assert stored(evidence_dir) == []


def test_r10_a_deadline_that_passed_closes_the_door_even_before_the_sweeper_runs(
        market, people, dispute, evidence_dir):
    buyer, _, _ = people  # R12: the seller stayed silent past respond_by: the dispute closes
    market.set_clock_without_sweeping(T0 + timedelta(days=market.policy()["seller_response_days"] + 1))
    assert upload(buyer, dispute["id"], "late.jpg", files.jpeg(), expect=409).json()["code"] == "dispute_closed"
    assert stored(evidence_dir) == []


def test_r10_only_the_parties_add_evidence(market, people, dispute, evidence_dir):
    _, _, arbitrator = people
    stranger = market.buyer()
    assert upload(stranger, dispute["id"], "x.jpg", files.jpeg(), expect=404).json()["code"] == "dispute_not_found"
    assert upload(arbitrator, dispute["id"], "x.jpg", files.jpeg(), expect=403).json()["code"] == "parties_only"
    assert stored(evidence_dir) == []
    stranger.get(f"/disputes/{dispute['id']}/evidence", expect=404)


def test_r10_a_stranger_cannot_fetch_a_file(market, people, dispute):
    buyer, _, _ = people
    added = upload(buyer, dispute["id"], "unboxing.jpg", files.jpeg())
    stranger = market.buyer()
    r = market.client.get(added["file_url"], headers=stranger.headers)
    assert r.status_code == 404 and r.json()["code"] == "evidence_not_found"


def test_r10_each_side_may_attach_up_to_the_policy_limit(market, people, dispute):
    buyer, seller, _ = people
    for i in range(PER_SIDE):
        upload(buyer, dispute["id"], f"photo{i}.jpg", files.jpeg(seed=10 + i))
    assert upload(buyer, dispute["id"], "one-more.jpg", files.jpeg(seed=99), expect=409).json()["code"] \
        == "too_many_files"
    upload(seller, dispute["id"], "packing.jpg", files.jpeg(seed=50))  # the other side still may


def test_r10_evidence_cannot_be_edited_or_deleted(market, people, dispute):
    buyer, _, _ = people
    added = upload(buyer, dispute["id"], "unboxing.jpg", files.jpeg())
    for method in ("PUT", "PATCH", "DELETE"):
        assert market.client.request(method, f"/api/v1/evidence/{added['id']}",
                                     headers=buyer.headers).status_code in (404, 405)
        assert market.client.request(method, added["file_url"], headers=buyer.headers).status_code == 405


def test_r10_the_same_bytes_twice_are_stored_once(market, people, dispute, evidence_dir):
    buyer, seller, _ = people
    data = files.mp4()
    first = upload(buyer, dispute["id"], "a.mp4", data)
    second = upload(seller, dispute["id"], "b.mp4", data)
    assert first["sha256"] == second["sha256"] and first["id"] != second["id"]
    assert len(stored(evidence_dir)) == 1


def test_r10_missing_evidence_is_allowed_and_counted_per_side_for_the_arbitrator(market, people, dispute):
    buyer, seller, arbitrator = people
    assert arbitrator.get(f"/disputes/{dispute['id']}/evidence")["without_evidence"] == ["buyer", "seller"]
    upload(buyer, dispute["id"], "unboxing.mp4", files.mp4())
    listing = arbitrator.get(f"/disputes/{dispute['id']}/evidence")
    assert listing["counts"] == {"buyer": 1, "seller": 0}
    assert listing["without_evidence"] == ["seller"]
    assert seller.get(f"/disputes/{dispute['id']}/evidence")["counts"] == {"buyer": 1, "seller": 0}


def test_r10_evidence_is_in_the_timeline(market, people, dispute):
    buyer, seller, _ = people
    added = upload(seller, dispute["id"], "packing.jpg", files.jpeg())
    entry = buyer.dispute(dispute["id"])["timeline"][-1]
    assert (entry["action"], entry["actor"]) == ("evidence_added", "seller")
    assert entry["from_state"] == entry["to_state"] == "awaiting_seller"
    assert entry["details"]["evidence_id"] == added["id"] and entry["details"]["sha256"] == added["sha256"]


def test_r10_gps_is_stripped_from_what_others_see_and_the_original_is_kept_untouched(
        market, people, dispute, evidence_dir):
    buyer, seller, arbitrator = people
    original = files.jpeg(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the photo knows where
    added = upload(buyer, dispute["id"], "unboxing.jpg", original)
    assert added["captured_at"] == "2026-02-28T14:03:11+03:00"
    for reader in (seller, arbitrator, buyer):
        served = market.client.get(added["file_url"], headers=reader.headers)
        assert served.headers["content-type"] == "image/jpeg"
        shown = Image.open(io.BytesIO(served.content))
        assert shown.size == (800, 600)
        assert not shown.getexif().get_ifd(0x8825) and len(shown.getexif()) == 0
        assert b"Exif" not in served.content
    kept = (evidence_dir / key_for(added["sha256"])).read_bytes()
    assert kept == original and sha256(kept) == added["sha256"]
    assert Image.open(io.BytesIO(kept)).getexif().get_ifd(0x8825)  # the original still has it
    assert arbitrator.get(f"/disputes/{dispute['id']}/evidence")["items"][0]["gps_removed"] is True


def test_r22_the_same_photo_resized_in_another_buyers_dispute_is_flagged_to_the_arbitrator_only(
        market, people, dispute):
    buyer, seller, arbitrator = people
    photo = files.picture(seed=7, size=(1200, 900))
    upload(buyer, dispute["id"], "broken.jpg", files.encode(photo, "JPEG", quality=92))

    other_buyer = market.buyer()
    second = market.open_dispute(other_buyer, market.order(other_buyer, seller))
    resized = files.encode(photo.resize((640, 480)), "JPEG", quality=55)
    reused = upload(other_buyer, second["id"], "my-photo.jpg", resized)
    different = upload(other_buyer, second["id"], "another.jpg", files.jpeg(seed=8))
    assert "flags" not in reused  # the uploader is not told

    staff_view = {e["id"]: e for e in arbitrator.get(f"/disputes/{second['id']}/evidence")["items"]}
    [flag] = staff_view[reused["id"]]["flags"]
    assert flag["code"] == "image_reused" and flag["dispute_id"] == dispute["id"]
    assert flag["same_buyer"] is False and flag["distance"] <= 6
    assert staff_view[different["id"]]["flags"] == []
    assert arbitrator.get(f"/disputes/{second['id']}/evidence")["flagged"] == 1
    first_view = arbitrator.get(f"/disputes/{dispute['id']}/evidence")["items"]
    assert first_view[0]["flags"] == []  # flagged on the second use, not the first

    for party in (other_buyer, seller):  # parties never see the signal, anywhere
        listing = party.get(f"/disputes/{second['id']}/evidence")
        assert all("flags" not in e for e in listing["items"]) and "flagged" not in listing
        assert "image_reused" not in str(party.dispute(second["id"]))


def test_r22_the_same_buyer_reusing_a_photo_on_another_order_is_flagged_too(market, people, dispute):
    buyer, seller, arbitrator = people
    photo = files.jpeg(seed=21)
    upload(buyer, dispute["id"], "broken.jpg", photo)
    second = market.open_dispute(buyer, market.order(buyer, seller))
    again = upload(buyer, second["id"], "broken-again.jpg", photo)
    [flag] = next(e for e in arbitrator.get(f"/disputes/{second['id']}/evidence")["items"]
                  if e["id"] == again["id"])["flags"]
    assert flag["same_buyer"] is True


def test_r22_two_lines_of_one_order_sharing_a_photo_are_not_flagged(market, people):
    buyer, seller, arbitrator = people
    order = market.order(buyer, seller, lines=((1850, 1), (900, 1)))
    first = market.open_dispute(buyer, order, line=0)
    second = market.open_dispute(buyer, order, line=1)
    photo = files.jpeg(seed=31)  # one photo of the parcel shows both items
    upload(buyer, first["id"], "parcel.jpg", photo)
    upload(buyer, second["id"], "parcel.jpg", photo)
    assert arbitrator.get(f"/disputes/{second['id']}/evidence")["items"][0]["flags"] == []


def test_r10_a_failure_after_storing_removes_what_this_upload_stored(
        market, people, dispute, evidence_dir, monkeypatch):
    from ombuds.services import evidence

    buyer, _, _ = people

    async def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(evidence, "_matching_images", broken)
    with pytest.raises(RuntimeError):
        upload(buyer, dispute["id"], "unboxing.jpg", files.jpeg())
    assert stored(evidence_dir) == []


def test_r10_limits_are_published(market):
    limits = market.client.get("/api/v1/evidence/limits").json()
    assert (limits["photo_max_bytes"], limits["video_max_bytes"], limits["max_files_per_side"]) == \
        (PHOTO_MAX, VIDEO_MAX, PER_SIDE)
    assert {a["media_type"] for a in limits["accepted"]} >= {
        "image/jpeg", "image/png", "image/webp", "image/heic", "video/mp4", "video/quicktime",
        "video/webm", "application/pdf"}


# S3-compatible storage, against moto's in-process server ---------------------------------

@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, request):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    name = f"evidence-{request.node.name.lower().replace('[', '-').replace(']', '')}"[:60]
    s3.create_bucket(Bucket=name)
    yield s3, name


def objects(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_r10_s3_backend_round_trip(database_url, policy_file, s3_endpoint, bucket, tmp_path):
    s3, name = bucket
    settings = evidence_settings(database_url, policy_file, evidence_backend="s3", evidence_s3_bucket=name,
                                 evidence_s3_endpoint_url=s3_endpoint, evidence_s3_region="us-east-1",
                                 evidence_s3_access_key_id="testing", evidence_s3_secret_access_key="testing",
                                 evidence_dir=tmp_path / "unused")
    with TestClient(create_app(settings)) as client:
        market = Marketplace(client, MARKETPLACE_KEY)
        buyer, seller = market.buyer(), market.seller()
        d = market.open_dispute(buyer, market.order(buyer, seller))

        photo, video = files.jpeg(gps=True), files.mp4()
        added_photo = upload(buyer, d["id"], "unboxing.jpg", photo)
        added_video = upload(buyer, d["id"], "unboxing.mp4", video)
        keys = objects(s3, name)
        assert f"evidence/{key_for(sha256(photo))}" in keys and f"evidence/{key_for(sha256(video))}" in keys
        assert len(keys) == 4  # photo, its GPS-free copy, its thumbnail, the video
        kept = s3.get_object(Bucket=name, Key=f"evidence/{key_for(sha256(photo))}")["Body"].read()
        assert kept == photo

        served_video = client.get(added_video["file_url"], headers=seller.headers)
        assert served_video.status_code == 200 and served_video.content == video
        served_photo = client.get(added_photo["file_url"], headers=seller.headers)
        assert not Image.open(io.BytesIO(served_photo.content)).getexif().get_ifd(0x8825)

        upload(buyer, d["id"], "photo.jpg", files.windows_program(), expect=415)
        upload(buyer, d["id"], "bomb.png", files.bomb(), expect=422)
        assert len(objects(s3, name)) == 4  # refusals leave nothing in the bucket
        assert not (tmp_path / "unused").exists()


# R10: location and other metadata inside videos and PDFs -----------------------------------

def _quicktime_with_location() -> bytes:
    box = files._box
    xyz = box(b"\xa9xyz", struct.pack(">HH", 17, 0) + b"+55.7558+037.6173/")
    keys = box(b"keys", b"\0\0\0\0" + struct.pack(">I", 1) + box(b"mdta", b"com.apple.quicktime.location.ISO6709"))
    mvhd = box(b"mvhd", bytes(100))
    stco = box(b"stco", bytes(4) + struct.pack(">II", 1, 4242))
    trak = box(b"trak", box(b"tkhd", bytes(84)) + box(b"mdia", box(b"minf", box(b"stbl", stco)))
               + box(b"udta", box(b"\xa9day", b"2026-03-01")))
    moov = box(b"moov", mvhd + trak + box(b"udta", xyz) + box(b"meta", bytes(4) + keys))
    ftyp = box(b"ftyp", b"qt  " + struct.pack(">I", 0x200) + b"qt  ")
    return ftyp + moov + box(b"mdat", bytes(2048))


def test_r10_a_video_is_served_without_its_location_and_plays_as_before(market, people, dispute):
    buyer, seller, arbitrator = people
    data = _quicktime_with_location()
    added = upload(buyer, dispute["id"], "IMG_0003.MOV", data, content_type="video/quicktime")
    served = market.client.get(added["file_url"], headers=seller.headers).content

    assert added["sha256"] == sha256(data) and added["size"] == len(data)  # the original, kept
    assert len(served) == len(data)  # nothing moved: the samples' offsets still hold
    assert b"+55.7558" not in served and b"ISO6709" not in served and b"2026-03-01" not in served
    assert served.count(b"free") == 3 and struct.pack(">II", 1, 4242) in served
    assert served[-2048:] == data[-2048:]
    staff = arbitrator.get(f"/disputes/{dispute['id']}/evidence")["items"][0]
    assert staff["gps_removed"] is True and staff["served_sha256"] == sha256(served)


def test_r10_a_pdf_is_served_without_its_author_dates_or_xmp(market, people, dispute):
    buyer, seller, _ = people
    document = pikepdf.new()
    document.add_blank_page()
    document.docinfo["/Author"] = "Olga Petrova"
    document.docinfo["/CreationDate"] = "D:20260301120000+03'00'"
    with document.open_metadata() as xmp:
        xmp["dc:creator"] = ["Olga Petrova"]
    raw = io.BytesIO()
    document.save(raw)
    data = raw.getvalue()
    assert b"Olga Petrova" in data

    added = upload(buyer, dispute["id"], "receipt.pdf", data, content_type="application/pdf")
    served = market.client.get(added["file_url"], headers=seller.headers).content

    assert b"Olga Petrova" not in served
    with pikepdf.open(io.BytesIO(served)) as cleaned:
        assert "/Info" not in cleaned.trailer and "/Metadata" not in cleaned.Root
        assert len(cleaned.pages) == 1


def test_r10_a_photo_placed_in_a_pdf_is_served_without_its_exif_and_gps(market, people, dispute):
    buyer, seller, arbitrator = people
    photo = files.jpeg(gps=True)
    document = pikepdf.new()
    document.add_blank_page(page_size=(800, 600))
    image = document.make_stream(photo, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=800,
                                 Height=600, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8,
                                 Filter=pikepdf.Name.DCTDecode)
    document.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    document.pages[0].Contents = document.make_stream(b"q 800 0 0 600 0 0 cm /Im0 Do Q")
    raw = io.BytesIO()
    document.save(raw)

    added = upload(buyer, dispute["id"], "scan.pdf", raw.getvalue(), content_type="application/pdf")
    served = market.client.get(added["file_url"], headers=seller.headers).content

    with pikepdf.open(io.BytesIO(served)) as cleaned:
        [placed] = cleaned.pages[0].get_images().values()
        jpeg = placed.read_raw_bytes()
    assert b"Exif" not in jpeg and not Image.open(io.BytesIO(jpeg)).getexif()
    scan = photo.index(b"\xff\xda")
    assert jpeg.endswith(photo[scan:])  # the picture itself is not re-encoded
    staff = arbitrator.get(f"/disputes/{dispute['id']}/evidence")["items"][0]
    assert staff["gps_removed"] is True
