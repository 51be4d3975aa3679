"""The shape of the code: the core at the bottom imports no stage, each stage only what is below it,
the composition root (``firewarden``) on top is the one package that imports every stage, and no
running process imports the simulators, the offline training package or scikit-learn."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core", "ingest", "scoring", "alerts", "console", "report", "supervision", "simulators", "training", "firewarden",
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
