"""Trials of an evaluation matrix run on worker processes, each worker given the policy and models once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar, cast

from core.policy import Policy
from scoring import Models

T = TypeVar("T")
R = TypeVar("R")
RunOne = Callable[[object, Policy, Models], object]
_worker: tuple[RunOne, Policy, Models] | None = None


def _start_worker(run_one: RunOne, policy: Policy, models: Models) -> None:
    global _worker  # one function, policy and model set per worker process, sent once
    _worker = (run_one, policy, models)


def _run_chunk(trials: list[object]) -> list[object]:
    assert _worker is not None
    run_one, policy, models = _worker
    return [run_one(t, policy, models) for t in trials]


def run_trials(
    trials: Sequence[T],
    run_one: Callable[[T, Policy, Models], R],
    policy: Policy,
    models: Models,
    *,
    workers: int = 1,
    chunk: int = 50,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """``run_one`` over every trial, in order, on ``workers`` processes (``run_one`` must be a module-level
    function, so that it pickles); ``progress`` is told how many trials are done."""
    chunks = [list(trials[i : i + chunk]) for i in range(0, len(trials), chunk)]
    results: list[R] = []
    if workers <= 1:
        for part in chunks:
            results += [run_one(t, policy, models) for t in part]
            if progress:
                progress(len(results))
        return results
    with ProcessPoolExecutor(
        workers, initializer=_start_worker, initargs=(cast(RunOne, run_one), policy, models)
    ) as pool:
        try:
            for done in pool.map(_run_chunk, chunks):
                results += done  # type: ignore[arg-type]  # what run_one returned, pickled
                if progress:
                    progress(len(results))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return results
