"""Kafka topic administration: make the bus topics a deployment needs, without an external tool.

``firewarden topics create`` (the composition root names the topics) calls :func:`create_topics`.
Creating is idempotent: a topic that exists is left as it is and reported with the partitions and
replicas it has, so running the command again (at every deploy, say) is safe. A topic that exists
with fewer partitions than asked is reported as such; partitions are never changed here, because
adding some moves premises to other partitions while their state stays behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code  # type: ignore[import-untyped]

from core.errors import BusError


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    config: dict[str, str] = field(default_factory=dict)
    """Topic-level settings, for example ``{"cleanup.policy": "compact"}`` for a changelog."""


@dataclass(frozen=True, slots=True)
class TopicState:
    name: str
    outcome: str
    """``created``, ``exists``, or ``exists with fewer partitions`` (asked more than it has)."""
    partitions: int
    replication: int


async def create_topics(
    bootstrap_servers: Sequence[str], specs: Sequence[TopicSpec], *, timeout_s: float = 30.0
) -> list[TopicState]:
    """Create every topic of ``specs`` that does not exist; describe each as it is afterwards.

    Raises :class:`~core.errors.BusError` when Kafka cannot be reached or refuses a topic for a
    reason other than that it exists (for example more replicas than brokers).
    """
    where = ",".join(bootstrap_servers)
    admin = AIOKafkaAdminClient(bootstrap_servers=list(bootstrap_servers), request_timeout_ms=int(timeout_s * 1000))
    try:
        await admin.start()
    except KafkaError as error:
        raise BusError(f"Kafka at {where} is unreachable: {error}") from None
    try:
        existing = set(await admin.list_topics())
        wanted = [s for s in specs if s.name not in existing]
        created: set[str] = set()
        if wanted:
            new = [NewTopic(s.name, s.partitions, s.replication, topic_configs=s.config or None) for s in wanted]
            response = await admin.create_topics(new)
            for name, code, *rest in response.topic_errors:
                if code == 0:
                    created.add(name)
                elif for_code(code) is not TopicAlreadyExistsError:  # another process made it meanwhile: fine
                    message = rest[0] if rest and rest[0] else for_code(code).__name__
                    raise BusError(f"Kafka at {where} refused to create topic {name}: {message}")
        described = {t["topic"]: t for t in await admin.describe_topics([s.name for s in specs])}
    except KafkaError as error:
        raise BusError(f"administering topics on Kafka at {where} failed: {error}") from None
    finally:
        await admin.close()
    states = []
    for spec in specs:
        partitions = described.get(spec.name, {}).get("partitions", [])
        replication = max((len(p.get("replicas", [])) for p in partitions), default=0)
        if spec.name in created:
            outcome = "created"
        elif len(partitions) < spec.partitions:
            outcome = "exists with fewer partitions"
        else:
            outcome = "exists"
        states.append(TopicState(spec.name, outcome, len(partitions), replication))
    return states
