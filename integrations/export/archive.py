"""Signed archives for cold storage: files, a manifest of their sha256, and an Ed25519 signature.

A folder holds ``incidents.json`` (incidents with alerts, step runs and actions), ``audit.jsonl``
(the audit rows that cover them, see ``incidents.archive``), ``manifest.json`` (format, time, the
incident ids, each file's sha256 and size, the audit span and the chain's head hash at export,
the signer's public key) and ``manifest.sig`` (the base64 Ed25519 signature of ``manifest.json``).
The key is a PEM Ed25519 private key (``openssl genpkey -algorithm ed25519 -out archive-key.pem``);
anyone with the public key (or its fingerprint, printed at export) can check an archive later.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from incidents.archive import ArchiveContent, verify_exported_audit

FORMAT = "wareroom-archive/1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"


class ArchiveKeyError(ValueError):
    """The signing key cannot be used; the message says why and how to make one (both languages)."""


@dataclass(frozen=True, slots=True)
class Written:
    folder: Path
    incidents: int
    audit_rows: int
    fingerprint: str


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a PEM Ed25519 private key; ArchiveKeyError with a plain message otherwise."""
    hint = "openssl genpkey -algorithm ed25519 -out archive-key.pem"
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ArchiveKeyError(f"{path}: 无法读取签名私钥 / cannot read the signing key ({exc}); "
                              f"create one with: {hint}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ArchiveKeyError(f"{path}: 签名私钥须为 Ed25519 / the signing key must be Ed25519; "
                              f"create one with: {hint}")
    return key


def fingerprint(public: Ed25519PublicKey) -> str:
    """sha256 of the raw public key, hex: what a site records to recognise its archives."""
    return hashlib.sha256(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).hexdigest()


def write_archive(content: ArchiveContent, folder: Path, *, key: Ed25519PrivateKey, now: datetime) -> Written:
    """Write the archive into ``folder`` (created; must be empty) and sign its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise FileExistsError(f"{folder}: 目录不为空 / the folder is not empty; archives are never overwritten")
    files = {
        "incidents.json": json.dumps(content.incidents, ensure_ascii=False, indent=1, sort_keys=True).encode(),
        "audit.jsonl": b"".join(json.dumps(row, ensure_ascii=False, sort_keys=True).encode() + b"\n"
                                for row in content.audit),
    }
    for name, body in files.items():
        (folder / name).write_bytes(body)
    public = key.public_key()
    manifest: dict[str, Any] = {
        "format": FORMAT, "created_at": now.isoformat(), "incidents": [row["id"] for row in content.incidents],
        "files": {name: {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
                  for name, body in files.items()},
        "audit": {"rows": len(content.audit), "first_id": content.audit[0]["id"] if content.audit else None,
                  "last_id": content.audit[-1]["id"] if content.audit else None, "chain_head": content.chain_head},
        "public_key": base64.b64encode(public.public_bytes(serialization.Encoding.Raw,
                                                           serialization.PublicFormat.Raw)).decode(),
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
    (folder / MANIFEST).write_bytes(body)
    (folder / SIGNATURE).write_bytes(base64.b64encode(key.sign(body)) + b"\n")
    return Written(folder, len(content.incidents), len(content.audit), fingerprint(public))


def verify_archive(folder: Path, *, expected_fingerprint: str | None = None) -> list[str]:
    """Every problem found in an archive (empty: intact): signature, key, file hashes, audit rows."""
    try:
        body = (folder / MANIFEST).read_bytes()
        signature = base64.b64decode((folder / SIGNATURE).read_bytes())
        manifest = json.loads(body)
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(manifest["public_key"]))
    except (OSError, ValueError, KeyError) as exc:
        return [f"{folder}: not a readable archive: {exc}"]
    problems = []
    try:
        public.verify(signature, body)
    except InvalidSignature:
        problems.append(f"{MANIFEST}: the signature does not match (the manifest was changed)")
    if expected_fingerprint and fingerprint(public) != expected_fingerprint.lower():
        problems.append(f"{MANIFEST}: signed by key {fingerprint(public)}, not the expected {expected_fingerprint}")
    for name, meta in manifest.get("files", {}).items():
        try:
            digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        except OSError as exc:
            problems.append(f"{name}: missing ({exc})")
            continue
        if digest != meta["sha256"]:
            problems.append(f"{name}: its sha256 is not the one in the manifest (the file was changed)")
    if not problems:
        rows = [json.loads(line) for line in (folder / "audit.jsonl").read_text(encoding="utf-8").splitlines() if line]
        report = verify_exported_audit(rows)
        if not report.ok:
            problems.append(f"audit.jsonl: {report.problem}")
    return problems
