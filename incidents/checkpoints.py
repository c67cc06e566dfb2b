"""Signed checkpoints of the audit chain: an anchor outside the database.

Every interval and at shutdown the head of the chain (row id, hash, row count, time) is signed with
an Ed25519 key kept in a file (never in the database) and written both to the ``auditcheckpoint``
table and to an append-only JSON-lines file outside it. Someone with database access can rewrite the
chain and its hashes, but cannot sign: ``verify`` compares the chain with the latest checkpoint of
the file and names a truncated tail, a rewritten chain and a removed checkpoint.
"""

import base64
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Column, Text, func, text
from sqlmodel import Field, Session, SQLModel, col, select

from incidents import audit
from incidents.clock import as_utc
from incidents.tables import AuditEvent

log = logging.getLogger(__name__)


class AuditCheckpoint(SQLModel, table=True):
    """A signed statement of the chain's head at a moment; ``id`` is the checkpoint's sequence number."""

    id: int | None = Field(default=None, primary_key=True)
    row_id: int
    row_hash: str
    count: int
    at: datetime
    key_id: str
    signature: str = Field(sa_column=Column(Text, nullable=False))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What is signed, and the signature (base64 of Ed25519 over ``payload()``)."""

    seq: int
    row_id: int
    row_hash: str
    count: int
    at: str  # ISO 8601, UTC
    key_id: str
    signature: str = ""

    def payload(self) -> bytes:
        """The canonical bytes that are signed: every field but the signature."""
        body = {k: v for k, v in asdict(self).items() if k != "signature"}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def line(self) -> str:
        """One line of the checkpoint file."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    def describe(self) -> str:
        return f"checkpoint #{self.seq} of {self.at} (row {self.row_id}, {self.count} rows)"


def key_id(public: Ed25519PublicKey) -> str:
    """First 16 hex digits of sha256 of the raw public key: names the key in every checkpoint."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_or_create_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The signing key in ``path`` (PEM, PKCS#8); generated with mode 0600 when missing. Returns (key, created).

    The public key is written beside it as ``<path>.pub`` for inspectors.
    """
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return loaded, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path(path).write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, True


def public_path(key_path: Path) -> Path:
    """Where the public half of a signing key is kept."""
    return key_path.with_name(key_path.name + ".pub")


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file, or the public half of a private key file."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 key")
        return private.public_key()
    public = serialization.load_pem_public_key(data)
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return public


