"""All configuration, from ``WAREROOM_*`` environment variables (and an optional ``.env``)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from integrations.mqtt.layouts import TopicLayout, full_topic

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting has a safe default so that ``wareroom demo`` needs none."""

    model_config = SettingsConfigDict(env_prefix="WAREROOM_", env_file=".env", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy URL; empty: SQLite file under var_dir")
    var_dir: Path = Path("var")
    mqtt_url: str = Field(default="", description="mqtt://host:port; empty: start the embedded broker")
    mqtt_client_id: str = "wareroom-ingest"
    zigbee2mqtt_base_topics: list[str] = Field(default=["zigbee2mqtt"],
                                               description="Zigbee2MQTT mqtt.base_topic of each instance")
    tasmota_full_topics: list[str] = Field(default=["%prefix%/%topic%/"], description="Tasmota FullTopic patterns")
    tasmota_tele_prefix: str = Field(default="tele", description="Tasmota Prefix3 (telemetry)")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_url: str = ""
    devices_file: Path = PROJECT_ROOT / "config" / "devices.yaml"
    rules_file: Path = PROJECT_ROOT / "config" / "rules.yaml"
    escalation_file: Path = PROJECT_ROOT / "config" / "escalation.yaml"
    playbook_dir: Path = PROJECT_ROOT / "playbooks" / "library"
    site_timezone: str = "Asia/Shanghai"
    api_token: SecretStr | None = None
    rules_tick_seconds: float = 5.0
    dispatcher_poll_seconds: float = 1.0

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

    @field_validator("tasmota_full_topics")
    @classmethod
    def _full_topics(cls, value: list[str]) -> list[str]:
        for pattern in value:
            full_topic(pattern)  # LayoutError (a ValueError) names what is wrong
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, value: str) -> str:
        if value and not value.startswith(("mqtt://", "tcp://")):
            raise ValueError(f"WAREROOM_MQTT_URL must look like mqtt://host:port, got {value!r}")
        return value

    def topic_layout(self) -> TopicLayout:
        """Where sensors publish, from the Zigbee2MQTT and Tasmota settings (LayoutError when unusable)."""
        return TopicLayout.build(self.zigbee2mqtt_base_topics, self.tasmota_full_topics, self.tasmota_tele_prefix)

    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file under ``var_dir``."""
        if self.database_url:
            return self.database_url
        self.var_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.var_dir / 'wareroom.db').resolve()}"
