"""Twilio SMS and Voice ContactPorts over the official SDK (async HTTP client).

``api_url`` (default ``https://api.twilio.com``) is configurable so that tests point the real SDK at a fake.
Errors: HTTP 429 is a wait; 5xx and connection errors a retry; other 4xx (an invalid number, error 21211;
a revoked auth token, 20003) a refusal. Reference: Twilio REST API, Messages and Calls resources.
"""

from dataclasses import dataclass

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from handlers.contact_ports import SMS, VOICE, Notice
from handlers.ports import ChatUnavailable, MessageRefused, RateLimited
from integrations.sms_text import free_text
from integrations.twilio import render

PROVIDER = "twilio"
RATE_LIMIT_WAIT_SECONDS = 1.0  # Twilio queues per number; a 429 (error 20429) asks to slow down


@dataclass(frozen=True, slots=True)
class TwilioAccount:
    """The account SID, its auth token (also the webhook signing key), the number calls and SMS come from,
    and where WareRoom's webhooks are reachable (``public_url``)."""

    account_sid: str
    auth_token: str
    from_number: str
    public_url: str
    api_url: str = "https://api.twilio.com"
    timeout: float = 30.0


def client(account: TwilioAccount) -> Client:
    """The SDK client, async HTTP, talking to ``account.api_url``."""
    twilio = Client(account.account_sid, account.auth_token,
                    http_client=AsyncTwilioHttpClient(timeout=account.timeout))
    twilio.api.base_url = account.api_url.rstrip("/")
    return twilio


async def _calling(call: str, action: object) -> str:
    try:
        instance = await action  # type: ignore[misc]
    except TwilioRestException as exc:
        detail = f"twilio {call}: {exc.status} {exc.code}: {exc.msg}"
        if exc.status == 429:
            raise RateLimited(RATE_LIMIT_WAIT_SECONDS, detail) from exc
        if 400 <= exc.status < 500:
            raise MessageRefused(detail) from exc
        raise ChatUnavailable(detail) from exc
    except Exception as exc:  # aiohttp connection errors and timeouts
        raise ChatUnavailable(f"twilio {call}: {type(exc).__name__}: {exc}") from exc
    return str(instance.sid)


class _TwilioPort:
    """The SDK client both ports hold."""

    def __init__(self, account: TwilioAccount) -> None:
        self.account = account
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        """The SDK client, made on first use (its aiohttp session needs the running event loop)."""
        if self._client is None:
            self._client = client(self.account)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()


class TwilioSms(_TwilioPort):
    """ContactPort: one message per notice, the full text with how to acknowledge by reply."""

    channel = SMS
    provider = PROVIDER

    async def deliver(self, notice: Notice, *, key: str) -> str:
        return await _calling("message", self.client.messages.create_async(
            to=notice.address, from_=self.account.from_number, body=free_text(notice)))


class TwilioVoice(_TwilioPort):
    """ContactPort: one call per notice; its TwiML reads the alert and offers "press 1", then the PIN.
    Key presses come back to ``/twilio/voice/{ack_token}/key`` (see routes)."""

    channel = VOICE
    provider = PROVIDER

    def voice_url(self, token: str, step: str) -> str:
        """Where Twilio posts a call's keys: ``step`` is ``key`` or ``pin``."""
        return f"{self.account.public_url.rstrip('/')}/twilio/voice/{token}/{step}"

    async def deliver(self, notice: Notice, *, key: str) -> str:
        twiml = render.alert_call(notice.message, language=notice.language,
                                  key_url=self.voice_url(notice.ack_token, "key"))
        return await _calling("call", self.client.calls.create_async(
            to=notice.address, from_=self.account.from_number, twiml=twiml))
