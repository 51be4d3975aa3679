"""``firewarden alerts``: decisions into incidents, hazards and the schedule; timers; the dispatcher.

Any number of alerts processes run side by side: they share ``fw.decisions`` as the consumer group
``firewarden-alerts`` (Kafka), and the database keeps them apart (one open incident per dedup key,
deliveries claimed with ``SKIP LOCKED``, timers idempotent). Health and metrics on ``metrics_port``:
ready while it consumes.
"""

from __future__ import annotations

import asyncio
import logging

from alerts import Alerts, alerts_registry, channels_of, directory_of
from core.bus import open_bus
from core.db import open_pool
from core.policy import Policy, load_policy
from core.services import database_url
from core.settings import Settings
from firewarden.processes.runtime import Health, require_kafka, require_migrated, stop_on_signals
from supervision import review_chore

log = logging.getLogger(__name__)


def run_alerts(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then handle what was read and finish the sends in flight."""
    require_kafka(settings, "alerts")
    policy = load_policy(settings.policy_file)
    with database_url(settings) as db_url:
        require_migrated(db_url)
        asyncio.run(_serve(settings, db_url, policy))


async def _serve(settings: Settings, db_url: str, policy: Policy) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop, "handling the decisions read, finishing the sends in flight")
    with open_pool(db_url, min_size=2, max_size=max(4, settings.db_pool_max_size)) as pool:
        async with open_bus(settings, client_id="firewarden-alerts") as bus:
            alerts = Alerts(pool, policy, directory_of(settings), channels_of(settings, policy), bus,
                            chores=[(policy.credit.review_every_s, review_chore(pool, policy))])  # fmt: skip
            health = Health("alerts", alerts_registry(alerts))
            health.ready = lambda: alerts.running
            async with health.serving(settings.metrics_port, stop):
                log.info("alerts: consuming %s as the group %s", "fw.decisions", "firewarden-alerts")
                await alerts.run(stop)
    log.info("alerts stopped: %d decisions handled, %d deliveries sent", alerts.handled, alerts.dispatcher.delivered)
