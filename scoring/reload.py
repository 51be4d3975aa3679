"""Without a restart: a running scoring process looks at its model directory now and then, switches its
engine to models that changed there and audits the switch (``model.activated``) (:class:`ModelReload`);
and it reads the registry again now and then, so premises and devices imported while it runs are
scored with their profiles and setpoints, and every premises with its supervision record of the year
(:class:`SiteRefresh`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from core.errors import DatabaseError
from core.periodic import Every
from scoring.engine import Engine
from scoring.models import Models, ModelWatch
from scoring.store import load_sites, record_models

log = logging.getLogger(__name__)


class ModelReload:
    """Call :meth:`check` often (every tick); it looks at the files every ``every_s`` seconds (0: never)."""

    def __init__(
        self,
        engine: Engine,
        watch: ModelWatch,
        database_url: str | None,
        actor: str,
        every_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.watch = watch
        self.database_url = database_url
        self.actor = actor
        self.every_s = every_s
        self._due = Every(every_s, clock)
        self._unaudited: Models | None = None

    async def check(self) -> Models | None:
        """The new models when they were switched to just now."""
        if not self._due.due():
            return None
        models = await asyncio.to_thread(self.watch.poll)
        if models is not None:
            self.engine.scorer.models = models
            self._unaudited = models
            log.info("scoring with new models from %s: %s", models.source, models.versions())
        if self._unaudited is not None and self.database_url is not None:
            try:
                await asyncio.to_thread(record_models, self.database_url, self._unaudited, self.actor)
                self._unaudited = None
            except DatabaseError as error:  # the models are in use already; the entry is tried again
                log.warning("auditing the new models failed, retrying in %.0f s: %s", self.every_s, error)
        return models


class SiteRefresh:
    """Call :meth:`check` often (every tick); it reads the registry every ``every_s`` seconds (0: never).

    A failed read keeps the registry it has and is tried again at the next period: scoring goes on.
    """

    def __init__(
        self, engine: Engine, database_url: str, every_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine = engine
        self.database_url = database_url
        self.every_s = every_s
        self._due = Every(every_s, clock)

    async def check(self) -> bool:
        """Whether the registry was read again just now."""
        if not self._due.due():
            return False
        try:
            sites = await asyncio.to_thread(load_sites, self.database_url, self.engine.scorer.policy)
        except DatabaseError as error:
            log.warning("reading the registry again failed, trying in %.0f s: %s", self.every_s, error)
            return False
        before = len(self.engine.scorer.sites)
        self.engine.scorer.sites = sites
        if len(sites) != before:
            log.info("scoring: registry read again: %d premises (%d before)", len(sites), before)
        return True
