"""Mean kinetic temperature (USP <1079.2>), time beyond a limit and degree-minutes, against values worked by hand."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from incidents.kinetics import exceedance, mean_kinetic_temperature, sample_weights, series_mkt

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize("celsius", [-20.0, 0.0, 5.0, 25.0])
def test_a_constant_series_has_its_own_temperature_as_mkt(celsius: float) -> None:
    assert mean_kinetic_temperature([celsius] * 48) == pytest.approx(celsius, abs=1e-9)
    assert series_mkt([(at(m), celsius) for m in range(0, 60, 7)]) == pytest.approx(celsius, abs=1e-9)


def test_two_temperatures_worked_by_hand() -> None:
    # ΔH/R = 83144 / 8.3144 = 10,000 K. Half the time at 5 °C, half at 25 °C:
    # exp(-10000/278.15) = 2.4340e-16, exp(-10000/298.15) = 2.7145e-15, mean 1.4790e-15,
    # -ln(1.4790e-15) = 34.1474, 10000 / 34.1474 = 292.848 K = 19.698 °C (above the 15 °C arithmetic mean).
    by_hand = 10_000 / -math.log((math.exp(-10_000 / 278.15) + math.exp(-10_000 / 298.15)) / 2) - 273.15
    assert by_hand == pytest.approx(19.698, abs=0.001)
    assert mean_kinetic_temperature([5.0, 25.0]) == pytest.approx(by_hand, abs=1e-9)
    assert mean_kinetic_temperature([5.0, 25.0, 5.0, 25.0]) == pytest.approx(by_hand, abs=1e-9)


def test_the_activation_energy_is_configurable_and_checked() -> None:
    default = mean_kinetic_temperature([5.0, 25.0])
    steeper = mean_kinetic_temperature([5.0, 25.0], activation_energy_kj=2 * 83.144)
    assert 15.0 < default < steeper < 25.0  # a larger ΔH weighs the warm half more
    with pytest.raises(ValueError, match="activation energy"):
        mean_kinetic_temperature([5.0], activation_energy_kj=0)
    with pytest.raises(ValueError, match="no temperatures"):
        mean_kinetic_temperature([])
    with pytest.raises(ValueError, match="absolute zero"):
        mean_kinetic_temperature([-300.0])


def test_uneven_sampling_weighs_each_reading_by_the_time_it_stands_for() -> None:
    # Readings at 0, 1 and 11 min: they stand for 1, 5.5 and 10 minutes.
    assert sample_weights([at(0), at(1), at(11)]) == [60.0, 330.0, 600.0]
    assert sample_weights([at(0), at(1), at(2)]) == [60.0, 60.0, 60.0]
    # Every 2 s while alarming and once a minute otherwise must not over-weigh the alarm: 10 min at 5 °C
    # (one a minute) then 1 min at 25 °C read every 2 s is, by time, 10/11 at 5 °C and 1/11 at 25 °C.
    calm = [(at(m), 5.0) for m in range(10)]
    hot = [(at(10 + s / 60), 25.0) for s in range(0, 62, 2)]
    weights = sample_weights([t for t, _ in calm + hot])
    by_time = mean_kinetic_temperature([5.0, 25.0], weights=[sum(weights[:10]), sum(weights[10:])])
    assert series_mkt(calm + hot) == pytest.approx(by_time, abs=1e-9)
    assert series_mkt(calm + hot) < mean_kinetic_temperature([v for _, v in calm + hot])


def test_time_and_degree_minutes_above_a_limit_along_straight_lines() -> None:
    # 7 → 9 → 7 °C over 20 minutes crosses 8 °C at 5 and 15 minutes: 10 minutes above, a triangle of
    # base 10 min and height 1 °C, so 5 °C·min.
    found = exceedance([(at(0), 7.0), (at(10), 9.0), (at(20), 7.0)], limit=8.0)
    assert (found.seconds, found.degree_minutes, found.first_at, found.last_at) == (600.0, 5.0, at(5), at(15))
    below = exceedance([(at(0), 3.0), (at(10), 1.0), (at(20), 1.0), (at(30), 3.0)], limit=2.0, above=False)
    assert (below.seconds, below.degree_minutes) == (1200.0, 15.0)  # 5 + 10 + 5 min; 2.5 + 10 + 2.5
    inside = exceedance([(at(0), 5.0), (at(10), 6.0)], limit=8.0)
    assert (inside.seconds, inside.degree_minutes, inside.first_at) == (0.0, 0.0, None)
