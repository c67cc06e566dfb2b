"""Builds the channels beyond chat from settings: email, SMS (one provider), Twilio voice, their dispatcher,
the acknowledgement links and the inbound webhooks. Wires; decides nothing. A provider's SDK is imported only
when that provider is configured."""

import asyncio
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import APIRouter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from bot.settings import Settings
from handlers.contact_ack import ContactAck
from handlers.contact_ports import EMAIL, SMS, VOICE, ContactPort
from handlers.heartbeats import HeartbeatWatch
from handlers.paging import Limits
from incidents.database import Database
from integrations.contact_dispatcher import ContactDispatcher
from integrations.contact_links import AckLinks
from integrations.heartbeat import HeartbeatSender, watch_silence
from integrations.platform_health import DeliveryHealth

if TYPE_CHECKING:
    from integrations.twilio.adapter import TwilioAccount


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else ""


def _host_and_scheme(url: str) -> tuple[str, str]:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return parts.netloc, parts.scheme


def twilio_account(settings: Settings) -> "TwilioAccount | None":
    """The Twilio account when its SID, token and number are set."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number):
        return None
    from integrations.twilio.adapter import TwilioAccount

    return TwilioAccount(settings.twilio_account_sid, _secret(settings.twilio_auth_token), settings.twilio_from_number,
                         public_url=settings.base_url(), api_url=settings.twilio_api_url)


def sms_ports(settings: Settings) -> dict[str, ContactPort]:
    """Every configured SMS provider by name."""
    found: dict[str, ContactPort] = {}
    if settings.aliyun_sms_access_key_id and settings.aliyun_sms_access_key_secret and \
            settings.aliyun_sms_template_code:
        from integrations.aliyun_sms.adapter import AliyunSms, AliyunSmsAccount

        host, scheme = _host_and_scheme(settings.aliyun_sms_api_url)
        found["aliyun"] = AliyunSms(AliyunSmsAccount(
            settings.aliyun_sms_access_key_id, _secret(settings.aliyun_sms_access_key_secret),
            sign_name=settings.aliyun_sms_sign_name, template_code=settings.aliyun_sms_template_code,
            endpoint=host, protocol=scheme))
    if settings.tencent_sms_secret_id and settings.tencent_sms_secret_key and settings.tencent_sms_template_id:
        from integrations.tencent_sms.adapter import TencentSms, TencentSmsAccount

        host, scheme = _host_and_scheme(settings.tencent_sms_api_url)
        found["tencent"] = TencentSms(TencentSmsAccount(
            settings.tencent_sms_secret_id, _secret(settings.tencent_sms_secret_key),
            sdk_app_id=settings.tencent_sms_sdk_app_id, sign_name=settings.tencent_sms_sign_name,
            template_id=settings.tencent_sms_template_id, region=settings.tencent_sms_region, endpoint=host,
            protocol=scheme))
    twilio = twilio_account(settings)
    if twilio is not None:
        from integrations.twilio.adapter import TwilioSms

        found["twilio"] = TwilioSms(twilio)
    return found


def contact_ports(settings: Settings) -> dict[str, ContactPort]:
    """The enabled channels: ``sms`` (``sms_provider`` when set up, else the first configured), ``voice``
    (Twilio), ``email`` (SMTP)."""
    ports: dict[str, ContactPort] = {}
    providers = sms_ports(settings)
    if providers:
        ports[SMS] = providers.get(settings.sms_provider) or next(iter(providers.values()))
    twilio = twilio_account(settings)
    if twilio is not None and settings.twilio_voice:
        from integrations.twilio.adapter import TwilioVoice

        ports[VOICE] = TwilioVoice(twilio)
    if settings.smtp_host and settings.smtp_sender:
        from integrations.email.adapter import EmailChannel, SmtpServer

        ports[EMAIL] = EmailChannel(SmtpServer(settings.smtp_host, settings.smtp_port, settings.smtp_sender,
                                               username=settings.smtp_username,
                                               password=_secret(settings.smtp_password),
                                               security=settings.smtp_security))
    return ports


def link_secret(settings: Settings) -> str:
    """The configured secret, else one kept in ``var_dir/contact-links.key`` (made at first start)."""
    if settings.contact_link_secret:
        return settings.contact_link_secret.get_secret_value()
    path = settings.var_dir / "contact-links.key"
    if not path.exists():
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


@dataclass
class ContactChannels:
    """The enabled contact channels, their dispatcher, and the routes that take acknowledgements back."""

    ports: dict[str, ContactPort]
    dispatcher: ContactDispatcher
    links: AckLinks
    health: DeliveryHealth
    inbound: list[Callable[[ContactAck], APIRouter]] = field(default_factory=list)

    def metrics(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """Contact notices by channel (sent, skipped by reason, failed, send seconds) and chat platform health."""
        stats = self.dispatcher.stats
        sent = CounterMetricFamily("wareroom_contact_sent", "Notices delivered, by channel", labels=["channel"])
        failed = CounterMetricFamily("wareroom_contact_failed", "Failed notice attempts", labels=["channel"])
        seconds = CounterMetricFamily("wareroom_contact_send_seconds", "Time spent sending notices",
                                      labels=["channel"])
        for channel in self.ports:
            sent.add_metric([channel], stats.sent[channel])
            failed.add_metric([channel], stats.failed[channel])
            seconds.add_metric([channel], stats.seconds[channel])
        skipped = CounterMetricFamily("wareroom_contact_skipped", "Notices not sent: acknowledged, quiet hours, "
                                      "rate limit", labels=["channel", "reason"])
        for (channel, reason), count in sorted(stats.skipped.items()):
            skipped.add_metric([channel, reason], count)
        degraded = self.health.degraded()
        platforms = GaugeMetricFamily("wareroom_chat_platform_degraded", "1 while a chat platform has failed "
                                      "longer than the fallback threshold", labels=["platform"])
        outages = CounterMetricFamily("wareroom_chat_platform_outages", "Times a platform became degraded",
                                      labels=["platform"])
        for platform in sorted({*self.health.failures, *degraded}):
            platforms.add_metric([platform], 1 if platform in degraded else 0)
            outages.add_metric([platform], self.health.outages[platform])
        yield from (sent, failed, seconds, skipped, platforms, outages)

    def routers(self, ack: ContactAck) -> list[APIRouter]:
        """The inbound webhooks of the enabled providers, acknowledging through ``ack``."""
        return [build(ack) for build in self.inbound]

    async def close(self) -> None:
        for port in self.ports.values():
            await port.close()


async def dead_man(settings: Settings, watch: HeartbeatWatch) -> None:
    """WareRoom's own heartbeat out (when ``heartbeat_url`` is set) and the watch over declared heartbeats
    (looked at every fifth of the shortest timeout, at least every second)."""
    jobs = []
    if settings.heartbeat_url:
        jobs.append(HeartbeatSender(settings.heartbeat_url, settings.heartbeat_seconds).run())
    if settings.expected_heartbeats:
        jobs.append(watch_silence(watch, max(1.0, min(settings.expected_heartbeats.values()) / 5)))
    await asyncio.gather(*jobs)


def build_channels(settings: Settings, db: Database) -> ContactChannels:
    """Everything for the channels beyond chat, not yet started."""
    ports = contact_ports(settings)
    links = AckLinks(link_secret(settings), settings.base_url())
    dispatcher = ContactDispatcher(db, ports, links, timezone=settings.site_timezone,
                                   limits=Limits(settings.contact_limit_per_incident,
                                                 settings.contact_limit_per_person),
                                   poll_seconds=settings.dispatcher_poll_seconds)
    inbound: list[Callable[[ContactAck], APIRouter]] = []
    twilio = twilio_account(settings)
    if twilio is not None:
        from integrations.twilio import routes as twilio_routes

        inbound.append(lambda ack: twilio_routes.build_router(ack, links, auth_token=twilio.auth_token,
                                                              public_url=twilio.public_url))
    return ContactChannels(ports, dispatcher, links, DeliveryHealth(settings.fallback_after_seconds), inbound)
