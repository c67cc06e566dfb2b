"""How a drill shows itself (issue 11, item 5): every title and message of a drill's incident carries DRILL."""

from dataclasses import replace

from handlers.ports import OutboundMessage

DRILL_TAG = "演练 DRILL"
DRILL_PREFIX = f"【{DRILL_TAG}】"
DRILL_WORDS = ("--drill", "演练", "演习")
"""Words that make ``/incident fire A1 …`` a drill."""


def drill_title(title: str) -> str:
    """``【演练 DRILL】<title>``; a title already marked stays as it is."""
    return title if DRILL_TAG in title else DRILL_PREFIX + title


def mark(message: OutboundMessage) -> OutboundMessage:
    """The message with DRILL at the front of its title."""
    return replace(message, title=drill_title(message.title))
