"""A simulated site for the demo: every probe reports over MQTT, and cold room D1 warms up.

Readings are Zigbee2MQTT device JSON on ``zigbee2mqtt/<probe>``, exactly what a real site sends.
"""

import asyncio
import json
import logging
import random
from collections.abc import Callable
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)

NORMAL = {"a1": 18.0, "c1": 16.5, "d1": 4.6, "d2": 4.2, "f1": -20.0, "q1": 5.0}
PERIOD = 2.0


def cold_room_story(t: float) -> float:
    """D1's door-side probe over the scenario's seconds: a door spike (no alarm), then a real excursion."""
    if t < 20:
        return 4.6
    if t < 30:
        return 8.9  # door open for 10 s: shorter than the rule's "for", so nothing opens
    if t < 50:
        return 5.0
    if t < 100:
        return min(8.8, 5.0 + (t - 50) * 0.08)  # compressor failing: a steady rise
    if t < 200:
        return 8.8
    return max(4.8, 8.8 - (t - 200) * 0.1)  # repaired: back in range, the incident notes the clear


class SiteSimulator:
    def __init__(self, url: str, probes: list[str], *, story: Callable[[float], float] = cold_room_story,
                 seed: int = 7) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 1883
        self.probes = probes
        self.story = story
        self.random = random.Random(seed)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="wareroom-demo-site")

    def _value(self, probe: str, t: float) -> float:
        if probe == "d1-probe-1":
            return round(self.story(t) + self.random.uniform(-0.05, 0.05), 2)
        if probe == "d1-probe-2":  # the far probe follows the door-side one, damped
            return round(4.6 + max(0.0, self.story(t) - 4.6) * 0.7 if t >= 50 else 4.7, 2)
        return round(NORMAL.get(probe[:2], 10.0) + self.random.uniform(-0.3, 0.3), 2)

    async def run(self) -> None:
        """Publish every probe every two seconds until cancelled."""
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        log.info("demo site: %d probes reporting to %s:%s; cold room D1 starts warming in 50 s",
                 len(self.probes), self.host, self.port)
        t = 0.0
        try:
            while True:
                for probe in self.probes:
                    payload = {"temperature": self._value(probe, t), "humidity": 45.0, "battery": 96,
                               "linkquality": 120}
                    self.client.publish(f"zigbee2mqtt/{probe}", json.dumps(payload), qos=1)
                await asyncio.sleep(PERIOD)
                t += PERIOD
        finally:
            self.client.loop_stop()
            self.client.disconnect()
