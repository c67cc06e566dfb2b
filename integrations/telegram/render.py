"""OutboundMessage → Telegram: HTML text and an inline keyboard whose callback_data are the handlers' tokens."""

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.ports import OutboundMessage

BUTTONS_PER_ROW = 2


def html(message: OutboundMessage) -> str:
    """Title in bold, the body, then ``name: value`` lines; everything escaped for parse_mode HTML."""
    lines = [f"<b>{escape(message.title)}</b>"]
    if message.body:
        lines.append(escape(message.body))
    lines.extend(f"<b>{escape(name)}</b>: {escape(value)}" for name, value in message.fields)
    return "\n".join(lines)


def keyboard(message: OutboundMessage) -> InlineKeyboardMarkup | None:
    """The buttons, two per row; None when there are none (an edit without it removes the keyboard)."""
    if not message.buttons:
        return None
    buttons = [InlineKeyboardButton(b.label, url=b.url) if b.url else
               InlineKeyboardButton(b.label, callback_data=b.token) for b in message.buttons]
    return InlineKeyboardMarkup([buttons[i:i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)])
