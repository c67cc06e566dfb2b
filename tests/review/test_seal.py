"""The seal: a site certificate from a PKCS#12 file, or the generated one kept and reused."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from integrations.export.seal import SealUnavailable, check_seal, load_seal, seal_pdf


def _site_p12(path: Path, password: bytes) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SH-01 Quality")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"site", key, cert, None,
                                                          serialization.BestAvailableEncryption(password)))


def test_the_site_certificate_seals_and_a_wrong_password_or_file_is_refused(tmp_path: Path) -> None:
    from weasyprint import HTML

    p12 = tmp_path / "site.p12"
    _site_p12(p12, b"s3cret")
    seal = load_seal(p12=p12, password="s3cret", var_dir=tmp_path, site="SH-01")
    assert (seal.subject, seal.self_signed) == ("Common Name: SH-01 Quality", False)
    sealed = seal_pdf(HTML(string="<p>review</p>").write_pdf(), seal, reason="test")
    assert check_seal(sealed, trust=[seal.certificate]).intact
    assert not (tmp_path / "seal").exists()  # nothing generated when the site has its own
    with pytest.raises(SealUnavailable, match="password"):
        load_seal(p12=p12, password="wrong", var_dir=tmp_path, site="SH-01")
    with pytest.raises(SealUnavailable, match="no such certificate file"):
        load_seal(p12=tmp_path / "missing.p12", password=None, var_dir=tmp_path, site="SH-01")


def test_the_generated_seal_is_kept_and_reused(tmp_path: Path) -> None:
    first = load_seal(p12=None, password=None, var_dir=tmp_path, site="SH-01")
    again = load_seal(p12=None, password=None, var_dir=tmp_path, site="SH-01")
    assert first.self_signed and first.fingerprint == again.fingerprint
    assert (tmp_path / "seal" / "review-seal.key.pem").stat().st_mode & 0o777 == 0o600
    assert check_seal(b"not a pdf", trust=[first.certificate]).problem is not None
