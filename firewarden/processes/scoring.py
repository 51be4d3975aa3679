"""Scoring as a process: the faust worker (``firewarden score``, on Kafka) and the local runner (in ``up``).

Both drive the same engine (:class:`scoring.runner.Engine`): only how records arrive and states are
kept differs.
"""

from __future__ import annotations

import os
import subprocess
import sys

from core.bus import Bus
from core.errors import SettingsError
from core.policy import Policy
from core.settings import KafkaBus, Settings
from scoring.engine import Engine
from scoring.models import Models, ModelWatch, models_for
from scoring.reload import ModelReload, SiteRefresh
from scoring.runner import LocalRunner
from scoring.scorer import Scorer
from scoring.site import load_sites
from scoring.store import DecisionStore, record_models


def worker_argv(settings: Settings) -> list[str]:
    """The faust worker's command line; it reads FIREWARDEN_* itself (scoring/app.py)."""
    level = {"warning": "warn"}.get(settings.log_level, settings.log_level)  # faust's own spelling
    return [sys.executable, "-m", "faust", "-A", "scoring.app", "worker", "--without-web", "-l", level]


def run_score(settings: Settings) -> None:
    """Become a faust scoring worker (exec): any number of them, split by the topics' partitions."""
    if not isinstance(settings.bus, KafkaBus):
        raise SettingsError(
            "`firewarden score` runs a faust worker and needs FIREWARDEN_BUS=kafka://...; on the local bus "
            "scoring runs in the process that runs ingest (`firewarden up`)"
        )
    argv = worker_argv(settings)
    os.execvpe(argv[0], argv, dict(os.environ) | settings.as_environment())


def start_worker(settings: Settings, database_url: str) -> subprocess.Popen[bytes]:
    """A faust worker as a child process (``up`` on Kafka), with the same settings."""
    env = dict(os.environ) | settings.as_environment() | {"FIREWARDEN_DATABASE_URL": database_url}
    return subprocess.Popen(worker_argv(settings), env=env)


def local_runner(
    settings: Settings, policy: Policy, database_url: str, bus: Bus, models: Models | None = None
) -> LocalRunner:
    """The in-process runner on the local bus, its models audited as the ones in use and switched when
    the model directory changes."""
    models = models or models_for(settings)
    record_models(database_url, models, "system:up")
    scorer = Scorer(policy, load_sites(database_url), models)

    def reload(engine: Engine) -> ModelReload:
        watch = ModelWatch(settings.models_path, models)
        return ModelReload(engine, watch, database_url, "system:up", settings.model_reload_s)

    def refresh(engine: Engine) -> SiteRefresh:
        return SiteRefresh(engine, database_url, settings.scoring_registry_refresh_s)

    return LocalRunner(
        scorer, bus, DecisionStore(database_url), wall_clock=settings.scoring_wall_clock,
        lateness_s=settings.scoring_lateness_s, reload=reload, refresh=refresh,
    )  # fmt: skip
