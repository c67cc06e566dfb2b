"""Pictures sent in an incident's topic: ``getFile`` for the path, then one download from the file URL.

A photo comes as ``message.photo`` (sizes of one picture; the largest is taken) or, sent "as a file", as
``message.document``. The Bot API serves files up to 20 MB through ``getFile``
(https://core.telegram.org/bots/api#getfile); the declared size is checked before downloading.
"""

import logging

from telegram import Bot, Message
from telegram.error import TelegramError

from handlers.ports import Download

log = logging.getLogger(__name__)
BOT_API_FILE_LIMIT = 20 * 1024 * 1024  # getFile: "bots can download files of up to 20MB in size"


def file_url(api_url: str) -> str:
    """The file download base for an API base: ``https://api.telegram.org/bot`` → ``…/file/bot``."""
    base = api_url.rstrip("/")
    return base[:-len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"


def has_picture(message: Message) -> bool:
    """True for a photo or a file (a picture sent uncompressed, or anything else, which is then refused)."""
    return bool(message.photo) or message.document is not None


async def download(bot: Bot, message: Message, *, limit: int) -> Download:
    """The picture of ``message``, fetched once; a file declared larger than ``limit`` is not fetched."""
    if message.photo:
        biggest = message.photo[-1]
        file_id, size, name = biggest.file_id, biggest.file_size, f"{biggest.file_unique_id}.jpg"
    else:
        assert message.document is not None
        file_id, size, name = message.document.file_id, message.document.file_size, message.document.file_name or ""
    if size is not None and size > limit:
        return Download(None, name, too_large=size)
    if size is not None and size > BOT_API_FILE_LIMIT:
        return Download(None, name, problem=f"over the Bot API's {BOT_API_FILE_LIMIT} bytes")
    try:
        found = await bot.get_file(file_id)
        if found.file_size is not None and found.file_size > limit:
            return Download(None, name, too_large=found.file_size)
        return Download(bytes(await found.download_as_bytearray()), name)
    except TelegramError as exc:
        log.warning("Telegram file %s could not be downloaded: %s", file_id, exc)
        return Download(None, name, problem=f"telegram: {exc}")
