"""The alerts process's Prometheus metrics, read from the service when scraped.

| metric | type | meaning |
|---|---|---|
| ``firewarden_alerts_decisions_total`` | counter | scoring's decisions handled (incidents, hazards, schedule) |
| ``firewarden_alerts_delivered_total`` | counter | deliveries sent (webhook, e-mail) |
| ``firewarden_alerts_dead_total`` | counter | deliveries given up on (dead letters of the outbox) |
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from alerts.service import Alerts


class AlertsCollector(Collector):
    def __init__(self, alerts: Alerts) -> None:
        self.alerts = alerts

    def collect(self) -> Iterator[CounterMetricFamily]:
        a = self.alerts
        yield CounterMetricFamily("firewarden_alerts_decisions", "decisions handled", value=a.handled)
        yield CounterMetricFamily("firewarden_alerts_delivered", "deliveries sent", value=a.dispatcher.delivered)
        yield CounterMetricFamily("firewarden_alerts_dead", "deliveries given up on", value=a.dispatcher.dead)


def alerts_registry(alerts: Alerts) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(AlertsCollector(alerts))
    return registry
