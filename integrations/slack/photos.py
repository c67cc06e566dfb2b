"""Files shared in an incident's Slack thread: ``files.info`` for the file, then its private URL fetched once
with the bot token (``Authorization: Bearer``), as https://api.slack.com/types/file#authentication says.

Without the token Slack answers its sign-in page (HTML, 200): the content check refuses that as not a picture.
"""

import logging

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.ports import Download

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 30.0


async def download(client: AsyncWebClient, file_id: str, *, limit: int) -> Download:
    """The file, fetched once; a file declared larger than ``limit`` bytes is not fetched."""
    try:
        info = await client.files_info(file=file_id)
    except SlackApiError as exc:
        log.warning("Slack files.info %s failed: %s", file_id, exc.response.get("error"))
        return Download(None, problem=f"files.info: {exc.response.get('error')}")
    found = info.get("file") or {}
    name, size = str(found.get("name") or ""), found.get("size")
    if isinstance(size, int) and size > limit:
        return Download(None, name, too_large=size)
    url = found.get("url_private_download") or found.get("url_private")
    if not url:
        return Download(None, name, problem="the file has no private URL (an external file?)")
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=True) as http, http.stream(
                "GET", url, headers={"Authorization": f"Bearer {client.token}"}) as answer:
            answer.raise_for_status()
            chunks, got = [], 0
            async for chunk in answer.aiter_bytes():
                got += len(chunk)
                if got > limit:
                    return Download(None, name, too_large=got)
                chunks.append(chunk)
            return Download(b"".join(chunks), name)
    except httpx.HTTPError as exc:
        log.warning("Slack file %s could not be downloaded: %s", file_id, exc)
        return Download(None, name, problem=f"download: {exc}")
