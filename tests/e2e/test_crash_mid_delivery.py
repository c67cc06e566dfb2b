"""SIGKILL while Slack holds a post's answer: the post went through, the outbox row still says "sending".
On restart the dispatcher finds the post by the outbox key in its metadata and does not post it again."""

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlmodel import select

from handlers.messages import notice
from incidents.database import Database
from incidents.tables import OutboxMessage
from tests.e2e.server import wait_for
from tests.factories import make_core, make_signal, seed_people
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
KILLS = 8
POSTS = 40


def _worker(database_url: str, slack_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.e2e.delivery_worker", database_url, f"{slack_url}/api/"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL)


def _undelivered(database: Database) -> int:
    with database.reader() as session:
        return len(session.exec(select(OutboxMessage).where(OutboxMessage.status != "sent")).all())


def test_a_kill_during_delivery_sends_no_duplicate_to_slack(database_url: str) -> None:
    database = Database(database_url)
    seed_people(database)
    core = make_core(database, platforms=("slack",))
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    with database.unit_of_work() as session:
        for n in range(POSTS):
            core.ctx.notifier.post(session, incident_id, notice(incident_id, f"消息 {n:02d} / message {n:02d}"))
    slack = FakeSlack()
    slack.slow_posts = {4 * k for k in range(1, KILLS + 1)}  # every fourth post: its answer is held back
    with live_server(slack.app) as url:
        for _ in range(KILLS):
            worker = _worker(database_url, url)
            wait_for(lambda: slack.paused, timeout=60)  # the post is kept; the worker waits for the answer
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            slack.paused.clear()
        worker = _worker(database_url, url)
        try:
            wait_for(lambda: _undelivered(database) == 0, timeout=120)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
    texts = Counter(p["text"] for p in slack.called("chat.postMessage") if "/ message " in p["text"])
    duplicates = sum(count - 1 for count in texts.values())
    print(f"\ncrash_kills: {KILLS}\ncrash_slack_posts: {sum(texts.values())}\ncrash_slack_duplicates: {duplicates}")
    assert len(texts) == POSTS and duplicates == 0
    database.dispose()
