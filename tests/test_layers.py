"""The shape of the code: the core at the bottom imports no stage, each stage only what is below it,
the composition root (``firewarden``) on top is the one package that imports every stage, and no
running process imports the simulators, the offline training package or scikit-learn.

Each stage shows one face, its ``__init__``'s ``__all__``: another package imports a stage only
through it, and what it names is typed without ``Any``. Only storage adapters (``*_store.py``, a
``store/`` package, and the core's ``db`` and ``services``) import psycopg."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core", "ingest", "scoring", "alerts", "console", "report", "supervision", "simulators", "training", "gateway",
    "firewarden",
)  # fmt: skip
ALLOWED = {
    "core": set(),
    "ingest": {"core"},
    "scoring": {"core", "ingest"},
    "alerts": {"core", "scoring"},
    "console": {"core", "alerts", "report", "supervision"},
    "report": {"core"},
    "supervision": {"core", "alerts"},
    "simulators": {"core"},
    "training": {"core", "ingest", "scoring", "alerts", "simulators"},
    "gateway": {"core"},
    "firewarden": set(PACKAGES) - {"firewarden"},
}


def _imports(path: Path) -> set[str]:
    """Every package of ours a module imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in PACKAGES)
    return found


STAGES = ("ingest", "scoring", "alerts", "console", "report", "supervision", "simulators", "training", "gateway")


def _face(stage: str) -> set[str]:
    """The names a stage's ``__init__`` lists in ``__all__``, read without importing it."""
    tree = ast.parse((ROOT / stage / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def _reaches_past_a_face(path: Path, own: str) -> list[str]:
    """Each import of ``path`` that reaches into another stage past its face."""
    wrong = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            wrong += [a.name for a in node.names if a.name.split(".")[0] in STAGES and "." in a.name]
            wrong += [a.name for a in node.names if a.name in STAGES and a.name != own]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            stage = node.module.split(".")[0]
            if stage not in STAGES or stage == own:
                continue
            if node.module != stage:
                wrong.append(node.module)
            else:
                wrong += [f"{stage}.{a.name}" for a in node.names if a.name not in _face(stage)]
    return wrong


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_reaches_other_stages_only_through_their_faces(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): found
        for path in sorted((ROOT / package).rglob("*.py"))
        if (found := _reaches_past_a_face(path, package))
    }
    assert wrong == {}


def _is_store(path: Path) -> bool:
    relative = path.relative_to(ROOT)
    return (
        path.stem == "store"
        or path.stem.endswith("_store")
        or "store" in relative.parts[:-1]
        or relative.parts[:2] in (("core", "db"), ("core", "services"))
    )


def test_only_storage_adapters_import_psycopg() -> None:
    importers = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module]
                    if isinstance(node, ast.ImportFrom) and node.module
                    else []
                )
                if any(name.split(".")[0] in ("psycopg", "psycopg_pool") for name in names) and not _is_store(path):
                    importers.append(str(path.relative_to(ROOT)))
    assert sorted(set(importers)) == []


def _opaque(annotation: object) -> bool:
    # A database handle is passed through as it is: the Any is psycopg's row type, not the face's data.
    return getattr(get_origin(annotation) or annotation, "__module__", "").startswith(("psycopg", "contextlib"))


def _has_any(annotation: object) -> bool:
    if annotation is Any:
        return True
    return not _opaque(annotation) and any(_has_any(a) for a in get_args(annotation))


def _untyped(obj: object) -> list[str]:
    """The parameters, results and fields of a function or class that are ``Any`` or hold it."""
    found = []
    if inspect.isfunction(obj):
        found += [k for k, v in get_type_hints(obj).items() if _has_any(v)]
    elif inspect.isclass(obj):
        for attr, member in vars(obj).items():
            function = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
            if inspect.isfunction(function) and (not attr.startswith("_") or attr == "__init__"):
                found += [f"{attr}({k})" for k, v in get_type_hints(function).items() if _has_any(v)]
        if dataclasses.is_dataclass(obj) or hasattr(obj, "__struct_fields__"):
            found += [f".{k}" for k, v in get_type_hints(obj).items() if _has_any(v)]
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_a_face_is_typed_without_any(stage: str) -> None:
    face = importlib.import_module(stage)
    assert set(face.__all__) == _face(stage)
    untyped = {name: found for name in face.__all__ if (found := _untyped(getattr(face, name)))}
    assert untyped == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_what_is_below_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imports(path) - ALLOWED[package] - {package})
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_composition_root_is_the_one_package_that_imports_every_stage() -> None:
    stages = {"ingest", "scoring", "alerts", "console"}
    importing_all = [p for p in PACKAGES if stages <= set().union(*(_imports(f) for f in (ROOT / p).rglob("*.py")))]
    assert importing_all == ["firewarden"]


def test_the_running_processes_import_no_simulator_training_or_scikit_learn() -> None:
    modules = [
        "firewarden.cli",
        "firewarden.processes.ingest",
        "firewarden.processes.scoring",
        "firewarden.processes.alerts",
        "firewarden.processes.console",
        "firewarden.processes.system",
        "firewarden.processes.gateway",
    ]
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'simulators', 'training', 'sklearn', 'scipy'}))\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_image_copies_every_package() -> None:
    """deploy/Containerfile names the packages it copies one by one: a new package must be among them."""
    containerfile = (ROOT / "deploy" / "Containerfile").read_text(encoding="utf-8")
    copies = [line.split() for line in containerfile.splitlines() if line.startswith("COPY ")]
    copied = {words[1] for words in copies if len(words) == 3}
    assert set(PACKAGES) - copied == set()
