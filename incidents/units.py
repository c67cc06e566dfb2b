"""Canonical units: every reading of a metric is stored and shown in one unit (°C, %RH, hPa, V, W…);
what devices send in other units (°F, K, mmHg, km/h, mV…) is converted on the way in.

Sources of the spellings and factors: Tasmota ``TempUnit`` (C/F, SetOption8), ``PressureUnit``
(hPa/mmHg/inHg, SetOption24 and SetOption139) and ``SpeedUnit`` (m/s, km/h, kn, mph, ft/s, yd/s);
Zigbee2MQTT exposes' ``unit`` fields (°C, %, hPa, mV, V, A, W, kWh, ppm, lx); SI and NIST SP 811
for the factors (1 inHg = 33.86389 hPa, 1 mmHg = 1.3332239 hPa, 1 kn = 1852/3600 m/s).
"""

from functools import lru_cache

CANONICAL: dict[str, str] = {
    "temperature": "°C",
    "dew_point": "°C",
    "heat_index": "°C",
    "device_temperature": "°C",
    "local_temperature": "°C",
    "humidity": "%RH",
    "pressure": "hPa",
    "sea_pressure": "hPa",
    "voltage": "V",
    "current": "A",
    "power": "W",
    "apparent_power": "VA",
    "reactive_power": "VAr",
    "energy": "kWh",
    "energy_today": "kWh",
    "energy_yesterday": "kWh",
    "co2": "ppm",
    "battery": "%",
    "illuminance": "lx",
    "speed": "m/s",
}
# Families whose members carry a suffix: Tasmota's ``"Speed":{"Act":…,"Avg":…}`` becomes speed_act, speed_avg.
_FAMILIES = ("speed_", "temperature_", "humidity_", "pressure_")

# unit symbol → (dimension, factor, offset): canonical = value * factor + offset
_UNITS: dict[str, tuple[str, float, float]] = {
    "°C": ("temperature", 1.0, 0.0),
    "°F": ("temperature", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "K": ("temperature", 1.0, -273.15),
    "%RH": ("ratio", 1.0, 0.0),
    "%": ("ratio", 1.0, 0.0),
    "hPa": ("pressure", 1.0, 0.0),
    "Pa": ("pressure", 0.01, 0.0),
    "kPa": ("pressure", 10.0, 0.0),
    "mmHg": ("pressure", 1.3332239, 0.0),
    "inHg": ("pressure", 33.86389, 0.0),
    "psi": ("pressure", 68.947573, 0.0),
    "m/s": ("speed", 1.0, 0.0),
    "km/h": ("speed", 1.0 / 3.6, 0.0),
    "kn": ("speed", 1852.0 / 3600.0, 0.0),
    "mph": ("speed", 0.44704, 0.0),
    "ft/s": ("speed", 0.3048, 0.0),
    "yd/s": ("speed", 0.9144, 0.0),
    "V": ("voltage", 1.0, 0.0),
    "mV": ("voltage", 0.001, 0.0),
    "A": ("current", 1.0, 0.0),
    "mA": ("current", 0.001, 0.0),
    "W": ("power", 1.0, 0.0),
    "kW": ("power", 1000.0, 0.0),
    "VA": ("apparent_power", 1.0, 0.0),
    "VAr": ("reactive_power", 1.0, 0.0),
    "kWh": ("energy", 1.0, 0.0),
    "Wh": ("energy", 0.001, 0.0),
    "ppm": ("concentration", 1.0, 0.0),
    "lx": ("illuminance", 1.0, 0.0),
}
# How senders spell them (compared in lower case, spaces removed).
_SPELLINGS: dict[str, str] = {
    **{symbol.lower(): symbol for symbol in _UNITS},
    "c": "°C", "℃": "°C", "celsius": "°C", "degc": "°C", "ºc": "°C",
    "f": "°F", "℉": "°F", "fahrenheit": "°F", "degf": "°F", "ºf": "°F",
    "kelvin": "K",
    "rh": "%RH", "%rh": "%RH",
    "mbar": "hPa", "millibar": "hPa",
    "kmh": "km/h", "kph": "km/h", "kt": "kn", "knots": "kn",
    "var": "VAr", "lux": "lx",
}


class UnitError(ValueError):
    """A unit that is unknown, or that does not measure the metric it is given for."""


@lru_cache(maxsize=256)
def unit_for(metric: str) -> str:
    """The canonical unit of ``metric`` ("" for unitless or unknown metrics such as ``smoke``)."""
    unit = CANONICAL.get(metric)
    if unit is not None:
        return unit
    head, _, tail = metric.rpartition("_")
    if head and tail.isdigit():  # temperature_2: the second of a list of values
        return unit_for(head)
    for family in _FAMILIES:
        if metric.startswith(family):
            return CANONICAL[family[:-1]]
    return ""


@lru_cache(maxsize=256)
def parse_unit(text: str) -> str:
    """The symbol for a unit as senders spell it (``F``, ``°F``, ``fahrenheit`` → ``°F``); UnitError if unknown."""
    symbol = _SPELLINGS.get(text.strip().replace(" ", "").lower())
    if symbol is None:
        raise UnitError(f'unit "{text[:32]}" is not one WareRoom knows ({", ".join(_UNITS)})')
    return symbol


def to_canonical(metric: str, value: float, unit: str) -> float:
    """``value`` of ``metric`` given in ``unit`` (a symbol from ``parse_unit``), in the metric's canonical unit.

    Raises UnitError when the unit does not measure that metric (°F for humidity)."""
    target = unit_for(metric)
    if unit == target:
        return value
    source = _UNITS.get(unit)
    wanted = _UNITS.get(target)
    if source is None or wanted is None or source[0] != wanted[0]:
        raise UnitError(f"{metric} is measured in {target or 'no unit'}; a value in {unit} cannot be converted")
    _, factor, offset = source
    return round(value * factor + offset, 6)


def canonical(metric: str, value: float, unit: str) -> tuple[float, str, float | None, str | None]:
    """``(value, unit, raw_value, raw_unit)`` of a reading sent in ``unit``: converted to the metric's canonical
    unit, the original kept as raw when they differ. A metric without a canonical unit keeps the sender's unit.
    Raises UnitError for an unknown unit or one that does not measure the metric."""
    target = unit_for(metric)
    if not target:
        return value, unit.strip()[:16], None, None
    symbol = parse_unit(unit)
    if symbol == target:
        return value, target, None, None
    converted = to_canonical(metric, value, symbol)
    _, factor, offset = _UNITS[symbol]
    return converted, target, (None if (factor, offset) == (1.0, 0.0) else value), (
        None if (factor, offset) == (1.0, 0.0) else symbol)


def with_unit(value: float, metric: str, digits: int = 1) -> str:
    """``5.0 °C``: a number with the canonical unit of ``metric`` for people to read."""
    return f"{value:.{digits}f} {unit_for(metric)}".rstrip()
