"""Button tokens: short, versioned strings that fit Telegram's 64-byte callback_data."""

from dataclasses import dataclass

_VERSION = "v1"
MAX_BYTES = 64


class BadToken(ValueError):
    def __init__(self, token: str) -> None:
        super().__init__(f"无法识别的按钮 / Unrecognised button: {token[:40]!r}")


@dataclass(frozen=True, slots=True)
class ButtonAction:
    verb: str
    incident_id: int
    arg: str = ""


def encode(verb: str, incident_id: int, arg: str = "") -> str:
    """``v1:verb:incident[:arg]``; refuses tokens that would not fit a platform's limit."""
    token = f"{_VERSION}:{verb}:{incident_id}" + (f":{arg}" if arg else "")
    if len(token.encode()) > MAX_BYTES:
        raise ValueError(f"button token longer than {MAX_BYTES} bytes: {token!r}")
    return token


def decode(token: str) -> ButtonAction:
    """Parse a token made by :func:`encode` or raise BadToken."""
    parts = token.split(":", 3)
    if len(parts) < 3 or parts[0] != _VERSION or not parts[2].isdigit():
        raise BadToken(token)
    return ButtonAction(parts[1], int(parts[2]), parts[3] if len(parts) == 4 else "")
