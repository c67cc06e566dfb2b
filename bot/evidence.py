"""Photo evidence wired from settings: the store (a local directory, or an S3-compatible bucket) and the policy."""

from bot.settings import Settings
from incidents.evidence.images import EvidencePolicy
from incidents.evidence.store import EvidenceStore, LocalStore


def evidence_store(settings: Settings) -> EvidenceStore:
    """The bucket when ``WAREROOM_EVIDENCE_S3_ENDPOINT`` is set, else ``WAREROOM_EVIDENCE_DIR`` (var_dir/evidence)."""
    if settings.evidence_s3_endpoint:
        from integrations.evidence_s3 import S3Store  # boto3 loads only where a bucket is used

        secret = settings.evidence_s3_secret_key.get_secret_value() if settings.evidence_s3_secret_key else ""
        return S3Store(endpoint=settings.evidence_s3_endpoint, bucket=settings.evidence_s3_bucket,
                       access_key=settings.evidence_s3_access_key, secret_key=secret,
                       region=settings.evidence_s3_region)
    return LocalStore(settings.evidence_dir or settings.var_dir / "evidence")


def evidence_policy(settings: Settings) -> EvidencePolicy:
    """The size and pixel limits and the location setting of this site."""
    return EvidencePolicy(max_bytes=settings.evidence_max_bytes, max_pixels=settings.evidence_max_pixels,
                          keep_location=settings.evidence_keep_location)
