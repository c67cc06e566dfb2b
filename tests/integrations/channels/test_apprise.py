"""Apprise, notification-only, through the real library to a JSON endpoint on loopback (Apprise's ``json://``)."""

import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from handlers.ports import ChatUnavailable, MessageRef, OutboundMessage
from integrations.apprise_notify.adapter import AppriseNotify
from tests.fakes.live_server import live_server


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.app = Starlette(routes=[Route("/notify", self._take, methods=["POST"])])

    async def _take(self, request: Request) -> JSONResponse:
        if self.status != 200:
            return JSONResponse({}, status_code=self.status)
        self.bodies.append(json.loads(await request.body()))
        return JSONResponse({})


async def test_open_and_post_notify_header_updates_do_not_and_a_failure_is_retried() -> None:
    receiver = Receiver()
    with live_server(receiver.app) as url:
        port = AppriseNotify("apprise-1", url.replace("http://", "json://") + "/notify")
        message = OutboundMessage(title="🔴 SEV1 #7 冷库 B2", body="12.4 °C", fields=(("区域", "B2"),), tone="alert")
        thread, header = await port.open_thread(7, message, key="i7:apprise-1:open")
        await port.post(thread, OutboundMessage(title="王伟 Wang Wei 已确认事件。"), key="k2")
        assert await port.update(header, message, key="k3") == header
        receiver.status = 500
        with pytest.raises(ChatUnavailable):
            await port.post(thread, message, key="k4")
    assert [(b["title"], b["message"], b["type"]) for b in receiver.bodies] == [
        ("🔴 SEV1 #7 冷库 B2", "12.4 °C\n区域: B2", "failure"),
        ("王伟 Wang Wei 已确认事件。", "王伟 Wang Wei 已确认事件。", "info")]
    assert isinstance(header, MessageRef)


def test_an_unknown_url_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="Apprise"):
        AppriseNotify("apprise-1", "nosuchscheme://x")
