"""OutboundMessage → Slack Block Kit: a section, the fields, and an actions block of buttons."""

from typing import Any

from handlers.ports import ButtonStyle, OutboundMessage

ACTION_PREFIX = "wareroom:"
# Block Kit reference: a section's text at most 3,000 characters, at most 10 fields of 2,000 each,
# a button's text at most 75, at most 25 elements per actions block, at most 50 blocks per message.
SECTION_TEXT_MAX = 3000
MAX_FIELDS = 10
FIELD_TEXT_MAX = 2000
BUTTON_TEXT_MAX = 75
MAX_BUTTONS = 25
FALLBACK_MAX = 3000  # message ``text`` is cut by Slack past 40,000; a notification needs far less
_STYLE = {ButtonStyle.PRIMARY: "primary", ButtonStyle.DANGER: "danger"}


def escape(text: str) -> str:
    """Slack mrkdwn control characters, escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _head(message: OutboundMessage) -> str:
    return f"*{escape(message.title)}*" + (f"\n{escape(message.body)}" if message.body else "")


def section_size(message: OutboundMessage) -> int:
    """Characters of the main section's text as sent (escapes included): what the 3,000 limit counts."""
    return len(_head(message))


def blocks(message: OutboundMessage) -> list[dict[str, Any]]:
    """The message as Block Kit blocks (at most three); button values carry the handlers' tokens."""
    head = _short(_head(message), SECTION_TEXT_MAX)  # the outbound layer fits it; this only guards
    rendered: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    if message.fields:
        fields = [{"type": "mrkdwn", "text": _short(f"*{escape(name)}*\n{escape(value)}", FIELD_TEXT_MAX)}
                  for name, value in message.fields[:MAX_FIELDS]]
        rendered.append({"type": "section", "fields": fields})
    if message.buttons:
        elements = []
        for index, button in enumerate(message.buttons[:MAX_BUTTONS]):
            element: dict[str, Any] = {"type": "button", "action_id": f"{ACTION_PREFIX}{index}",
                                       "text": {"type": "plain_text", "text": _short(button.label, BUTTON_TEXT_MAX)},
                                       "value": button.token}
            if button.style in _STYLE:
                element["style"] = _STYLE[button.style]
            if button.url:  # opens the page (e.g. signing); Slack still sends the click, answered with the link
                element["url"] = button.url
            elements.append(element)
        rendered.append({"type": "actions", "block_id": "wareroom-actions", "elements": elements})
    return rendered


def fallback(message: OutboundMessage) -> str:
    """The notification text shown where blocks are not (push notifications, search)."""
    return _short(message.plain_text(), FALLBACK_MAX)
