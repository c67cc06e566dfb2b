"""Apprise as a notification-only chat platform: one Apprise URL per target (DingTalk, Feishu/Lark, Teams,
ntfy, Pushover…, see Apprise's URL list), each its own platform ``apprise-N`` with its own outbox stream.

Nothing comes back: no buttons, no edits. Opening a thread and posting send a notification; a header
update sends nothing (what changed is posted in the thread as well). A failed send is ``ChatUnavailable``
(retried; Apprise cannot say whether the service refused or was unreachable).
"""

import uuid

import apprise

from handlers.ports import Capabilities, ChatUnavailable, MessageRef, OutboundMessage, ThreadRef

TONES = {"alert": apprise.NotifyType.FAILURE, "warn": apprise.NotifyType.WARNING, "ok": apprise.NotifyType.SUCCESS,
         "info": apprise.NotifyType.INFO}


class AppriseNotify:
    """ChatPort over one Apprise URL."""

    capabilities = Capabilities(can_edit=False, max_buttons=0, max_text_bytes=4000, has_threads=False)

    def __init__(self, platform: str, url: str) -> None:
        self.platform = platform
        self.apprise = apprise.Apprise()
        if not self.apprise.add(url):
            raise ValueError(f"{platform}: Apprise 不认识此 URL / Apprise does not understand the URL given")

    async def _send(self, message: OutboundMessage) -> MessageRef:
        body = "\n".join([message.body, *(f"{name}: {value}" for name, value in message.fields)]).strip()
        result = await self.apprise.async_notify(title=message.title, body=body or message.title,
                                                 notify_type=TONES.get(message.tone, apprise.NotifyType.INFO))
        if not result:
            raise ChatUnavailable(f"{self.platform}: the notification was not accepted")
        return MessageRef(self.platform, uuid.uuid4().hex)

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        sent = await self._send(first)
        return ThreadRef(self.platform, f"incident-{incident_id}"), sent

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        return await self._send(message)

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        """Notification-only: the header is not sent again."""
        return ref
