"""Temperature exposure from stored samples: mean kinetic temperature (USP <1079.2>), time beyond a limit
and degree-minutes, computed at the samples' real, possibly uneven, spacing.

Times are aware datetimes, values in °C. Between two samples the value is taken as a straight line, so a
crossing of a limit is placed where the line crosses it.
"""

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

GAS_CONSTANT = 8.3144  # J/(mol·K), USP <1079.2>
DEFAULT_ACTIVATION_ENERGY_KJ = 83.144  # kJ/mol, USP <1079.2> and Ph. Eur. default: ΔH/R = 10,000 K
KELVIN = 273.15

Point = tuple[datetime, float]


def sample_weights(times: Sequence[datetime]) -> list[float]:
    """Seconds each sample stands for: half the gap to each neighbour (an end sample counts its one gap's
    half twice), so equally spaced samples weigh the same; one sample alone weighs 1."""
    if len(times) < 2:
        return [1.0] * len(times)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    return [gaps[0], *((left + right) / 2 for left, right in itertools.pairwise(gaps)), gaps[-1]]


def mean_kinetic_temperature(values_c: Sequence[float], *, weights: Sequence[float] | None = None,
                             activation_energy_kj: float = DEFAULT_ACTIVATION_ENERGY_KJ) -> float:
    """MKT in °C = (ΔH/R) / −ln(Σ wᵢ·exp(−ΔH/(R·Tᵢ)) / Σ wᵢ) − 273.15, Tᵢ in kelvin (USP <1079.2>; equal
    weights give the pharmacopoeia's formula for equally spaced samples). ValueError for no samples, a
    temperature at or below absolute zero or a non-positive ΔH."""
    if not values_c:
        raise ValueError("no temperatures to take the mean kinetic temperature of")
    if activation_energy_kj <= 0:
        raise ValueError(f"the activation energy must be positive, got {activation_energy_kj} kJ/mol")
    given = list(weights) if weights is not None else [1.0] * len(values_c)
    if len(given) != len(values_c) or any(w < 0 for w in given) or not sum(given) > 0:
        raise ValueError("weights must be one non-negative number per temperature, not all zero")
    ratio = activation_energy_kj * 1000 / GAS_CONSTANT  # ΔH/R in kelvin
    exponents = []
    for value in values_c:
        kelvin = value + KELVIN
        if kelvin <= 0:
            raise ValueError(f"{value} °C is at or below absolute zero")
        exponents.append(-ratio / kelvin)
    top = max(exponents)  # log-sum-exp keeps exp() of -40 or so exact to the last digit
    total = math.fsum(w * math.exp(x - top) for w, x in zip(given, exponents, strict=True))
    log_mean = top + math.log(total / math.fsum(given))
    return ratio / -log_mean - KELVIN


def series_mkt(points: Sequence[Point], *, activation_energy_kj: float = DEFAULT_ACTIVATION_ENERGY_KJ) -> float:
    """MKT in °C of samples in time order, each weighted by the time it stands for (``sample_weights``)."""
    return mean_kinetic_temperature([value for _, value in points],
                                    weights=sample_weights([at for at, _ in points]),
                                    activation_energy_kj=activation_energy_kj)


@dataclass(frozen=True, slots=True)
class Exceedance:
    """How long and how far samples went beyond one limit; ``first_at``/``last_at`` bound the time beyond it."""

    limit: float
    above: bool
    seconds: float
    degree_minutes: float
    first_at: datetime | None
    last_at: datetime | None


def exceedance(points: Sequence[Point], *, limit: float, above: bool = True) -> Exceedance:
    """Time beyond ``limit`` (above it, or below it when ``above`` is False) and the area beyond it in
    °C·min, along straight lines between successive samples."""
    seconds = area = 0.0
    first: datetime | None = None
    last: datetime | None = None
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        e0, e1 = (v0 - limit, v1 - limit) if above else (limit - v0, limit - v1)
        span = (t1 - t0).total_seconds()
        if (e0 <= 0 and e1 <= 0) or span <= 0:
            continue
        if e0 >= 0 and e1 >= 0:
            start, end, part, height = t0, t1, span, (e0 + e1) / 2
        elif e0 > 0:  # leaves the range beyond the limit: beyond from t0 to the crossing
            part = span * e0 / (e0 - e1)
            start, end, height = t0, t0 + timedelta(seconds=part), e0 / 2
        else:  # enters it: beyond from the crossing to t1
            part = span * e1 / (e1 - e0)
            start, end, height = t1 - timedelta(seconds=part), t1, e1 / 2
        seconds += part
        area += part * height
        first = first or start
        last = end
    return Exceedance(limit, above, seconds, area / 60, first, last)


def extremes(points: Sequence[Point]) -> tuple[Point, Point]:
    """The lowest and the highest sample (the first of equals); ValueError for no samples."""
    if not points:
        raise ValueError("no samples")
    return min(points, key=lambda p: p[1]), max(points, key=lambda p: p[1])
