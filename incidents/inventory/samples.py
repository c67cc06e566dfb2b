"""Sensor readings kept for reviews: the intake stores the readings of alerting sensors around incidents."""

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from itertools import islice

from sqlalchemy import insert
from sqlmodel import Session, col, select

from incidents.clock import as_utc
from incidents.inventory.tables import SensorSample
from incidents.readings import Reading
from incidents.units import unit_for

# Rows per INSERT: a minute of 5,000 sensors at once held ~8 MB of parameters for a moment, and the heap that
# moment grew stayed with the process (bench.memory); 500 at a time hold under 1 MB.
_ROWS_PER_INSERT = 500


def record_samples(session: Session, readings: Iterable[Reading], *, live: Collection[str] = ()) -> int:
    """Store numeric readings (states such as door open are stored as 1/0) with their unit, what the device
    sent when it was converted, and the out-of-calibration mark; returns how many.

    ``live``: sensors with an alert firing or warning now; their readings are marked to be kept for good.
    """
    rows = ({"sensor": r.sensor, "metric": r.metric, "value": float(r.value), "at": as_utc(r.ts),
             "unit": unit_for(r.metric) or r.unit or "", "raw_value": r.raw_value, "raw_unit": r.raw_unit,
             "out_of_calibration": r.out_of_calibration, "alert_live": r.sensor in live} for r in readings)
    stored = 0
    while chunk := list(islice(rows, _ROWS_PER_INSERT)):
        session.execute(insert(SensorSample), chunk)
        stored += len(chunk)
    return stored


def samples_between(session: Session, *, sensors: Sequence[str], start: datetime, end: datetime,
                    metric: str | None = None) -> list[SensorSample]:
    """Stored samples of ``sensors`` from ``start`` to ``end``, oldest first."""
    if not sensors:
        return []
    query = select(SensorSample).where(col(SensorSample.sensor).in_(list(sensors)), SensorSample.at >= start,
                                       SensorSample.at <= end)
    if metric is not None:
        query = query.where(SensorSample.metric == metric)
    return list(session.exec(query.order_by(col(SensorSample.sensor), col(SensorSample.at))))
