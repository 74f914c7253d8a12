"""Evidence storage: content-addressed blobs behind one small interface, two backends.

A blob's name is the SHA-256 of its bytes, so a file is stored once however often it is
attached, can never be changed in place (R10: evidence is not editable), and any copy can
be checked against its name. Keys are ``sha256/ab/cd/abcd…`` (local: that path under the
evidence folder; S3: that key after the configured prefix).

Both backends are blocking libraries (file system, boto3) run in worker threads, so the
event loop never waits on a disk or the network.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Protocol

from anyio import to_thread

CHUNK = 1024 * 1024


def key_for(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def sha256_of(source: IO[bytes] | bytes) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    source.seek(0)
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


class EvidenceStore(Protocol):
    """Where evidence bytes live. ``put`` returns True if it created the blob (False: it was
    already there), so a caller that fails afterwards knows which blobs it may remove."""

    async def put(self, sha256: str, source: IO[bytes] | bytes, *, media_type: str) -> bool: ...

    async def exists(self, sha256: str) -> bool: ...

    async def read(self, sha256: str) -> bytes: ...

    def stream(self, sha256: str) -> AsyncIterator[bytes]: ...

    async def delete(self, sha256: str) -> None: ...

    def local_path(self, sha256: str) -> Path | None: ...


class LocalEvidenceStore:
    """Files under ``root`` (the embedded default). Written to a temporary name in the same
    folder tree and renamed into place, so a half-written file never has a blob's name."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        return self.root / key_for(sha256)

    def local_path(self, sha256: str) -> Path | None:
        return self._path(sha256)

    async def put(self, sha256: str, source: IO[bytes] | bytes, *, media_type: str) -> bool:
        return await to_thread.run_sync(self._put, sha256, source)

    def _put(self, sha256: str, source: IO[bytes] | bytes) -> bool:
        path = self._path(sha256)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.root / "partial" / uuid.uuid4().hex
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(partial, "wb") as out:
                if isinstance(source, bytes):
                    out.write(source)
                else:
                    source.seek(0)
                    shutil.copyfileobj(source, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(partial, 0o444)  # never edited in place
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return True

    async def exists(self, sha256: str) -> bool:
        return await to_thread.run_sync(self._path(sha256).exists)

    async def read(self, sha256: str) -> bytes:
        return await to_thread.run_sync(self._path(sha256).read_bytes)

    async def stream(self, sha256: str) -> AsyncIterator[bytes]:
        f = await to_thread.run_sync(open, self._path(sha256), "rb")
        try:
            while chunk := await to_thread.run_sync(f.read, CHUNK):
                yield chunk
        finally:
            f.close()

    async def delete(self, sha256: str) -> None:
        await to_thread.run_sync(lambda: self._path(sha256).unlink(missing_ok=True))

    def blobs(self) -> Iterator[str]:
        """Every stored blob's SHA-256 (operations and tests)."""
        if (self.root / "sha256").exists():
            for path in (self.root / "sha256").glob("*/*/*"):
                yield path.name


class S3EvidenceStore:
    """A bucket in any S3-compatible object store (AWS S3, MinIO, Ceph, R2, …)."""

    def __init__(self, bucket: str, *, prefix: str = "evidence/", client=None, **client_options):
        if not bucket:
            raise ValueError("OMBUDS_EVIDENCE_S3_BUCKET is required for the s3 evidence backend")
        self.bucket = bucket
        self.prefix = prefix
        if client is None:
            import boto3  # only a server configured for S3 pays for importing boto3

            client = boto3.client("s3", **{k: v for k, v in client_options.items() if v is not None})
        self.client = client

    def _key(self, sha256: str) -> str:
        return self.prefix + key_for(sha256)

    def local_path(self, sha256: str) -> Path | None:
        return None

    async def put(self, sha256: str, source: IO[bytes] | bytes, *, media_type: str) -> bool:
        return await to_thread.run_sync(self._put, sha256, source, media_type)

    def _put(self, sha256: str, source: IO[bytes] | bytes, media_type: str) -> bool:
        if self._exists(sha256):
            return False
        body = io.BytesIO(source) if isinstance(source, bytes) else source
        body.seek(0)
        # upload_fileobj switches to a multipart upload for big videos by itself.
        self.client.upload_fileobj(body, self.bucket, self._key(sha256),
                                   ExtraArgs={"ContentType": media_type,
                                              "Metadata": {"sha256": sha256}})
        return True

    def _exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    async def exists(self, sha256: str) -> bool:
        return await to_thread.run_sync(self._exists, sha256)

    async def read(self, sha256: str) -> bytes:
        def get() -> bytes:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"].read()

        return await to_thread.run_sync(get)

    async def stream(self, sha256: str) -> AsyncIterator[bytes]:
        response = await to_thread.run_sync(
            lambda: self.client.get_object(Bucket=self.bucket, Key=self._key(sha256)))
        body = response["Body"]
        try:
            while chunk := await to_thread.run_sync(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, sha256: str) -> None:
        await to_thread.run_sync(lambda: self.client.delete_object(Bucket=self.bucket,
                                                                   Key=self._key(sha256)))

    def blobs(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + "sha256/"):
            for item in page.get("Contents", []):
                yield item["Key"].rsplit("/", 1)[-1]


def store_from_settings(settings) -> EvidenceStore:
    """The backend the settings name (``OMBUDS_EVIDENCE_BACKEND``: local or s3)."""
    if settings.evidence_backend == "s3":
        return S3EvidenceStore(
            settings.evidence_s3_bucket, prefix=settings.evidence_s3_prefix,
            endpoint_url=settings.evidence_s3_endpoint_url, region_name=settings.evidence_s3_region,
            aws_access_key_id=settings.evidence_s3_access_key_id,
            aws_secret_access_key=settings.evidence_s3_secret_access_key)
    return LocalEvidenceStore(settings.evidence_dir)
