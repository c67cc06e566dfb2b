"""A picture sent for a step: checked, kept by its sha256, then the step is done with the hash as its answer.

Order matters for "nothing half-stored": the step is found first, the picture is checked, written whole to
the evidence store (idempotent: the same bytes twice are one file), and only then is the step completed,
with the ``EvidenceFile`` row and both audit rows in the step's own transaction. Every refusal is audited
(``evidence.refused``) and answered in both languages; the step stays open.
"""

import logging
from collections.abc import Mapping

from handlers.context import CoreContext
from handlers.playbook_flow import PlaybookFlow
from handlers.ports import PhotoSent, Reply
from handlers.text import say
from incidents import audit
from incidents.actors import Actor
from incidents.evidence import records
from incidents.evidence.images import CheckedImage, EvidencePolicy, EvidenceRefused, check_image, size_words
from incidents.evidence.store import EvidenceStore, EvidenceUnavailable

log = logging.getLogger(__name__)


class EvidenceFlow:
    """Takes the pictures of every platform and the web upload through one path."""

    def __init__(self, ctx: CoreContext, playbooks: PlaybookFlow, store: EvidenceStore, policy: EvidencePolicy) -> None:
        self.ctx = ctx
        self.playbooks = playbooks
        self.store = store
        self.policy = policy

    def receive(self, actor: Actor, event: PhotoSent) -> Reply:
        """Complete the step the picture is for, or refuse it (audited) with the reason in both languages."""
        if event.incident_id is None:
            return Reply(say("no_incident"), ok=False)
        target = self.playbooks.photo_step(event.incident_id, event.step_id or _named(event.caption), actor,
                                           strict=event.step_id is not None)
        if target is None:
            return self._refused(actor, event, "photo_no_step")
        got = event.download
        if got.too_large is not None:
            sizes = size_words(got.too_large, self.policy)
            return self._refused(actor, event, "photo_too_large", step_id=target, values=sizes)
        if got.data is None:
            log.warning("photo from %s could not be downloaded: %s", event.platform, got.problem)
            return self._refused(actor, event, "photo_download_failed", step_id=target, detail=got.problem)
        try:
            image = check_image(got.data, self.policy)
        except EvidenceRefused as exc:
            return self._refused(actor, event, exc.key, step_id=target, values=exc.values)
        try:
            self.store.put(image.sha256, image.data, image.media_type)
        except EvidenceUnavailable as exc:
            log.error("photo for #%s %s could not be stored: %s", event.incident_id, target, exc)
            return self._refused(actor, event, "photo_store_failed", step_id=target, detail=str(exc))
        return self._complete_or_keep(actor, event, event.incident_id, target, image)

    def _complete_or_keep(self, actor: Actor, event: PhotoSent, incident_id: int, step_id: str,
                          image: CheckedImage) -> Reply:
        """Complete the step with this picture and those kept for it, or keep it while the step asks for more."""
        needed = self.playbooks.photos_needed(incident_id, step_id)
        with self.ctx.db.reader() as session:
            earlier = [row.sha256 for row in records.waiting(session, incident_id, step_id)]
        if image.sha256 in earlier:
            return self._refused(actor, event, "photo_again", step_id=step_id)
        if len(earlier) + 1 >= needed:
            return self.playbooks.complete(incident_id=incident_id, step_id=step_id, actor=actor,
                                           dedupe_key=event.dedupe_key, evidence=image, earlier=tuple(earlier))
        with self.ctx.db.unit_of_work() as session:
            records.record(session, image, incident_id=incident_id, step_id=step_id, actor=actor, now=self.ctx.now(),
                           used=False)
        return Reply(say("photo_more", have=len(earlier) + 1, needed=needed))

    def _refused(self, actor: Actor, event: PhotoSent, key: str, *, step_id: str | None = None,
                 detail: str = "", values: Mapping[str, object] | None = None) -> Reply:
        text = say(key, **(values or {}))
        with self.ctx.db.unit_of_work() as session:
            audit.record(session, action="evidence.refused", actor=actor, incident_id=event.incident_id,
                         object_type="step", object_id=step_id or event.step_id,
                         after={"problem": key, "bytes": len(got.data) if (got := event.download).data else None,
                                "filename": got.filename[:200], "detail": detail[:500] or None},
                         reason=text.replace("\n", " / "), at=self.ctx.now())
        return Reply(text, ok=False)



def _named(caption: str) -> str | None:
    """The first word of a caption, after a leading ``/done`` or ``完成`` (``/done doors-shut``), if any."""
    words = caption.replace("／", "/").split()
    if words and words[0].lstrip("/").split("@")[0].lower() in ("done", "完成"):
        words = words[1:]
    return words[0] if words else None
