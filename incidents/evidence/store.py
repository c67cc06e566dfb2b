"""Where evidence is kept: by sha256 of its content, written whole or not at all.

``LocalStore`` keeps files under a directory (``WAREROOM_EVIDENCE_DIR``, default ``var/evidence``);
``integrations.evidence_s3.S3Store`` keeps them in an S3-compatible bucket (MinIO). Both answer the
``EvidenceStore`` protocol.
"""

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class EvidenceMissing(LookupError):
    """No evidence is stored under this sha256."""


class EvidenceStore(Protocol):
    def put(self, sha256: str, data: bytes, media_type: str) -> None:
        """Keep ``data`` under ``sha256`` (hex), whole or not at all; putting the same content again changes
        nothing. EvidenceUnavailable when it cannot be kept now."""
        ...

    def get(self, sha256: str) -> bytes:
        """The stored bytes; EvidenceMissing when there are none."""
        ...


def check_name(sha256: str) -> str:
    """``sha256`` when it is 64 lowercase hex digits; ValueError otherwise (it becomes a path or a key)."""
    if not SHA256.match(sha256):
        raise ValueError(f"not a sha256: {sha256[:80]!r}")
    return sha256


class LocalStore:
    """Files at ``root/ab/cd/<sha256>``; written to a temporary file, synced, then renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        check_name(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes, media_type: str) -> None:
        path = self._path(sha256)
        if path.exists():
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        except OSError as exc:
            raise EvidenceUnavailable(f"cannot write under {self.root}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException as exc:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise EvidenceUnavailable(f"cannot write {path}: {exc}") from exc
            raise

    def get(self, sha256: str) -> bytes:
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError:
            raise EvidenceMissing(sha256) from None


class EvidenceUnavailable(RuntimeError):
    """The store could not keep or give the bytes now (a disk or bucket error); nothing was stored."""
