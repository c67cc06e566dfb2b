"""What the photo tests check on every platform: one stored file, its hash in the step's audit row, and the
picture in the review's HTML and PDF."""

import base64
import hashlib
import io
import re
from pathlib import Path
from typing import Any

from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlmodel import col, select

from handlers.review import ReviewSetup, build_review
from incidents import directory
from incidents.clock import utcnow
from incidents.database import Database
from incidents.evidence.images import GPS_IFD
from incidents.evidence.records import EvidenceFile
from incidents.evidence.store import EvidenceStore
from incidents.tables import AuditEvent, Incident
from integrations.export.pdfa import check_pdfa
from integrations.export.pictures import load_pictures
from integrations.export.render import render_html, render_pdf
from tests.factories import LIBRARY, Core

DATA_URI = re.compile(r'src="data:(image/[a-z]+);base64,([A-Za-z0-9+/=]+)"')


def stored_files(root: Path) -> list[Path]:
    """Every file under the evidence directory (a partial write would show here too)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_step_has_one_photo(db: Database, root: Path, *, incident_id: int, step_id: str, platform: str) -> str:
    """The step is done with exactly one stored picture, named and audited by its sha256; returns the hash."""
    [path] = stored_files(root)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.name == sha
    assert GPS_IFD not in Image.open(path).getexif()  # the site does not keep locations
    with db.reader() as session:
        done = session.exec(select(AuditEvent).where(AuditEvent.incident_id == incident_id,
                                                     AuditEvent.action == "step.done",
                                                     AuditEvent.object_id == step_id)).all()
        stored = session.exec(select(AuditEvent).where(AuditEvent.action == "evidence.stored")).all()
        [row] = session.exec(select(EvidenceFile).order_by(col(EvidenceFile.id))).all()
    assert [d.after for d in done] == [{"status": "done", "answer": [f"sha256:{sha}"]}]
    assert [(s.object_id, s.after["sha256"] if s.after else None, s.platform) for s in stored] == [
        (step_id, sha, platform)]
    assert (row.sha256, row.incident_id, row.step_id, row.platform) == (sha, incident_id, step_id, platform)
    return sha


def assert_refused_and_open(reply_text: str, *expected: str) -> None:
    """A refusal in both languages: the Chinese line first, the English line second, each saying ``expected``."""
    zh, en = reply_text.split("\n")[:2]
    assert all(word in reply_text for word in expected), reply_text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii(), reply_text


def assert_review_html_shows(html: str, sha: str, size: tuple[int, int]) -> None:
    """The HTML review names the hash, says it matches, and embeds the picture itself."""
    assert f"sha256 {sha}" in html and "hash matches" in html
    pictures = [Image.open(io.BytesIO(base64.b64decode(data))) for _, data in DATA_URI.findall(html)]
    assert size in [p.size for p in pictures]


def pdf_images(pdf: bytes) -> list[tuple[int, int, str]]:
    """``(width, height, filter)`` of every image XObject on the PDF's pages (forms followed)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    found: list[tuple[int, int, str]] = []
    seen: set[int] = set()

    def walk(resources: Any) -> None:
        resources = _deref(resources)
        xobjects: Any = _deref(resources.get("/XObject")) if resources is not None else {}
        for name in xobjects or {}:
            target = _deref(xobjects[name])
            if id(target) in seen:
                continue
            seen.add(id(target))
            if target.get("/Subtype") == "/Image":
                found.append((int(target["/Width"]), int(target["/Height"]), str(target.get("/Filter"))))
            elif target.get("/Subtype") == "/Form":
                walk(target.get("/Resources"))

    for page_number in range(int(_deref(reader.root["/Pages"])["/Count"])):
        page, _ = reader.find_page_for_modification(page_number)  # type: ignore[no-untyped-call]
        walk(_deref(page).get("/Resources"))
    return found


def _deref(value: Any) -> Any:
    return value.get_object() if isinstance(value, generic.IndirectObject) else value  # type: ignore[no-untyped-call]


def assert_review_pdf_shows(pdf: bytes, size: tuple[int, int]) -> None:
    """The PDF stays PDF/A-2b and embeds the picture as an RGB JPEG of its size."""
    assert check_pdfa(pdf) == []
    assert (*size, "/DCTDecode") in pdf_images(pdf)


def declare_misshipment(core: Core) -> int:
    """Wang Wei (SL) declares a mis-shipment in zone B2; its step ``contain`` asks for a photo of held parcels."""
    with core.ctx.db.reader() as session:
        wang = directory.resolve(session, platform="webchat", platform_user_id="wangwei")
    assert wang is not None
    declared = core.flow.declare(playbook_id="mis-shipment", zone="B2", note="", actor=wang, dedupe_key=None)
    assert declared.ok, declared.text
    with core.ctx.db.reader() as session:
        [incident_id] = session.exec(select(Incident.id)).all()
    assert incident_id is not None and "contain" in core.playbooks.current_ids(_incident(core, incident_id))
    return incident_id


def _incident(core: Core, incident_id: int) -> Incident:
    with core.ctx.db.reader() as session:
        found = session.get(Incident, incident_id)
    assert found is not None
    return found


def contain_is_open(core: Core, incident_id: int) -> bool:
    """True while the photo step is still a current step."""
    return "contain" in core.playbooks.current_ids(_incident(core, incident_id))


def review_documents(db: Database, store: EvidenceStore, incident_id: int) -> tuple[str, bytes]:
    """The incident's review as HTML and as PDF/A-2b, with the pictures of ``store``."""
    with db.reader() as session:
        review = build_review(session, incident_id=incident_id, setup=ReviewSetup(LIBRARY, "Asia/Shanghai"),
                              now=utcnow())
    html = render_html(review, pictures=load_pictures(review, store, for_print=False))
    pdf = render_pdf(review, pictures=load_pictures(review, store, for_print=True))
    return html, pdf
