"""The WeCom callback: ``GET /wecom/callback`` verifies the URL, ``POST`` receives encrypted messages and events."""

import logging
from xml.parsers.expat import ExpatError

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from handlers.text import say
from integrations.wecom.inbound import StaleCallback, WeComInbound

log = logging.getLogger(__name__)


def _refused(reason: str) -> JSONResponse:
    log.warning("refused a WeCom callback: %s", reason)
    return JSONResponse({"detail": say("bad_signature")}, status_code=403)


def build_router(inbound: WeComInbound) -> APIRouter:
    """Routes for one WeCom app; a bad ``msg_signature``, another corp's message or a timestamp outside
    the 5-minute window gets 403."""
    api = APIRouter()

    @api.get("/wecom/callback", tags=["chat"])
    async def verify(msg_signature: str, timestamp: str, nonce: str, echostr: str) -> Response:
        """URL verification: the decrypted echostr, exactly."""
        try:
            return PlainTextResponse(inbound.verify_url(msg_signature, timestamp, nonce, echostr))
        except (InvalidSignatureException, InvalidCorpIdException, StaleCallback) as exc:
            return _refused(f"{type(exc).__name__} {exc}")

    @api.post("/wecom/callback", tags=["chat"])
    async def receive(request: Request, msg_signature: str, timestamp: str, nonce: str) -> Response:
        """An encrypted message or event; answered within WeCom's 5 s, with an encrypted reply or nothing."""
        try:
            reply = await inbound.receive(await request.body(), msg_signature, timestamp, nonce)
        except (InvalidSignatureException, InvalidCorpIdException, StaleCallback) as exc:
            return _refused(f"{type(exc).__name__} {exc}")
        except (ExpatError, KeyError, ValueError, TypeError) as exc:
            log.warning("refused a malformed WeCom callback: %s", exc)
            return JSONResponse({"detail": say("bad_request")}, status_code=400)
        return Response(reply, media_type="application/xml") if reply else PlainTextResponse("")

    return api
