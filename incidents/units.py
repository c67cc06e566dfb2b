"""Canonical units: every reading of a metric is stored and shown in one unit (°C, %RH, hPa, V, W…)."""

CANONICAL: dict[str, str] = {
    "temperature": "°C",
    "humidity": "%RH",
    "pressure": "hPa",
    "voltage": "V",
    "current": "A",
    "power": "W",
    "energy": "kWh",
    "co2": "ppm",
    "battery": "%",
    "illuminance": "lx",
    "speed": "m/s",
}


def unit_for(metric: str) -> str:
    """The canonical unit of ``metric`` ("" for unitless or unknown metrics such as ``smoke``)."""
    return CANONICAL.get(metric, "")
