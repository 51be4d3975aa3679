"""The error tree drawn in core/errors.py's docstring is the tree the code has: every subclass of
FirewardenError in every package, with its parent and its module, and nothing drawn that is gone."""

from __future__ import annotations

import importlib
import pkgutil
import re

import core.errors
from core.errors import FirewardenError

_PACKAGES = ("core", "ingest", "scoring", "alerts", "supervision", "console", "report", "simulators", "training")
_LINE = re.compile(r"^(?P<indent>[\s│├└─]*?)(?:[├└]── )?(?P<name>[A-Z]\w+)\s+(?P<module>[a-z_.]+)(?:\s|$)")


def _drawn() -> dict[str, tuple[str | None, str]]:
    """name -> (parent name, module) as drawn; the depth is where the name starts on its line."""
    doc = core.errors.__doc__ or ""
    tree = doc.split("::", 1)[1]
    drawn: dict[str, tuple[str | None, str]] = {}
    stack: list[tuple[int, str]] = []
    for line in tree.splitlines():
        match = _LINE.match(line.strip("\n").removeprefix("    "))
        if match is None:
            continue
        depth = match.start("name")
        while stack and stack[-1][0] >= depth:
            stack.pop()
        drawn[match["name"]] = (stack[-1][1] if stack else None, match["module"])
        stack.append((depth, match["name"]))
    return drawn


def _real() -> dict[str, tuple[str | None, str]]:
    for package in _PACKAGES:
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            importlib.import_module(info.name)
    found: dict[str, tuple[str | None, str]] = {FirewardenError.__name__: (None, FirewardenError.__module__)}
    todo = [FirewardenError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found[sub.__name__] = (cls.__name__, sub.__module__)
            todo.append(sub)
    return found


def test_the_drawn_tree_is_the_tree_of_the_code() -> None:
    assert _drawn() == _real()


def test_each_error_lives_in_an_errors_module_or_the_wire_contract() -> None:
    modules = {module for _, module in _real().values()}
    assert {m for m in modules if not m.endswith(".errors")} == {"core.wire"}
