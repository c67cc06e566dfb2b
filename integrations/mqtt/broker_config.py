"""Where the MQTT broker is and how to log in: host, port, credentials and TLS, from ``WAREROOM_MQTT_URL``.

``mqtt://user:password@host:1883`` or ``mqtts://user:password@host:8883`` (TLS, verified against the
system's CAs or ``WAREROOM_MQTT_CA_FILE``). Used by every client WareRoom opens, subscriber and publisher.
"""

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt

SCHEMES = ("mqtt://", "tcp://", "mqtts://")


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None

    @classmethod
    def from_url(cls, url: str, *, ca_file: Path | None = None) -> "BrokerConfig":
        """Parse ``mqtt[s]://[user[:password]@]host[:port]``; ValueError (bilingual) for another scheme."""
        if not url.startswith(SCHEMES):
            raise ValueError(f"MQTT 地址应为 mqtt://主机:端口 或 mqtts://… / An MQTT URL looks like mqtt://host:port "
                             f"or mqtts://…, got {url!r}")
        parsed = urlparse(url)
        tls = parsed.scheme == "mqtts"
        return cls(host=parsed.hostname or "127.0.0.1", port=parsed.port or (8883 if tls else 1883),
                   username=unquote(parsed.username) if parsed.username else None,
                   password=unquote(parsed.password) if parsed.password else None, tls=tls, ca_file=ca_file)

    def apply(self, client: mqtt.Client) -> None:
        """Set the credentials and TLS on a paho client before it connects."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(ca_certs=str(self.ca_file) if self.ca_file else None, cert_reqs=ssl.CERT_REQUIRED)
