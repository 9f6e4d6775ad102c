"""One export file on its way to S3, resumable from a `FileCheckpoint`.

Bytes are buffered and uploaded as a multipart part whenever the caller is at a
record boundary and the part is big enough (S3's floor counts stored, i.e.
compressed, bytes). Memory holds one part.

gzip without losing resumability: the file is one gzip member whose deflate
stream is made of independently compressed parts. Each part is raw deflate from
a fresh compressor ending in a full flush (no back-references across parts); the
gzip header leads the first part and the CRC32/length trailer ends the last.
So a part's bytes depend only on its raw bytes, the CRC32 is an int in the
checkpoint, and a resumed upload produces exactly the bytes an uninterrupted
one would. (The same construction pigz uses to compress in parallel.)
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mailexports import aws
from mailexports.exports.checkpoint import FileCheckpoint, UploadedPart

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Fixed header, mtime 0 and no name: the file must not depend on when it was written.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_GZIP_LEVEL = 6


class FileUpload:
    def __init__(
        self,
        bucket: str,
        state: FileCheckpoint,
        *,
        gzip: bool,
        content_type: str,
        s3: S3Client | None = None,  # a customer destination's assumed-role client
    ) -> None:
        self.bucket = bucket
        self.state = state
        self._gzip = gzip
        self._content_type = content_type
        self._s3 = s3 or aws.s3()
        self._raw = bytearray()  # the open part, as written (what a pause parks in S3)
        self._out = bytearray()  # the open part, as it will be stored (compressed when gzip)
        self._compressor = self._new_compressor()
        self._sha256 = hashlib.sha256()
        # Hot counters live in plain attributes (pydantic assignment is slow); `snapshot` copies them.
        self.records = state.records
        self.last_group = state.last_group
        self.raw_bytes = state.raw_bytes
        self.crc32 = state.crc32
        if state.pending_key:
            self._restore_pending(state.pending_key)
        if state.parts:
            state.hashed_from_start = False

    @property
    def buffered(self) -> int:
        """Stored bytes of the open part so far (what S3's part-size floor counts)."""
        return len(self._out) if self._gzip else len(self._raw)

    def write(self, raw: bytes) -> None:
        self.raw_bytes += len(raw)
        self._raw += raw
        if self._compressor is not None:
            self._out += self._compressor.compress(raw)
            self.crc32 = zlib.crc32(raw, self.crc32)

    def snapshot(self) -> FileCheckpoint:
        """The file's state as a checkpoint records it (valid right after a part or a pause)."""
        return self.state.model_copy(
            update={
                "records": self.records,
                "last_group": self.last_group,
                "raw_bytes": self.raw_bytes,
                "crc32": self.crc32,
            },
            deep=True,
        )

    def upload_part(self) -> None:
        """Upload the buffer as the next part. Call only at a record boundary."""
        if self.state.upload_id is None:
            self.state.upload_id = self._s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.state.key, **self._object_args()
            )["UploadId"]
        body = self._close_part(last=False)
        number = len(self.state.parts) + 1
        etag = self._s3.upload_part(
            Bucket=self.bucket,
            Key=self.state.key,
            UploadId=self.state.upload_id,
            PartNumber=number,
            Body=body,
        )["ETag"]
        self._sha256.update(body)
        self.state.parts.append(UploadedPart(number=number, etag=etag))
        self.state.stored_bytes += len(body)

    def finish(self) -> tuple[int, str]:
        """Complete the object; return its stored size and SHA-256 (hex)."""
        body = self._close_part(last=True)
        if self.state.upload_id is None:
            self._s3.put_object(Bucket=self.bucket, Key=self.state.key, Body=body, **self._object_args())
        else:
            number = len(self.state.parts) + 1
            etag = self._s3.upload_part(
                Bucket=self.bucket,
                Key=self.state.key,
                UploadId=self.state.upload_id,
                PartNumber=number,
                Body=body,
            )["ETag"]
            self.state.parts.append(UploadedPart(number=number, etag=etag))
            self._s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.state.key,
                UploadId=self.state.upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in self.state.parts]
                },
            )
        self._sha256.update(body)
        self.state.stored_bytes += len(body)
        self._drop_pending()
        digest = self._sha256.hexdigest() if self.state.hashed_from_start else self._hash_stored_object()
        return self.state.stored_bytes, digest

    def save_pending(self) -> None:
        """Park the not-yet-uploaded bytes in S3 so another invocation can carry on."""
        key = f"{self.state.key}.pending"
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=bytes(self._raw))
        self.state.pending_key = key
        self.state.hashed_from_start = False

    def abort(self) -> None:
        """Leave nothing behind: the multipart upload and any parked bytes go."""
        if self.state.upload_id is not None:
            try:
                self._s3.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.state.key, UploadId=self.state.upload_id
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "NoSuchUpload":  # a cancel aborted it already
                    raise
            self.state.upload_id = None
        self._drop_pending()
        self._raw, self._out = bytearray(), bytearray()

    # ------------------------------------------------------------------ internals
    def _new_compressor(self) -> Any:
        # Raw deflate, fresh for every part: a part's bytes depend on its raw bytes alone.
        return zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, -15) if self._gzip else None

    def _close_part(self, *, last: bool) -> bytes:
        """The open part's stored bytes; the next write begins a new part."""
        if self._compressor is None:
            body = bytes(self._raw)
        else:
            self._out += self._compressor.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)
            body = bytes(self._out)
            if not self.state.parts:
                body = _GZIP_HEADER + body
            if last:
                body += struct.pack("<II", self.crc32 & 0xFFFFFFFF, self.raw_bytes & 0xFFFFFFFF)
        self._raw, self._out = bytearray(), bytearray()
        self._compressor = self._new_compressor()
        return body

    def _object_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"ContentType": self._content_type}
        if self._gzip:
            args["ContentEncoding"] = "gzip"
        return args

    def _restore_pending(self, key: str) -> None:
        """Replay the parked bytes of the open part (they are already counted in the state)."""
        raw = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        self._raw = bytearray(raw)
        if self._compressor is not None:
            self._out = bytearray(self._compressor.compress(raw))
        self.state.hashed_from_start = False

    def _drop_pending(self) -> None:
        if self.state.pending_key:
            self._s3.delete_object(Bucket=self.bucket, Key=self.state.pending_key)
            self.state.pending_key = None

    def _hash_stored_object(self) -> str:
        """After a resume the running hash is gone; read the finished object back once."""
        digest = hashlib.sha256()
        body = self._s3.get_object(Bucket=self.bucket, Key=self.state.key)["Body"]
        for chunk in iter(lambda: body.read(1024 * 1024), b""):
            digest.update(chunk)
        return digest.hexdigest()
