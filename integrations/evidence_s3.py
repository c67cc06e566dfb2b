"""Photo evidence in an S3-compatible bucket (MinIO as sites run it), through boto3.

Objects are named by their sha256 (``ab/<sha256>``) and carry ``x-amz-meta-sha256``; one PUT writes an
object whole or not at all (S3's own guarantee), so a failed upload leaves nothing behind.
"""

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from incidents.evidence.store import EvidenceMissing, EvidenceUnavailable, check_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Store:
    """``put``/``get`` by sha256 in ``bucket``, created on first use when it does not exist."""

    def __init__(self, *, endpoint: str, bucket: str, access_key: str, secret_key: str, region: str,
                 timeout: float = 10.0) -> None:
        self.bucket = bucket
        self.client: S3Client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            region_name=region, config=Config(connect_timeout=timeout, read_timeout=timeout,
                                              retries={"max_attempts": 3}, s3={"addressing_style": "path"}))
        self._ready = False

    @staticmethod
    def key(sha256: str) -> str:
        return f"{check_name(sha256)[:2]}/{sha256}"

    def _bucket(self) -> None:
        if self._ready:
            return
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in MISSING:
                raise
            self.client.create_bucket(Bucket=self.bucket)
        self._ready = True

    def put(self, sha256: str, data: bytes, media_type: str) -> None:
        """One PUT of the whole object; EvidenceUnavailable when the bucket cannot be reached or refuses."""
        try:
            self._bucket()
            self.client.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=data, ContentType=media_type,
                                   Metadata={"sha256": sha256})
        except (BotoCoreError, ClientError) as exc:
            raise EvidenceUnavailable(f"s3 {self.bucket}: {exc}") from exc

    def get(self, sha256: str) -> bytes:
        """The object's bytes; EvidenceMissing when there is none, EvidenceUnavailable on any other error."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
            return answer["Body"].read()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in MISSING:
                raise EvidenceMissing(sha256) from exc
            raise EvidenceUnavailable(f"s3 {self.bucket}: {exc}") from exc
        except BotoCoreError as exc:
            raise EvidenceUnavailable(f"s3 {self.bucket}: {exc}") from exc
