"""The ports between the platform-neutral core and the adapters (model-codebases §5)."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    token: str  # handlers.callbacks.encode(...): at most 64 bytes (Telegram callback_data)
    style: ButtonStyle = ButtonStyle.DEFAULT
    url: str = ""  # set: the button opens this page (e.g. the signing page) instead of sending the token


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """Platform-neutral; each adapter renders it to its own wire format."""

    title: str
    body: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    incident_id: int | None = None
    tone: str = "info"  # info | alert | ok | warn: adapters may colour by it

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict for the outbox: ``dataclasses.asdict`` of the message, built field by field (asdict
        deep-copies every value: a tenth of opening an incident with a playbook's step cards)."""
        return {"title": self.title, "body": self.body, "fields": self.fields,
                "buttons": tuple({"label": b.label, "token": b.token, "style": b.style, "url": b.url}
                                 for b in self.buttons),
                "incident_id": self.incident_id, "tone": self.tone}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "OutboundMessage":
        return cls(
            title=data["title"], body=data.get("body", ""),
            fields=tuple((str(k), str(v)) for k, v in data.get("fields", [])),
            buttons=tuple(Button(b["label"], b["token"], ButtonStyle(b.get("style", "default")), b.get("url", ""))
                          for b in data.get("buttons", [])),
            incident_id=data.get("incident_id"), tone=data.get("tone", "info"),
        )

    def plain_text(self) -> str:
        """Title, body and fields as plain lines, for platforms without rich layout."""
        lines = [self.title]
        if self.body:
            lines.append(self.body)
        lines.extend(f"{name}: {value}" for name, value in self.fields)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Capabilities:
    can_edit: bool
    max_buttons: int
    max_text_bytes: int
    has_threads: bool


@dataclass(frozen=True, slots=True)
class ThreadRef:
    """Opaque to the core; only the adapter that made it reads ``native``."""

    platform: str
    native: str


@dataclass(frozen=True, slots=True)
class MessageRef:
    platform: str
    native: str


class ChatUnavailable(Exception):
    """The platform could not take the message now; the dispatcher retries."""


class RateLimited(ChatUnavailable):
    """The platform (or our own send budget) asks to wait ``retry_after`` seconds: a wait, not a failure."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(f"rate limited, retry after {retry_after:.1f}s {detail}".strip())
        self.retry_after = retry_after


class MessageRefused(Exception):
    """The platform answered and refused this request; sending the same again cannot help (an admin may)."""


class ChatPort(Protocol):
    """What every chat adapter implements."""

    platform: str
    capabilities: Capabilities

    async def open_thread(
        self, incident_id: int, first: OutboundMessage, *, key: str
    ) -> tuple[ThreadRef, MessageRef]: ...

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef: ...

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        """Edit in place; a platform that cannot edit posts anew and returns the new ref."""
        ...


@dataclass(frozen=True, slots=True)
class UserRef:
    """Who sent an event. ``person_id`` is set only by an edge that verified the person itself (a web
    session, an API token); chat platforms give their user id, which the directory's links resolve."""

    platform: str
    user_id: str
    display_name: str = ""
    person_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatEvent:
    """What an adapter hands to the core for every inbound interaction."""

    platform: str
    dedupe_key: str
    actor: UserRef
    thread: ThreadRef | None
    received_at: datetime
    incident_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandInvoked(ChatEvent):
    name: str
    args: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonClicked(ChatEvent):
    token: str
    interaction_id: str = ""
    message: MessageRef | None = None


@dataclass(frozen=True, slots=True)
class Download:
    """A file fetched once from a platform. ``data`` is None when it was not fetched: ``too_large`` (the
    declared size, bytes) when it was over the limit, else the download failed and ``problem`` says why."""

    data: bytes | None
    filename: str = ""
    problem: str = ""
    too_large: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoSent(ChatEvent):
    """A picture (or file) a person sent in an incident's thread or uploaded. ``step_id`` is the step the upload's
    address names (it must be current); ``caption`` is the text sent with a chat picture, whose first word
    names the step when it is a current step's id."""

    download: Download
    step_id: str | None = None
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """The immediate answer to the person who acted (ephemeral where the platform allows)."""

    text: str
    ok: bool = True
