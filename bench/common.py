"""Shared set-up for the benchmarks: a generated site, the app's runtime over it, a broker to publish to."""

import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bot import db
from bot.bootstrap import Runtime, build
from bot.settings import PROJECT_ROOT, Settings

SHIPPED_RULES = PROJECT_ROOT / "config" / "rules.yaml"
SHIPPED_BROKER_CONFIG = PROJECT_ROOT / "docker" / "mosquitto.conf"


def report(name: str, value: object) -> None:
    """One result line, ``name: value``."""
    print(f"{name}: {value}", flush=True)


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which ``share`` (0..1) of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def write_site(directory: Path, *, probes: int, zones: int, sites: Sequence[str] = ("SH-01",),
               smoke_zones: int = 0) -> Path:
    """A devices.yaml with ``probes`` temperature probes spread evenly over ``zones`` cold rooms, zone
    ``z`` at ``sites[z * len(sites) // zones]`` (repeat a site to give it more zones), a UPS per site,
    and ``smoke_zones`` docks with one smoke detector each. Returns its path."""
    lines = ["zones:"]
    for z in range(zones):
        site = sites[z * len(sites) // zones]
        lines.append(f"  C{z}: {{site: {site}, name_zh: 冷库 C{z}, name_en: Cold room C{z}, class: cold-room, "
                     "thresholds: {temperature: {min: 2.0, max: 8.0}}}")
    lines += [f"  POWER-{site}: {{site: {site}, name_zh: 配电室, name_en: Power room, class: ambient}}"
              for site in dict.fromkeys(sites)]
    lines += [f"  DOCK{d}: {{site: {sites[0]}, name_zh: 月台 {d}, name_en: Dock {d}, class: ambient}}"
              for d in range(smoke_zones)]
    lines.append("devices:")
    for p in range(probes):
        zone = p * zones // probes
        site = sites[zone * len(sites) // zones]
        lines.append(f"  probe-{p}: {{site: {site}, zone: C{zone}, kind: temperature-probe}}")
    lines += [f"  ups-{site}: {{site: {site}, zone: POWER-{site}, kind: ups}}" for site in dict.fromkeys(sites)]
    lines += [f"  smoke-{d}: {{site: {sites[0]}, zone: DOCK{d}, kind: smoke-detector}}" for d in range(smoke_zones)]
    path = directory / "devices.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def runtime(directory: Path, devices: Path, *, database_url: str = "", rules: Path = SHIPPED_RULES) -> Runtime:
    """The app's object graph (``bot.bootstrap.build``) over a migrated database, not started."""
    settings = Settings(database_url=database_url, var_dir=directory / "var", devices_file=devices,
                        rules_file=rules, mqtt_url="mqtt://127.0.0.1:1883")
    built = build(settings)
    db.upgrade(built.db.url)
    return built


@contextmanager
def mosquitto(url: str, options: Mapping[str, str] | None = None) -> Iterator[str]:
    """``url`` when given; else a Mosquitto on a free loopback port with the broker config WareRoom ships,
    each of ``options`` (``{"max_queued_messages": "1000"}``) replacing the shipped setting of that name."""
    if url:
        yield url
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "mosquitto.conf"
        lines = SHIPPED_BROKER_CONFIG.read_text(encoding="utf-8").replace("listener 1883", f"listener {port}")
        lines = "\n".join(line for line in lines.splitlines() if line.split(" ")[0] not in (options or {}))
        config.write_text(lines + "".join(f"\n{name} {value}" for name, value in (options or {}).items()) + "\n",
                          encoding="utf-8")
        broker = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(port)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            broker.terminate()
            broker.wait(10)


def client(url: str, client_id: str = "") -> mqtt.Client:
    """A connected paho client with its network loop running."""
    host, port = url.removeprefix("mqtt://").split(":")
    made = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    made.max_inflight_messages_set(1000)
    made.max_queued_messages_set(0)
    made.connect(host, int(port))
    made.loop_start()
    return made


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on port {port}")
