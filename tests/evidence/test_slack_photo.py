"""A photo shared in the incident's Slack thread: files.info, the private download with the bot token, the step
done with its hash."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from slack_sdk.web.async_client import AsyncWebClient

from incidents.database import Database
from incidents.evidence.images import EvidencePolicy
from incidents.evidence.store import LocalStore
from integrations.outbound import RateLimitedChat
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.slack.adapter import SlackChat
from integrations.slack.inbound import build_app
from integrations.slack.routes import build_router
from tests.evidence.pictures import big_jpeg, camera_jpeg, pdf_named_jpg
from tests.evidence.support import (
    assert_refused_and_open,
    assert_review_html_shows,
    assert_review_pdf_shows,
    assert_step_has_one_photo,
    contain_is_open,
    declare_misshipment,
    review_documents,
    stored_files,
)
from tests.factories import Core, make_core, seed_people
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import FakeSlack, file_share_body, signed_headers, thread_message_body

SECRET = "slack-photo-secret"
CHANNEL = "C-OPS"
LIMIT = 1_000_000


@dataclass
class Rig:
    fake: FakeSlack
    core: Core
    store: LocalStore
    http: httpx.AsyncClient
    dispatcher: OutboxDispatcher

    async def send(self, body: str) -> str:
        """Post the signed event; the ephemeral answer it got."""
        before = len(self.fake.called("chat.postEphemeral"))
        answer = await self.http.post("/slack/events", content=body,
                                      headers=signed_headers(body, SECRET, "application/json"))
        assert answer.status_code == 200
        [ephemeral] = self.fake.called("chat.postEphemeral")[before:]
        assert ephemeral["user"] == "U-wangwei"
        return str(ephemeral["text"])


@pytest.fixture
def fake() -> Iterator[tuple[FakeSlack, str]]:
    slack = FakeSlack()
    with live_server(slack.app) as url:
        yield slack, url


@pytest.fixture
async def rig(fake: tuple[FakeSlack, str], sqlite_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    slack, url = fake
    db = Database(sqlite_url)
    seed_people(db)
    store = LocalStore(tmp_path / "evidence")
    core = make_core(db, platforms=("slack",), evidence=store, policy=EvidencePolicy(max_bytes=LIMIT))
    client = AsyncWebClient(token="xoxb-photo", base_url=f"{url}/api/")
    port = RateLimitedChat(SlackChat(client, CHANNEL), public_url="https://wareroom.example")
    api = FastAPI()
    api.include_router(build_router(build_app(client, SECRET, core.router, process_before_response=True)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://wareroom") as http:
        yield Rig(slack, core, store, http, OutboxDispatcher(db, {"slack": port}))
    db.dispose()


async def test_a_file_shared_in_the_thread_completes_the_step_and_bad_ones_are_refused(rig: Rig) -> None:
    incident_id = declare_misshipment(rig.core)
    while await rig.dispatcher.drain_once():
        pass
    root_ts = next(ts for (_, ts), m in rig.fake.messages.items() if m["thread_ts"] is None)
    where = {"user": "U-wangwei", "channel": CHANNEL, "thread_ts": root_ts}

    typed = await rig.send(thread_message_body(event_id="Ev001", text="/done contain just-text", **where))
    assert_refused_and_open(typed, "需要照片", "needs a photo")
    rig.fake.add_file("F-PDF", "hold.jpg", "image/jpeg", pdf_named_jpg())
    assert_refused_and_open(await rig.send(file_share_body(event_id="Ev002", file_id="F-PDF", **where)),
                            "不是可识别的图片", "not a picture")
    rig.fake.add_file("F-BIG", "big.jpg", "image/jpeg", big_jpeg(LIMIT + 1))
    assert_refused_and_open(await rig.send(file_share_body(event_id="Ev003", file_id="F-BIG", **where)),
                            "照片过大", "too large")
    rig.fake.add_file("F-LOST", "lost.jpg", "image/jpeg", camera_jpeg())
    rig.fake.lost_files.add("F-LOST")
    assert_refused_and_open(await rig.send(file_share_body(event_id="Ev004", file_id="F-LOST", **where)),
                            "无法从聊天平台下载", "could not be downloaded")
    assert [f for f, _ in rig.fake.downloads] == ["F-PDF", "F-LOST"]  # the oversize one was not fetched
    assert stored_files(rig.store.root) == [] and contain_is_open(rig.core, incident_id)

    rig.fake.add_file("F-GOOD", "IMG_0001.jpg", "image/jpeg", camera_jpeg())
    done = await rig.send(file_share_body(event_id="Ev005", file_id="F-GOOD", text="contain", **where))
    assert done.startswith("王伟 Wang Wei"), done
    assert rig.fake.downloads[-1] == ("F-GOOD", "Bearer xoxb-photo")  # the private URL, with the bot token
    assert [c["file"] for c in rig.fake.called("files.info")] == ["F-PDF", "F-BIG", "F-LOST", "F-GOOD"]
    assert not contain_is_open(rig.core, incident_id)
    sha = assert_step_has_one_photo(rig.core.ctx.db, rig.store.root, incident_id=incident_id, step_id="contain",
                                    platform="slack")
    html, pdf = review_documents(rig.core.ctx.db, rig.store, incident_id)
    assert_review_html_shows(html, sha, (800, 600))
    assert_review_pdf_shows(pdf, (800, 600))
