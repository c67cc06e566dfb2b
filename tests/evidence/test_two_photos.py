"""A step that asks for two photos keeps the first, asks for the next, refuses the same one twice, and is done with
both hashes in its audit row."""

from pathlib import Path

from sqlmodel import col, select

from handlers.ports import Download, PhotoSent, Reply, UserRef
from incidents import directory
from incidents.clock import utcnow
from incidents.database import Database
from incidents.evidence.records import EvidenceFile
from incidents.evidence.store import LocalStore
from incidents.tables import AuditEvent
from playbooks.loader import load_library
from tests.evidence.pictures import camera_jpeg
from tests.evidence.support import stored_files
from tests.factories import Core, make_core, seed_people

PLAYBOOK = """\
apiVersion: playbook.warehouse/v1
id: dock-damage
version: 1
title: {zh: "到货破损", en: "Damaged delivery"}
severity: SEV3
owner: WM
triggers:
  commands: [damage]
roles: [SL, WM]
steps:
  - id: photograph
    title: {zh: "拍摄破损货物", en: "Photograph the damage"}
    site_rule: true
    role: SL
    input:
      type: photo
      id: damage_photos
      min_count: 2
      label: {zh: "破损照片", en: "Damage photos"}
  - id: report
    title: {zh: "通知承运商", en: "Tell the carrier"}
    site_rule: true
    role: SL
"""


def _send(core: Core, incident_id: int, key: str, picture: bytes) -> Reply:
    return core.router.handle(PhotoSent(platform="webchat", dedupe_key=key, actor=UserRef("webchat", "wangwei"),
                                        thread=None, received_at=utcnow(), incident_id=incident_id,
                                        download=Download(picture, f"{key}.jpg")))


def test_two_photos_are_needed_and_both_hashes_are_the_answer(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "dock-damage.yaml").write_text(PLAYBOOK, encoding="utf-8")
    database = Database(sqlite_url)
    seed_people(database)
    store = LocalStore(tmp_path / "evidence")
    core = make_core(database, evidence=store, library=load_library(tmp_path / "library"))
    with database.reader() as session:
        wang = directory.resolve(session, platform="webchat", platform_user_id="wangwei")
    assert wang is not None
    assert core.flow.declare(playbook_id="dock-damage", zone="R1", note="", actor=wang, dedupe_key=None).ok
    incident_id = 1

    first, second = camera_jpeg(colour="#884422"), camera_jpeg(colour="#224488")
    kept = _send(core, incident_id, "p1", first)
    assert kept.ok and kept.text.endswith("Photo 1 of 2 kept for this step; send the next one.")
    again = _send(core, incident_id, "p2", first)
    assert not again.ok and "already kept" in again.text
    with database.reader() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "step.done")).all() == []
    done = _send(core, incident_id, "p3", second)
    assert done.ok and done.text.startswith("王伟 Wang Wei"), done.text
    assert len(stored_files(store.root)) == 2
    with database.reader() as session:
        rows = session.exec(select(EvidenceFile).order_by(col(EvidenceFile.id))).all()
        [step_done] = session.exec(select(AuditEvent).where(AuditEvent.action == "step.done",
                                                            AuditEvent.object_id == "photograph")).all()
    assert [r.used for r in rows] == [True, True]
    assert step_done.after == {"status": "done", "answer": [f"sha256:{r.sha256}" for r in rows]}
    database.dispose()
