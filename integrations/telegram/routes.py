"""The Telegram webhook: ``POST /telegram/webhook``, guarded by ``X-Telegram-Bot-Api-Secret-Token``."""

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from handlers.text import say
from integrations.telegram.inbound import TelegramInbound

log = logging.getLogger(__name__)


def build_router(inbound: TelegramInbound, secret: str) -> APIRouter:
    """Routes for one bot; a wrong or missing secret gets 403 and is not processed."""
    api = APIRouter()

    @api.post("/telegram/webhook", tags=["chat"])
    async def telegram_webhook(
        request: Request, x_telegram_bot_api_secret_token: Annotated[str, Header()] = "",
    ) -> Response:
        """One Bot API update."""
        if not hmac.compare_digest(x_telegram_bot_api_secret_token.encode(), secret.encode()):
            log.warning("refused a Telegram webhook call with a wrong secret token from %s", request.client)
            return JSONResponse({"detail": say("bad_signature")}, status_code=403)
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not a Telegram update")
        except ValueError as exc:
            log.warning("refused a malformed Telegram update: %s", exc)
            return JSONResponse({"detail": say("bad_request")}, status_code=400)
        try:
            await inbound.process(data)
        except Exception:  # answered 200 anyway: Telegram would redeliver the same broken update for hours
            log.exception("Telegram update %s could not be handled", data["update_id"])
        return Response(status_code=200)

    return api