def _head(session: Session) -> tuple[int, str, int]:
    """(last row id, its hash, number of rows); (0, GENESIS, 0) for an empty chain."""
    last = session.exec(select(AuditEvent.id, AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    count = session.exec(select(func.count()).select_from(AuditEvent)).one()
    if last is None or last[0] is None:
        return 0, audit.GENESIS, 0
    return last[0], last[1], int(count)


def make(session: Session, *, key: Ed25519PrivateKey, now: datetime) -> Checkpoint:
    """Sign the chain's head and store the checkpoint in the database (the caller appends it to the file)."""
    if session.get_bind().dialect.name == "postgresql":  # the head must not move while it is read
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": audit.CHAIN_LOCK_KEY})
    row_id, row_hash, count = _head(session)
    row = AuditCheckpoint(row_id=row_id, row_hash=row_hash, count=count, at=now, key_id=key_id(key.public_key()),
                          signature="")
    session.add(row)
    session.flush()
    assert row.id is not None
    unsigned = Checkpoint(row.id, row_id, row_hash, count, now.isoformat(), row.key_id)
    signed = Checkpoint(**{**asdict(unsigned), "signature": base64.b64encode(key.sign(unsigned.payload())).decode()})
    row.signature = signed.signature
    session.add(row)
    return signed


def append(path: Path, checkpoint: Checkpoint) -> None:
    """Append one checkpoint to the file and flush it to disk (the file is only ever appended to)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(checkpoint.line() + "\n")
        out.flush()
        os.fsync(out.fileno())


@dataclass
class FileRead:
    checkpoints: list[Checkpoint] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def read(path: Path) -> FileRead:
    """Every checkpoint in a file (JSON lines); lines that are not checkpoints are listed, not fatal."""
    found = FileRead()
    if not path.exists():
        return found
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.checkpoints.append(Checkpoint(**json.loads(line)))
        except (ValueError, TypeError):
            found.unreadable.append(f"{path}:{number}: not a checkpoint")
    return found


def signed_by(checkpoint: Checkpoint, public: Ed25519PublicKey) -> bool:
    """True when the checkpoint's signature verifies with ``public``."""
    try:
        public.verify(base64.b64decode(checkpoint.signature), checkpoint.payload())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking the chain against the checkpoints: every problem named, or none."""

    checked: int
    problems: tuple[str, ...]
    latest: Checkpoint | None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, *, checkpoints: Sequence[Checkpoint], public: Ed25519PublicKey,
           full: bool = True) -> Verdict:
    """Check the chain's links (the whole chain when ``full``, else from the latest checkpoint on) and
    the chain against the latest checkpoint that carries a valid signature.

    Names: an altered or removed row (the links), a truncated tail (the signed row or rows are gone), a
    rewritten chain (the signed row's hash differs), a removed checkpoint (signed in the file, missing
    from the database) and a checkpoint whose signature does not verify (file or database).
    """
    problems: list[str] = []
    valid = []
    for checkpoint in checkpoints:
        if signed_by(checkpoint, public):
            valid.append(checkpoint)
        else:
            problems.append(f"forged checkpoint: the signature of {checkpoint.describe()} in the file does not "
                            "verify with the audit key")
    latest = max(valid, key=lambda c: c.seq, default=None)
    stored = {row.id: row for row in session.exec(select(AuditCheckpoint))}
    for checkpoint in valid:
        row = stored.get(checkpoint.seq)
        if row is None or row.signature != checkpoint.signature:
            problems.append(f"removed checkpoint: {checkpoint.describe()} is in the checkpoint file but not in "
                            "the database")
    for row in stored.values():
        assert row.id is not None
        as_signed = Checkpoint(row.id, row.row_id, row.row_hash, row.count, _iso(row.at), row.key_id, row.signature)
        if row.key_id == key_id(public) and not signed_by(as_signed, public):
            problems.append(f"forged checkpoint: {as_signed.describe()} in the database does not verify")
    checked = 0
    if full or latest is None:
        chain = audit.verify_chain(session)
        checked = chain.checked
        if not chain.ok:
            problems.append(f"altered chain: {chain.problem}")
    if latest is not None:
        problems.extend(_against(session, latest))
        if not full:
            tail = audit.verify_rows(session.execute(audit.chain_rows(latest.row_id)), start=latest.row_hash)
            checked = tail.checked
            if not tail.ok:
                problems.append(f"altered chain: {tail.problem}")
    return Verdict(checked, tuple(problems), latest)


def _iso(moment: datetime) -> str:
    return as_utc(moment).isoformat()


def _against(session: Session, checkpoint: Checkpoint) -> list[str]:
    if checkpoint.row_id == 0:
        return []
    row = session.get(AuditEvent, checkpoint.row_id)
    last_id, _, total = _head(session)
    if row is None:
        return [f"truncated tail: {checkpoint.describe()} signs row {checkpoint.row_id}, but the chain now ends "
                f"at row {last_id} with {total} rows: rows were removed from its end"]
    count = session.exec(select(func.count()).select_from(AuditEvent)
                         .where(col(AuditEvent.id) <= checkpoint.row_id)).one()
    if row.hash != checkpoint.row_hash:
        return [f"rewritten chain: row {checkpoint.row_id} now hashes to {row.hash[:12]}…, but {checkpoint.describe()} "
                f"signed {checkpoint.row_hash[:12]}…: the chain was rewritten up to that row"]
    if count != checkpoint.count:
        return [f"rows removed or added: {checkpoint.describe()} counted {checkpoint.count} rows up to row "
                f"{checkpoint.row_id}, the database now holds {count}"]
    return []
