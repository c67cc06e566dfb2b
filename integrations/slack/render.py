"""OutboundMessage → Slack Block Kit: a section, the fields, and an actions block of buttons."""

from typing import Any

from handlers.ports import ButtonStyle, OutboundMessage

ACTION_PREFIX = "wareroom:"
MAX_FIELDS = 10  # Slack's limit for one section's fields
_STYLE = {ButtonStyle.PRIMARY: "primary", ButtonStyle.DANGER: "danger"}


def escape(text: str) -> str:
    """Slack mrkdwn control characters, escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks(message: OutboundMessage) -> list[dict[str, Any]]:
    """The message as Block Kit blocks; button values carry the handlers' tokens."""
    head = f"*{escape(message.title)}*" + (f"\n{escape(message.body)}" if message.body else "")
    rendered: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    if message.fields:
        fields = [{"type": "mrkdwn", "text": f"*{escape(name)}*\n{escape(value)}"}
                  for name, value in message.fields[:MAX_FIELDS]]
        rendered.append({"type": "section", "fields": fields})
    if message.buttons:
        elements = []
        for index, button in enumerate(message.buttons):
            element: dict[str, Any] = {"type": "button", "action_id": f"{ACTION_PREFIX}{index}",
                                       "text": {"type": "plain_text", "text": button.label}, "value": button.token}
            if button.style in _STYLE:
                element["style"] = _STYLE[button.style]
            if button.url:  # opens the page (e.g. signing); Slack still sends the click, answered with the link
                element["url"] = button.url
            elements.append(element)
        rendered.append({"type": "actions", "block_id": "wareroom-actions", "elements": elements})
    return rendered


def fallback(message: OutboundMessage) -> str:
    """The notification text shown where blocks are not (push notifications, search)."""
    return message.plain_text()
