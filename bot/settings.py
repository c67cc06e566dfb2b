"""All configuration, from ``WAREROOM_*`` environment variables (and an optional ``.env``)."""

from datetime import time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from incidents.retention import RetentionPolicy
from integrations.mqtt.layouts import TopicLayout, full_topic

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting has a safe default so that ``wareroom demo`` needs none."""

    model_config = SettingsConfigDict(env_prefix="WAREROOM_", env_file=".env", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy URL; empty: SQLite file under var_dir")
    var_dir: Path = Path("var")
    mqtt_url: str = Field(default="", description="mqtt://host:port; empty: start the embedded broker")
    mqtt_client_id: str = "wareroom-ingest"
    mqtt_ca_file: Path | None = Field(default=None, description="CA bundle for an mqtts:// broker; default: system")
    mqtt_partitions: dict[str, int] = Field(default_factory=dict, description=(
        "sites read by an intake partition of their own → how many partitions by a hash of the sensor (1-64); "
        "every other site in one partition. Each partition is a lease and an MQTT session"), max_length=256)
    zigbee2mqtt_base_topics: list[str] = Field(default=["zigbee2mqtt"],
                                               description="Zigbee2MQTT mqtt.base_topic of each instance")
    tasmota_full_topics: list[str] = Field(default=["%prefix%/%topic%/"], description="Tasmota FullTopic patterns")
    tasmota_tele_prefix: str = Field(default="tele", description="Tasmota Prefix3 (telemetry)")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_url: str = ""
    webchat_notice: str = Field(default="", description="a notice shown above the web chat (the demo's story)")
    devices_file: Path = PROJECT_ROOT / "config" / "devices.yaml"
    rules_file: Path = PROJECT_ROOT / "config" / "rules.yaml"
    escalation_file: Path = PROJECT_ROOT / "config" / "escalation.yaml"
    staffing_file: Path = PROJECT_ROOT / "config" / "staffing.yaml"  # key roles, qualifications, check-in grace
    playbook_dir: Path = PROJECT_ROOT / "playbooks" / "library"
    site_timezone: str = "Asia/Shanghai"
    thread_language: str = Field(default="both", description="what shared incident threads are written in: both "
                                 "(Chinese, then English), zh, en, or another catalogue's code (README \"Languages\")")
    locale_dirs: list[Path] = Field(default_factory=list, description="folders searched before the shipped "
                                    "catalogues for <lang>/LC_MESSAGES/messages.po (a translator's new language)")
    auth_mode: Literal["signin", "demo"] = Field(
        default="signin", description="signin: every action needs a signed-in person or an API token; demo: the "
        "web chat lets anyone pick a person (``wareroom demo`` only)")
    session_idle_minutes: float = 30.0
    session_absolute_hours: float = 12.0
    cookie_secure: bool | None = Field(default=None, description="Secure cookies; default: when public_url is https")
    signin_attempts_per_minute: int = 10  # per client address, on top of the per-account lockout
    require_ingest_token: bool = False
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = None
    oidc_label: str = "SSO"
    audit_key_file: Path | None = Field(default=None, description="Ed25519 key; default var_dir/audit-signing.key")
    audit_checkpoint_file: Path | None = Field(default=None, description="default var_dir/audit-checkpoints.jsonl")
    audit_checkpoint_seconds: float = 300.0
    rules_tick_seconds: float = 5.0
    dispatcher_poll_seconds: float = 1.0
    review_mkt_activation_energy: float = Field(default=83.144, gt=0,
                                                description="ΔH in kJ/mol for the mean kinetic temperature")
    review_mkt_period: str = Field(default="24h", description="how far back the period MKT reaches: 24h, 30d…")
    review_seal_p12: Path | None = Field(default=None, description="PKCS#12 file of the site's sealing certificate")
    review_seal_password: SecretStr | None = None
    lease_ttl_seconds: float = Field(default=10.0, ge=1.0, description="a dead holder's lease moves on within ~1.2×")
    scheduler_poll_seconds: float = Field(default=1.0, gt=0, description="how often the holder looks for new jobs")
    retention_time: time = Field(default=time(3, 30), description="when the nightly retention runs, site time")
    retention_samples_full_days: int = Field(default=7, ge=1)
    retention_samples_every_minutes: int = Field(default=30, ge=1, le=1440)
    retention_dead_letter_days: int = Field(default=30, ge=1)
    retention_outbox_days: int = Field(default=30, ge=1)
    retention_inbound_days: int = Field(default=30, ge=1)
    archive_key: Path | None = Field(default=None, description="Ed25519 private key (PEM) that signs archives")
    evidence_dir: Path | None = Field(default=None, description="photo evidence files; default var_dir/evidence")
    evidence_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="largest photo accepted")
    evidence_max_pixels: int = Field(default=50_000_000, ge=10_000, description="decompression-bomb limit")
    evidence_keep_location: bool = Field(default=False, description="keep EXIF GPS in stored photos")
    evidence_s3_endpoint: str = Field(default="", description="S3-compatible endpoint (MinIO); set: photos go there")
    evidence_s3_bucket: str = "wareroom-evidence"
    evidence_s3_access_key: str = ""
    evidence_s3_secret_key: SecretStr | None = None
    evidence_s3_region: str = "us-east-1"

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_channel: str = ""
    slack_api_url: str = "https://slack.com/api/"
    slack_app_token: SecretStr | None = Field(default=None, description="xapp-…: Socket Mode inbound")
    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str = ""
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_mode: Literal["webhook", "polling"] = "webhook"
    wecom_corp_id: str = ""
    wecom_secret: SecretStr | None = None
    wecom_agent_id: str = ""
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"

    # channels beyond chat (README "Channels beyond chat"): each switched on when its credentials are set
    apprise_urls: list[str] = Field(default_factory=list, description="notification-only targets, one Apprise "
                                    'URL each, e.g. ["dingtalk://token/", "ntfys://ntfy.sh/wareroom"]')
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_sender: str = Field(default="", description="From: of notification email, e.g. wareroom@site.example")
    sms_provider: Literal["aliyun", "tencent", "twilio"] = Field(
        default="twilio", description="which SMS provider sends, when several are configured")
    aliyun_sms_access_key_id: str = ""
    aliyun_sms_access_key_secret: SecretStr | None = None
    aliyun_sms_sign_name: str = ""
    aliyun_sms_template_code: str = ""
    aliyun_sms_api_url: str = "https://dysmsapi.aliyuncs.com"
    tencent_sms_secret_id: str = ""
    tencent_sms_secret_key: SecretStr | None = None
    tencent_sms_sdk_app_id: str = ""
    tencent_sms_sign_name: str = ""
    tencent_sms_template_id: str = ""
    tencent_sms_region: str = "ap-guangzhou"
    tencent_sms_api_url: str = "https://sms.tencentcloudapi.com"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str = Field(default="", description="E.164 number SMS and calls come from")
    twilio_api_url: str = "https://api.twilio.com"
    twilio_voice: bool = Field(default=True, description="place calls through Twilio Voice when Twilio is set")
    contact_link_secret: SecretStr | None = Field(
        default=None, description="signs call and email acknowledgement links; default: a file under var_dir")
    contact_limit_per_incident: int = Field(default=3, ge=1, description="notices per channel, person, incident, hour")
    contact_limit_per_person: int = Field(default=10, ge=1, description="notices per channel and person per hour")
    fallback_after_seconds: float = Field(default=120.0, gt=0, description="a chat platform failing this long is "
                                          "degraded: people are reached by their next channel")
    heartbeat_url: str = Field(default="", description="pinged every heartbeat_seconds (healthchecks.io style)")
    heartbeat_seconds: float = Field(default=60.0, gt=0)
    expected_heartbeats: dict[str, int] = Field(
        default_factory=dict, description='integrations that call POST /api/v1/heartbeats/{name}: {"wms": 300} '
        "(seconds of silence before a system incident)")

    @field_validator("tasmota_full_topics")
    @classmethod
    def _full_topics(cls, value: list[str]) -> list[str]:
        for pattern in value:
            full_topic(pattern)  # LayoutError (a ValueError) names what is wrong
        return value

    @field_validator("mqtt_partitions")
    @classmethod
    def _partitions(cls, value: dict[str, int]) -> dict[str, int]:
        for site, buckets in value.items():
            if not site.strip() or not 1 <= buckets <= 64:
                raise ValueError(f"WAREROOM_MQTT_PARTITIONS: site {site!r} needs 1 to 64 partitions, got {buckets}")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, value: str) -> str:
        if value and not value.startswith(("mqtt://", "tcp://", "mqtts://")):
            raise ValueError(f"WAREROOM_MQTT_URL must look like mqtt://host:port or mqtts://host:port, got {value!r}")
        return value

    def key_file(self) -> Path:
        """Where the audit signing key lives (outside the database)."""
        return self.audit_key_file or self.var_dir / "audit-signing.key"

    def checkpoint_file(self) -> Path:
        """The append-only file of signed audit checkpoints."""
        return self.audit_checkpoint_file or self.var_dir / "audit-checkpoints.jsonl"

    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` when told to, else when the public address is https."""
        return self.cookie_secure if self.cookie_secure is not None else self.public_url.startswith("https://")

    def base_url(self) -> str:
        """Where people reach this app: public_url, else the listening address."""
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @field_validator("review_mkt_period")
    @classmethod
    def _period(cls, value: str) -> str:
        from playbooks.durations import parse_duration

        if parse_duration(value).total_seconds() <= 0:
            raise ValueError(f"WAREROOM_REVIEW_MKT_PERIOD must be a positive duration such as 24h, got {value!r}")
        return value

    def retention_policy(self) -> RetentionPolicy:
        """The retention periods from the ``WAREROOM_RETENTION_*`` settings."""
        return RetentionPolicy(samples_full=timedelta(days=self.retention_samples_full_days),
                               samples_every=timedelta(minutes=self.retention_samples_every_minutes),
                               dead_letters=timedelta(days=self.retention_dead_letter_days),
                               delivered_outbox=timedelta(days=self.retention_outbox_days),
                               inbound_events=timedelta(days=self.retention_inbound_days))

    def topic_layout(self) -> TopicLayout:
        """Where sensors publish, from the Zigbee2MQTT and Tasmota settings (LayoutError when unusable)."""
        return TopicLayout.build(self.zigbee2mqtt_base_topics, self.tasmota_full_topics, self.tasmota_tele_prefix)

    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file under ``var_dir``."""
        if self.database_url:
            return self.database_url
        self.var_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.var_dir / 'wareroom.db').resolve()}"
