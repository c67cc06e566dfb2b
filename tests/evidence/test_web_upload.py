"""A photo uploaded from the web app completes its step through the real app; bad uploads are refused."""

from pathlib import Path

import pytest

from incidents.database import Database
from tests.e2e.server import act_as, app_settings, running, wait_for
from tests.evidence.pictures import big_jpeg, camera_jpeg, pdf_named_jpg
from tests.evidence.support import (
    assert_refused_and_open,
    assert_review_html_shows,
    assert_review_pdf_shows,
    assert_step_has_one_photo,
    stored_files,
)
from tests.factories import seed_people

pytestmark = pytest.mark.mosquitto  # the app connects to the real broker
LIMIT = 1_000_000


def test_a_photo_uploaded_from_the_web_app_completes_the_step_and_shows_in_the_review(
        tmp_path: Path, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    seed_people(database)
    evidence = tmp_path / "evidence"
    settings = app_settings(tmp_path, sqlite_url, evidence_dir=evidence, evidence_max_bytes=LIMIT)
    wang = act_as(sqlite_url, "wangwei")
    with running(settings) as http:
        declared = http.post("/api/v1/commands", json={"text": "/incident misship B2"}, headers=wang).json()
        assert declared["ok"], declared
        [incident] = http.get("/api/v1/incidents").json()
        incident_id = incident["id"]
        url = f"/api/v1/incidents/{incident_id}/steps/contain/photo"

        typed = http.post("/api/v1/commands", json={"text": "/done contain not-a-photo-just-text",
                                                    "incident_id": incident_id}, headers=wang).json()
        assert not typed["ok"]
        assert_refused_and_open(typed["text"], "需要照片", "needs a photo")
        renamed = http.post(url, files={"file": ("hold.jpg", pdf_named_jpg(), "image/jpeg")}, headers=wang)
        assert renamed.status_code == 422
        assert_refused_and_open(renamed.json()["text"], "不是可识别的图片", "not a picture")
        oversize = http.post(url, files={"file": ("big.jpg", big_jpeg(LIMIT + 1), "image/jpeg")}, headers=wang)
        assert oversize.status_code == 413
        assert_refused_and_open(oversize.json()["text"], "照片过大", "too large")
        anonymous = http.post(url, files={"file": ("hold.jpg", camera_jpeg(), "image/jpeg")},
                              headers={"Authorization": ""})
        assert anonymous.status_code == 401
        assert stored_files(evidence) == []
        assert "contain" in http.get(f"/api/v1/incidents/{incident_id}").json()["current_steps"]

        sent = http.post(url, files={"file": ("IMG_0001.jpg", camera_jpeg(), "image/jpeg")}, headers=wang)
        assert sent.status_code == 200, sent.text
        assert sent.json()["text"].startswith("王伟 Wang Wei")
        shown = wait_for(lambda: next((m for m in http.get(f"/webchat/incidents/{incident_id}/messages").json()
                                       if "Photo kept as evidence" in str(m)), None))
        link = str(shown).split("/api/v1/evidence/")[1][:64]
        assert http.get(f"/api/v1/evidence/{link}", params={"size": "thumb"}).status_code == 200
        assert "contain" not in http.get(f"/api/v1/incidents/{incident_id}").json()["current_steps"]
        again = http.post(url, files={"file": ("IMG_0002.jpg", camera_jpeg(colour="red"), "image/jpeg")},
                          headers=wang)
        assert again.status_code == 422  # the step is done: nothing more is stored for it
        sha = assert_step_has_one_photo(database, evidence, incident_id=incident_id, step_id="contain",
                                        platform="api")

        full = http.get(f"/api/v1/evidence/{sha}")
        assert full.status_code == 200 and full.headers["content-type"] == "image/jpeg"
        assert full.content == stored_files(evidence)[0].read_bytes()
        thumb = http.get(f"/api/v1/evidence/{sha}", params={"size": "thumb"})
        assert thumb.status_code == 200 and len(thumb.content) < len(full.content)
        assert http.get(f"/api/v1/evidence/{'0' * 64}").status_code == 404
        assert http.get(f"/api/v1/evidence/{sha}", headers={"Authorization": ""}).status_code == 401

        html = http.get(f"/api/v1/incidents/{incident_id}/review.html")
        assert_review_html_shows(html.text, sha, (800, 600))
        pdf = http.get(f"/api/v1/incidents/{incident_id}/review.pdf")
        assert_review_pdf_shows(pdf.content, (800, 600))
    database.dispose()
