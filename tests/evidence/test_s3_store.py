"""Evidence in an S3-compatible bucket: boto3 against moto's S3 served over real HTTP on loopback."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlmodel import select

from bot.evidence import evidence_store
from handlers.ports import Download, PhotoSent, UserRef
from incidents.clock import utcnow
from incidents.database import Database
from incidents.evidence.images import EvidencePolicy, check_image
from incidents.evidence.records import EvidenceFile
from incidents.evidence.store import EvidenceMissing, EvidenceUnavailable
from integrations.evidence_s3 import S3Store
from tests.e2e.server import app_settings, free_port
from tests.evidence.pictures import camera_jpeg
from tests.evidence.support import (
    assert_review_html_shows,
    assert_review_pdf_shows,
    declare_misshipment,
    review_documents,
)
from tests.factories import make_core, seed_people


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _store(endpoint: str, bucket: str) -> S3Store:
    return S3Store(endpoint=endpoint, bucket=bucket, access_key="minio", secret_key="minio-secret",
                   region="us-east-1", timeout=2.0)


def test_a_picture_is_kept_once_under_its_hash_and_read_back(endpoint: str) -> None:
    store = _store(endpoint, "evidence-once")
    checked = check_image(camera_jpeg(), EvidencePolicy())
    store.put(checked.sha256, checked.data, checked.media_type)
    store.put(checked.sha256, checked.data, checked.media_type)
    assert store.get(checked.sha256) == checked.data
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="minio", aws_secret_access_key="minio-secret",
                      region_name="us-east-1")
    [listed] = s3.list_objects_v2(Bucket="evidence-once")["Contents"]
    head = s3.head_object(Bucket="evidence-once", Key=listed["Key"])
    assert listed["Key"] == f"{checked.sha256[:2]}/{checked.sha256}"
    assert (head["ContentType"], head["Metadata"]["sha256"]) == ("image/jpeg", checked.sha256)
    assert hashlib.sha256(store.get(checked.sha256)).hexdigest() == checked.sha256
    with pytest.raises(EvidenceMissing):
        store.get("0" * 64)


def test_an_unreachable_bucket_is_unavailable_not_a_crash() -> None:
    store = _store(f"http://127.0.0.1:{free_port()}", "nowhere")  # nothing listens there
    checked = check_image(camera_jpeg(), EvidencePolicy())
    with pytest.raises(EvidenceUnavailable):
        store.put(checked.sha256, checked.data, checked.media_type)
    with pytest.raises(EvidenceUnavailable):
        store.get(checked.sha256)


def test_settings_choose_the_bucket_when_an_endpoint_is_set(endpoint: str, tmp_path: Path, sqlite_url: str) -> None:
    local = evidence_store(app_settings(tmp_path, sqlite_url))
    assert getattr(local, "root", None) == tmp_path / "var" / "evidence"
    bucket = evidence_store(app_settings(tmp_path, sqlite_url, evidence_s3_endpoint=endpoint,
                                         evidence_s3_bucket="site-evidence", evidence_s3_access_key="minio",
                                         evidence_s3_secret_key="minio-secret"))
    assert isinstance(bucket, S3Store) and bucket.bucket == "site-evidence"
    bucket.put("a" * 64, b"x", "image/jpeg")
    assert bucket.get("a" * 64) == b"x"


def test_a_photo_step_done_with_the_bucket_as_store_shows_in_the_review(endpoint: str, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    seed_people(database)
    store = _store(endpoint, "evidence-flow")
    core = make_core(database, evidence=store)
    incident_id = declare_misshipment(core)
    done = core.router.handle(PhotoSent(platform="webchat", dedupe_key="s3-1", actor=UserRef("webchat", "wangwei"),
                                        thread=None, received_at=utcnow(), incident_id=incident_id,
                                        download=Download(camera_jpeg(), "hold.jpg")))
    assert done.ok, done.text
    with database.reader() as session:
        [row] = session.exec(select(EvidenceFile)).all()
    assert hashlib.sha256(store.get(row.sha256)).hexdigest() == row.sha256
    html, pdf = review_documents(database, store, incident_id)
    assert_review_html_shows(html, row.sha256, (800, 600))
    assert_review_pdf_shows(pdf, (800, 600))
    database.dispose()
