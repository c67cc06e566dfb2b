"""OutboundMessage → WeCom: markdown for the incident chat, a ``button_interaction`` template card for buttons."""

from typing import Any

from handlers.ports import ButtonStyle, OutboundMessage

# template_card (button_interaction) field limits from WeCom's message/send reference, in characters
TITLE_MAX = 36  # main_title.title
DESC_MAX = 44  # main_title.desc
SUB_TITLE_MAX = 112  # sub_title_text
KEY_NAME_MAX = 5  # horizontal_content_list keyname
VALUE_MAX = 26  # horizontal_content_list value
MAX_BUTTONS = 6
MAX_FIELDS = 6


def markdown(message: OutboundMessage) -> str:
    """Bold title, the body, then ``name: value`` lines (WeCom markdown)."""
    lines = [f"**{message.title}**"]
    if message.body:
        lines.append(message.body)
    lines.extend(f"> {name}: {value}" for name, value in message.fields)
    return "\n".join(lines)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def card(message: OutboundMessage, task_id: str) -> dict[str, Any]:
    """A button_interaction card; button keys are the handlers' tokens."""
    zh_title, _, en_title = message.title.partition(" / ")
    return {
        "card_type": "button_interaction",
        "main_title": {"title": _short(zh_title, TITLE_MAX), "desc": _short(en_title, DESC_MAX)},
        "sub_title_text": _short(message.body, SUB_TITLE_MAX),
        "horizontal_content_list": [{"keyname": _short(name.split(" ")[0], KEY_NAME_MAX),
                                     "value": _short(value, VALUE_MAX)}
                                    for name, value in message.fields[:MAX_FIELDS]],
        "task_id": task_id,
        "button_list": [{"text": b.label, "style": 1 if b.style is ButtonStyle.PRIMARY else 2, "key": b.token}
                        for b in message.buttons[:MAX_BUTTONS]],
    }


def settled(message: OutboundMessage) -> str:
    """What the card's button turns into once no action is left: the status field, else the title."""
    return next((value for _, value in message.fields), message.title)[:TITLE_MAX]
