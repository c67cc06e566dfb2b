"""Libraries only reviews and charts need load with the first review, not when the bot starts or serves; a chat
platform's or contact channel's SDK loads only when that platform or channel is configured; alembic loads only
when the schema is behind (and then migrates it); httpx, with the rich and Pygments its CLI brings, loads only
for single sign-on or a webhook action."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot import db
from bot.settings import PROJECT_ROOT

REVIEW_ONLY = ("matplotlib", "weasyprint", "pyhanko", "pyhanko_certvalidator", "fontTools", "cairosvg")

PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "telegram", "wechatpy", "twilio", "alibabacloud_dysmsapi20170525",
                 "tencentcloud", "boto3", "apprise", "aiosmtplib")

SERVE_THEN_LIST = """
import json, sys
from tests.e2e.server import app_settings, running
overrides = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
with running(app_settings(__import__("pathlib").Path(sys.argv[1]), sys.argv[2], **overrides)) as http:
    assert http.get("/api/v1/stock/SKU-NONE").status_code in (401, 404)
    loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps(loaded))
"""


HTTP_CLIENT = ("httpx", "rich", "pygments")

# Serves as ``SERVE_THEN_LIST`` does, but asks with urllib: the tests' own client (tests.e2e.server) is httpx.
SERVE_BARE_THEN_LIST = """
import json, socket, sys, threading, time, urllib.request, uuid
from pathlib import Path
import uvicorn
from bot.app import create_app
from bot.settings import Settings
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
settings = Settings(database_url=sys.argv[2], mqtt_url="mqtt://127.0.0.1:1883", var_dir=Path(sys.argv[1]) / "var",
                    mqtt_client_id=f"wareroom-lazy-{uuid.uuid4().hex[:12]}", http_port=port,
                    **(json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}))
server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
thread = threading.Thread(target=server.run, daemon=True)
thread.start()
deadline = time.monotonic() + 30
while not server.started:
    assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
    time.sleep(0.05)
with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=10) as answer:
    assert answer.status == 200
loaded = sorted({name.split(".")[0] for name in sys.modules})
server.should_exit = True
thread.join(timeout=20)
print(json.dumps(loaded))
"""


def _top_level_modules(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                          check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_app_loads_no_review_library() -> None:
    loaded = _top_level_modules("-c", "import bot.app, json, sys; print(json.dumps(sorted(sys.modules)))")
    assert "bot" in loaded and "fastapi" in loaded
    assert loaded.isdisjoint(REVIEW_ONLY), sorted(loaded & set(REVIEW_ONLY))
    assert "rapidfuzz" not in loaded  # with the first fuzzy name look-up (incidents.inventory.search)


@pytest.mark.mosquitto
def test_the_serving_app_loads_no_review_library(tmp_path: Path, sqlite_url: str) -> None:
    loaded = _top_level_modules("-c", SERVE_THEN_LIST, str(tmp_path), sqlite_url)
    assert "uvicorn" in loaded
    assert loaded.isdisjoint(REVIEW_ONLY), sorted(loaded & set(REVIEW_ONLY))


@pytest.mark.mosquitto
def test_without_platforms_or_providers_no_platform_sdk_loads(tmp_path: Path, sqlite_url: str) -> None:
    loaded = _top_level_modules("-c", SERVE_THEN_LIST, str(tmp_path), sqlite_url)
    assert "uvicorn" in loaded
    assert loaded.isdisjoint(PLATFORM_SDKS), sorted(loaded & set(PLATFORM_SDKS))
    assert "psycopg" not in loaded  # the web chat's cross-process fan-out is PostgreSQL's only
    assert "PIL" not in loaded  # Pillow loads with the first photo


@pytest.mark.mosquitto
def test_configuring_slack_loads_slack_and_no_other_platform(tmp_path: Path, sqlite_url: str) -> None:
    slack = {"slack_bot_token": "xoxb-test", "slack_channel": "C0WAREROOM", "slack_signing_secret": "signing",
             "slack_api_url": "http://127.0.0.1:9/api"}
    loaded = _top_level_modules("-c", SERVE_THEN_LIST, str(tmp_path), sqlite_url, json.dumps(slack))
    assert {"slack_bolt", "slack_sdk"} <= loaded
    others = set(PLATFORM_SDKS) - {"slack_bolt", "slack_sdk"}
    assert loaded.isdisjoint(others), sorted(loaded & others)


@pytest.mark.mosquitto
def test_a_current_schema_starts_without_alembic(tmp_path: Path, sqlite_url: str) -> None:
    loaded = _top_level_modules("-c", SERVE_THEN_LIST, str(tmp_path), sqlite_url)
    assert "uvicorn" in loaded
    assert loaded.isdisjoint({"alembic", "mako"}), sorted(loaded & {"alembic", "mako"})


@pytest.mark.mosquitto
def test_a_schema_behind_is_migrated_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    previous = ScriptDirectory.from_config(db.alembic_config(url)).get_revision("head").down_revision
    assert isinstance(previous, str)
    db.upgrade(url, previous)
    assert not db.is_current(url)
    loaded = _top_level_modules("-c", SERVE_THEN_LIST, str(tmp_path), url)
    assert "alembic" in loaded
    assert db.is_current(url)


@pytest.mark.mosquitto
def test_without_single_sign_on_no_http_client_loads(tmp_path: Path, sqlite_url: str) -> None:
    loaded = _top_level_modules("-c", SERVE_BARE_THEN_LIST, str(tmp_path), sqlite_url)
    assert "uvicorn" in loaded
    assert loaded.isdisjoint(HTTP_CLIENT), sorted(loaded & set(HTTP_CLIENT))


@pytest.mark.mosquitto
def test_single_sign_on_loads_the_http_client(tmp_path: Path, sqlite_url: str) -> None:
    sso = {"oidc_issuer": "http://127.0.0.1:9", "oidc_client_id": "wareroom", "oidc_client_secret": "secret"}
    loaded = _top_level_modules("-c", SERVE_BARE_THEN_LIST, str(tmp_path), sqlite_url, json.dumps(sso))
    assert "httpx" in loaded and "authlib" in loaded
