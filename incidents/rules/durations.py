"""Human durations in config files: ``30s``, ``5m``, ``2h``, ``1h30m`` or plain seconds."""

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | int | float) -> float:
    """Return the number of seconds in ``text``; raise ValueError with a plain message if it is not one."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration (use e.g. 30s, 5m, 2h)")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"{text} is negative; a duration must be 0 or more")
        return float(text)
    total, number, rest = 0.0, "", text.strip()
    if not rest:
        raise ValueError("empty duration (use e.g. 30s, 5m, 2h)")
    i = 0
    while i < len(rest):
        char = rest[i]
        if char.isdigit() or char == ".":
            number += char
            i += 1
            continue
        unit = "ms" if rest.startswith("ms", i) else char
        if not number or number.count(".") > 1 or unit not in _UNIT_SECONDS:
            raise ValueError(f'"{text}" is not a duration (use e.g. 30s, 5m, 2h)')
        total += float(number) * _UNIT_SECONDS[unit]
        number = ""
        i += len(unit)
    if number:
        raise ValueError(f'"{text}" has no unit (use e.g. {number}s or {number}m)')
    return total
