"""Images members send to the app: fetched once with ``media/get`` by their MediaId
(https://developer.work.weixin.qq.com/document/path/90254), through wechatpy's client on the configured URL.

wechatpy's own ``media.download`` calls the public host whatever the client's base URL; ``client.get``
answers the raw response when the body is a file, and raises on an ``errcode``.
"""

import logging
import re

import requests
from wechatpy.exceptions import WeChatClientException

from handlers.ports import Download
from integrations.wecom.adapter import WeComClient

log = logging.getLogger(__name__)
_FILENAME = re.compile(r'filename="?([^";]+)"?')


def download(client: WeComClient, media_id: str) -> Download:
    """The image of ``media_id`` (the size limit is the core's: media/get declares no size before the body)."""
    try:
        answer = client.get("media/get", params={"media_id": media_id})
    except (WeChatClientException, requests.RequestException) as exc:
        log.warning("WeCom media %s could not be downloaded: %s", media_id, exc)
        return Download(None, problem=f"media/get: {exc}")
    if not isinstance(answer, requests.Response):
        return Download(None, problem="media/get answered JSON, not a file")
    found = _FILENAME.search(answer.headers.get("Content-Disposition", ""))
    return Download(answer.content, found.group(1) if found else "")
