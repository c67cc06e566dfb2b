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


# What the demo's first minutes show (wareroom demo says it on screen): seconds after the site starts.
WARMING_STARTS_S = 2.0  # D1's compressor starts failing: its door-side probe rises 0.6 °C a second
HOLD_FROM_S = 9.0  # ... to 8.8 °C, above the 8 °C limit from about 8 s: the demo rule ("for: 5s") fires
REPAIRED_S = 150.0  # the compressor is fixed: D1 cools back into range


def cold_room_story(t: float) -> float:
    """D1's door-side probe over the scenario's seconds: in range, a fast rise from 2 s, above 8 °C from about
    8 s, held at 8.8 °C until the repair at 150 s, then back in range about ten seconds later."""
    if t < WARMING_STARTS_S:
        return 4.6
    if t < HOLD_FROM_S:
        return min(8.8, 4.6 + (t - WARMING_STARTS_S) * 0.6)  # compressor failing: a steady rise
    if t < REPAIRED_S:
        return 8.8
    return max(4.8, 8.8 - (t - REPAIRED_S) * 0.2)  # repaired: back in range, the incident notes the clear


class SiteSimulator:
    def __init__(self, url: str, probes: list[str], *, story: Callable[[float], float] = cold_room_story,
                 seed: int = 7) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 1883
        self.probes = probes
        self.story = story
        self.random = random.Random(seed)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="wareroom-demo-site")

    def value(self, probe: str, t: float) -> float:
        """What ``probe`` reads ``t`` seconds into the scenario (°C)."""
        if probe == "d1-probe-1":
            return round(self.story(t) + self.random.uniform(-0.05, 0.05), 2)
        if probe == "d1-probe-2":  # the far probe follows the door-side one, damped: it stays in range
            return round(4.6 + max(0.0, self.story(t) - 4.6) * 0.7, 2)
        return round(NORMAL.get(probe[:2], 10.0) + self.random.uniform(-0.3, 0.3), 2)

    async def run(self) -> None:
        """Publish every probe every two seconds until cancelled."""
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        log.info("demo site: %d probes reporting to %s:%s; cold room D1 starts warming in %.0f s",
                 len(self.probes), self.host, self.port, WARMING_STARTS_S)
        t = 0.0
        try:
            while True:
                for probe in self.probes:
                    payload = {"temperature": self.value(probe, t), "humidity": 45.0, "battery": 96,
                               "linkquality": 120}
                    self.client.publish(f"zigbee2mqtt/{probe}", json.dumps(payload), qos=1)
                await asyncio.sleep(PERIOD)
                t += PERIOD
        finally:
            self.client.loop_stop()
            self.client.disconnect()
