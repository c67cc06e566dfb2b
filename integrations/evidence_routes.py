"""Photo evidence over HTTP: upload a picture for a step, and view stored pictures.

``POST /api/v1/incidents/{incident_id}/steps/{step_id}/photo`` (multipart/form-data, field ``file``) runs
through the same ``ChatRouter`` as every chat platform, so the permission to complete steps and the checks
of ``handlers.evidence_flow`` are the same; 200 when the step was completed, 422 when the picture or the
step refused it (the bilingual ``text`` says why), 413 when the body is larger than the size limit.
``GET /api/v1/evidence/{sha256}`` (``?size=thumb`` for a thumbnail) serves a picture that is evidence in
some incident to people who may read incidents.
"""

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.params import Path
from fastapi.responses import JSONResponse, Response

from handlers.commands import ChatRouter
from handlers.evidence_flow import EvidenceFlow
from handlers.ports import Download, PhotoSent, UserRef
from handlers.text import say
from incidents.clock import utcnow
from incidents.evidence import records
from incidents.evidence.images import thumbnail
from incidents.evidence.store import SHA256, EvidenceMissing, EvidenceUnavailable
from incidents.identity.tokens import Scope
from incidents.permissions import Permission
from integrations.api_types import IncidentId
from integrations.webauth.caller import Caller, Refused, WebAuth

StepId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Sha = Annotated[str, Path(min_length=64, max_length=64, pattern=SHA256.pattern)]
READ_CHUNK = 1024 * 1024


def build_router(router: ChatRouter, evidence: EvidenceFlow, auth: WebAuth) -> APIRouter:
    """The upload and the viewing routes; demo callers name their person with the ``user`` form field."""
    api = APIRouter(tags=["evidence"])
    acting = Depends(auth.needs(Scope.ACT, anonymous_in_demo=True))
    reading = Depends(auth.needs_permission(Scope.READ, Permission.READ, anonymous_in_demo=True))

    def sender(request: Request, caller: Caller, user: str | None) -> UserRef:
        if caller.actor is not None:
            if user is not None:
                auth.audit_refusal(request, f"photo upload named user {user!r} for a signed-in caller",
                                   actor=caller.actor)
                raise Refused(400, say("web_user_refused"))
            return UserRef(caller.actor.platform or "api", caller.actor.platform_user_id or "", caller.actor.name,
                           person_id=caller.actor.person_id)
        if not user:
            raise Refused(401, say("signin_needed"))
        return UserRef("webchat", user)

    async def read_capped(upload: UploadFile, limit: int) -> bytes | None:
        """The upload's bytes, or None as soon as it passes ``limit`` (the rest is not read)."""
        chunks, size = [], 0
        while chunk := await upload.read(READ_CHUNK):
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    @api.post("/api/v1/incidents/{incident_id}/steps/{step_id}/photo")
    async def upload(request: Request, incident_id: IncidentId, step_id: StepId, *,
                     file: Annotated[UploadFile, File(description="the picture (JPEG, PNG, WebP, GIF)")],
                     user: Annotated[str | None, Form(max_length=64)] = None,
                     event_id: Annotated[str | None, Form(max_length=64)] = None,
                     caller: Caller = acting) -> JSONResponse:
        """Complete the step with the picture as its evidence; the answer is what chat would have said."""
        who = sender(request, caller, user)
        limit = evidence.policy.max_bytes
        data = await read_capped(file, limit)
        got = Download(data, file.filename or "", too_large=(file.size or limit + 1) if data is None else None)
        event = PhotoSent(platform=who.platform, dedupe_key=f"web-photo:{event_id or uuid.uuid4().hex}", actor=who,
                          thread=None, received_at=utcnow(), incident_id=incident_id, download=got, step_id=step_id)
        reply = await asyncio.to_thread(router.handle, event)
        body: dict[str, Any] = {"ok": reply.ok, "text": reply.text}
        return JSONResponse(body, status_code=200 if reply.ok else 413 if data is None else 422)

    @api.get("/api/v1/evidence/{sha256}")
    async def view(sha256: Sha, size: Annotated[Literal["full", "thumb"], Query()] = "full",
                   caller: Caller = reading) -> Response:
        """The stored picture (``size=thumb``: a JPEG of at most 320 px), when it is evidence in an incident."""
        with evidence.ctx.db.reader() as session:
            found = records.incidents_of(session, sha256)
            media = session.exec(records.media_type_of(sha256)).first()
        if not found or media is None:
            raise HTTPException(status_code=404, detail=say("evidence_not_found"))
        try:
            data = await asyncio.to_thread(evidence.store.get, sha256)
        except EvidenceMissing as exc:
            raise HTTPException(status_code=404, detail=say("evidence_not_found")) from exc
        except EvidenceUnavailable as exc:
            raise HTTPException(status_code=503, detail=say("photo_store_failed")) from exc
        if size == "thumb":
            data, media = await asyncio.to_thread(thumbnail, data), "image/jpeg"
        return Response(data, media_type=media, headers={
            "Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{sha256}-{size}"',
            "X-Content-Type-Options": "nosniff"})

    return api
