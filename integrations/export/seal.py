"""The digital seal of review PDFs (pyHanko, PAdES baseline B-B), and its verification.

The site's certificate and key come from a PKCS#12 file (``WAREROOM_REVIEW_SEAL_P12``); without one, a
self-signed certificate is generated once and kept under the var directory, so every review of a site
is sealed by the same key. Any PDF reader then shows whether the file changed since it was sealed; a
self-signed seal is shown as intact but of unknown identity until the reader trusts its certificate.
"""

import hashlib
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext

FIELD_NAME = "WareRoomReviewSeal"
KEY_FILE = "review-seal.key.pem"
CERT_FILE = "review-seal.cert.pem"
SELF_SIGNED_YEARS = 10


class SealUnavailable(Exception):
    """The configured certificate cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class Seal:
    """A loaded signing key and certificate; ``fingerprint`` is the certificate's SHA-256, hex with colons."""

    signer: signers.SimpleSigner
    certificate: asn1_x509.Certificate
    subject: str
    fingerprint: str
    self_signed: bool
    location: str


def _fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def load_seal(*, p12: Path | None, password: str | None, var_dir: Path, site: str) -> Seal:
    """The site's seal from ``p12``, or the self-signed one under ``var_dir/seal`` (created on first use).

    Raises SealUnavailable when the PKCS#12 file is missing or cannot be opened with the password.
    """
    if p12 is not None:
        if not p12.is_file():
            raise SealUnavailable(f"{p12}: no such certificate file (WAREROOM_REVIEW_SEAL_P12)")
        try:
            signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=password.encode() if password else None)
        except (OSError, ValueError) as exc:
            raise SealUnavailable(f"{p12}: cannot open it with the configured password: {exc}") from exc
        if signer is None:
            raise SealUnavailable(f"{p12}: cannot open it with the configured password")
        self_signed = False
    else:
        folder = var_dir / "seal"
        if not (folder / KEY_FILE).is_file() or not (folder / CERT_FILE).is_file():
            _make_self_signed(folder, site)
        loaded = signers.SimpleSigner.load(str(folder / KEY_FILE), str(folder / CERT_FILE))
        if loaded is None:
            raise SealUnavailable(f"{folder}: the generated seal cannot be read; delete the folder to make a new one")
        signer, self_signed = loaded, True
    certificate = signer.signing_cert
    assert certificate is not None
    return Seal(signer, certificate, certificate.subject.human_friendly, _fingerprint(certificate.dump()),
                self_signed, site)


def _make_self_signed(folder: Path, site: str) -> None:
    """An EC P-256 key and a self-signed certificate for sealing (digital signature, non-repudiation)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"WareRoom review seal {site}"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "WareRoom")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * SELF_SIGNED_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_cert_sign=True,
                                     crl_sign=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path = folder / KEY_FILE
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    (folder / CERT_FILE).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def seal_pdf(pdf: bytes, seal: Seal, *, reason: str) -> bytes:
    """The PDF with an invisible PAdES signature over the whole file, added as an incremental update (so a
    PDF/A file stays PDF/A: the widget is printable and zero-sized, the XMP is updated with the Info)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    metadata = signers.PdfSignatureMetadata(field_name=FIELD_NAME, reason=reason, location=seal.location,
                                            md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES)
    out: io.BytesIO = signers.sign_pdf(writer, metadata, signer=seal.signer)
    return out.getvalue()


@dataclass(frozen=True)
class SealCheck:
    """What a reader's signature panel would say: intact (not changed since sealing), valid (the
    cryptography holds), trusted (the certificate chains to ``trust``), and whether it covers the file."""

    found: bool
    intact: bool
    valid: bool
    trusted: bool
    whole_file: bool
    signer: str | None
    signed_at: datetime | None
    problem: str | None


def check_seal(pdf: bytes, *, trust: list[asn1_x509.Certificate]) -> SealCheck:
    """Validate the PDF's signatures with pyHanko against ``trust`` (offline: no fetching)."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        signatures = reader.embedded_signatures
    except Exception as exc:
        return SealCheck(False, False, False, False, False, None, None, f"not a readable PDF: {exc}")
    if not signatures:
        return SealCheck(False, False, False, False, False, None, None, "the file carries no signature")
    context = ValidationContext(trust_roots=trust, allow_fetching=False)
    try:
        status = validate_pdf_signature(signatures[-1], context)
    except SignatureValidationError as exc:
        return SealCheck(True, False, False, False, False, None, None, str(exc))
    whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    return SealCheck(True, status.intact, status.valid, status.trusted, whole,
                     status.signing_cert.subject.human_friendly if status.signing_cert else None,
                     status.signer_reported_dt, None if status.bottom_line else status.summary())
