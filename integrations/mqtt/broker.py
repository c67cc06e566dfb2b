"""The embedded broker for the demo and small sites (amqtt, in-process)."""

import logging
import socket

from amqtt.broker import Broker

log = logging.getLogger(__name__)


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port``."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(host: str = "127.0.0.1", preferred: int = 1883) -> int:
    """``preferred`` when free, otherwise a free port chosen by the OS."""
    if port_is_free(host, preferred):
        return preferred
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    log.info("port %s is taken; the embedded broker uses %s", preferred, port)
    return port


class EmbeddedBroker:
    """Starts amqtt on loopback; ``url`` is what the ingest client connects to."""

    def __init__(self, host: str = "127.0.0.1", preferred_port: int = 1883) -> None:
        self.host = host
        self.port = pick_port(host, preferred_port)
        self._broker = Broker({
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        })

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        await self._broker.start()
        log.info("embedded MQTT broker listening on %s", self.url)

    async def stop(self) -> None:
        await self._broker.shutdown()
