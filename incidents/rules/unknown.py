"""Devices that send readings but are not in the registry: counted and listed, not dead-lettered.

A site adds probes before it registers them; each of their readings is valid input that no rule can
use yet. The list says what an admin needs to register one: the name it is sent under, its hardware
id, the source and gateway, which metrics it sends, and when it was seen.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents.readings import Reading

MAX_LISTED = 10_000  # devices remembered; beyond that only the count grows
MAX_METRICS = 32


@dataclass(slots=True)
class UnknownDevice:
    name: str
    hardware_id: str | None
    source: str
    gateway: str | None
    first_seen: datetime
    last_seen: datetime
    readings: int = 0
    metrics: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        """The shape of ``GET /api/v1/intake/unknown-devices`` items."""
        return {"name": self.name, "hardware_id": self.hardware_id, "source": self.source, "gateway": self.gateway,
                "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
                "readings": self.readings, "metrics": sorted(self.metrics)}


class UnknownDevices:
    """Readings from devices the registry does not know, by (name, hardware id)."""

    def __init__(self) -> None:
        self._devices: dict[tuple[str, str | None], UnknownDevice] = {}
        self.readings = 0

    def note(self, reading: Reading) -> None:
        """Count a reading of an unregistered device."""
        self.readings += 1
        key = (reading.sensor, reading.hardware_id)
        device = self._devices.get(key)
        if device is None:
            if len(self._devices) >= MAX_LISTED:
                return
            device = self._devices[key] = UnknownDevice(reading.sensor, reading.hardware_id, reading.source,
                                                        reading.gateway, reading.ts, reading.ts)
        device.readings += 1
        device.last_seen = max(device.last_seen, reading.ts)
        if len(device.metrics) < MAX_METRICS:
            device.metrics.add(reading.metric)

    def listed(self) -> list[UnknownDevice]:
        """Every unknown device, the most recently seen first."""
        return sorted(self._devices.values(), key=lambda d: d.last_seen, reverse=True)

    def __len__(self) -> int:
        return len(self._devices)
