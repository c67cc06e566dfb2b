"""Prometheus metrics, read from the live runtime and the database when scraped."""

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select

from bot.bootstrap import Runtime
from incidents.lifecycle import OPEN_STATUSES
from incidents.tables import DeadLetter, Incident, OutboxMessage


class RuntimeCollector(Collector):
    """Intake counters, open incidents by severity, outbox backlog and dead letters."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        intake = self.runtime.intake
        stats = intake.stats
        yield CounterMetricFamily("wareroom_readings", "Readings of registered devices evaluated by the rules",
                                  value=stats.readings)
        yield CounterMetricFamily("wareroom_signals", "Alert signals applied to incidents", value=stats.signals)
        yield CounterMetricFamily("wareroom_rejected", "Inputs refused and kept as dead letters", value=stats.rejected)
        yield CounterMetricFamily("wareroom_mqtt_poison_messages", "MQTT messages whose decoding or handling raised "
                                  "(dead-lettered and acknowledged)", value=stats.poison)
        yield CounterMetricFamily("wareroom_dead_letter_failures", "Dead letters that could not be written "
                                  "(logged with topic and digest)", value=stats.dead_letter_failures)
        unused = CounterMetricFamily("wareroom_unused_inputs", "Valid input no rule uses, by kind",
                                     labels=["kind"])
        unused.add_metric(["unknown_device"], intake.unknown.readings)
        unused.add_metric(["metric_without_rule"], sum(intake.engine.unused_metrics.values()))
        for why, count in sorted(stats.ignored.items()):
            unused.add_metric([why], count)
        yield unused
        yield GaugeMetricFamily("wareroom_unknown_devices", "Devices sending readings that are not in the registry",
                                value=len(intake.unknown))
        yield GaugeMetricFamily("wareroom_broker_dropped_messages", "Messages the MQTT broker reports dropped "
                                "($SYS/broker/publish/messages/dropped)", value=intake.system.dropped)
        yield GaugeMetricFamily("wareroom_gateways_offline", "Gateways (Zigbee2MQTT bridges, Tasmota) offline",
                                value=len(intake.system.offline_gateways()))
        with self.runtime.db.reader() as session:
            open_statuses = [s.value for s in OPEN_STATUSES]
            by_severity = session.exec(select(Incident.severity, func.count())
                                       .where(col(Incident.status).in_(open_statuses))
                                       .group_by(Incident.severity)).all()
            by_status = session.exec(select(OutboxMessage.platform, OutboxMessage.status, func.count())
                                     .where(OutboxMessage.status != "sent")
                                     .group_by(OutboxMessage.platform, OutboxMessage.status)).all()
            letters = session.exec(select(func.count()).select_from(DeadLetter)).one()
        incidents = GaugeMetricFamily("wareroom_open_incidents", "Open incidents", labels=["severity"])
        for severity, count in by_severity:
            incidents.add_metric([severity], count)
        yield incidents
        outbox = GaugeMetricFamily("wareroom_outbox_undelivered", "Chat messages not delivered yet (pending or dead)",
                                   labels=["platform", "status"])
        for platform, status, count in by_status:
            outbox.add_metric([platform, status], count)
        yield outbox
        yield GaugeMetricFamily("wareroom_dead_letters", "Rows in the dead-letter table", value=letters)
        parked = GaugeMetricFamily("wareroom_outbox_dead_letters",
                                   "Chat messages parked after a refusal or the retry budget (see /outbox)",
                                   labels=["platform"])
        for platform, status, count in by_status:
            if status == "dead":
                parked.add_metric([platform], count)
        yield parked
        yield from self.runtime.channels.metrics()
        delivery = self.runtime.dispatcher.stats
        yield CounterMetricFamily("wareroom_outbox_in_doubt", "Rows found mid-send after a restart",
                                  value=delivery.in_doubt)
        yield CounterMetricFamily("wareroom_outbox_recovered", "Rows in doubt found at the platform: not resent",
                                  value=delivery.recovered)
        yield CounterMetricFamily("wareroom_outbox_resent", "Rows in doubt sent again (at-least-once window)",
                                  value=delivery.resent)
