"""The port for one-way notifications to a person (email, SMS, voice), beside the ChatPort (DESIGN §5).

A contact channel sends one message to one address and returns the provider's id of what it sent.
Errors are the chat ones: ``RateLimited`` (wait), ``ChatUnavailable`` (retry later), ``MessageRefused``
(the provider refused this request; retrying cannot help).
"""

from dataclasses import dataclass
from typing import Protocol

from handlers.ports import OutboundMessage

EMAIL = "email"
SMS = "sms"
VOICE = "voice"


@dataclass(frozen=True, slots=True)
class Notice:
    """One message for one person: ``address`` is an E.164 number (``+8613800000000``) or an email address;
    ``language`` is ``zh`` or ``en``; ``ack_url`` (email) is the signed single-use acknowledgement link;
    ``ack_token`` (voice) names the call in its key-press webhooks."""

    address: str
    message: OutboundMessage
    language: str = "zh"
    ack_url: str = ""
    ack_token: str = ""


class ContactPort(Protocol):
    """What every contact channel adapter implements."""

    channel: str  # EMAIL, SMS or VOICE
    provider: str  # smtp, aliyun, tencent, twilio: the platform name in the outbox and /metrics

    async def deliver(self, notice: Notice, *, key: str) -> str:
        """Send ``notice`` once (``key`` is the outbox idempotency key); the provider's id of what was sent."""
        ...

    async def close(self) -> None:
        """Release the HTTP sessions the SDK holds."""
        ...
