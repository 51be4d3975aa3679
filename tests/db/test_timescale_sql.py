"""The TimescaleDB flavour, checked without a TimescaleDB server (none is installable here).

Every migration is parsed by PostgreSQL's own parser (libpg_query through pglast), and the
timescale flavour is checked to build what docs/operations.md promises, with the continuous
aggregate exposing the same columns as the plain flavour's view so that queries work on both.
"""

from __future__ import annotations

from typing import Any

import pytest
from pglast import ast, parse_sql

from core.db.migrate import Migration, available_migrations

MIGRATIONS = available_migrations()


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda m: f"{m.version:04d}_{m.name}")
@pytest.mark.parametrize("flavour", ["timescale", "plain"])
def test_every_migration_parses(migration: Migration, flavour: str) -> None:
    statements = parse_sql(migration.sql(flavour))  # type: ignore[arg-type]
    assert statements, "a migration with no statements"


def _timescale_statements() -> list[Any]:
    return [raw.stmt for m in MIGRATIONS for raw in parse_sql(m.flavour_sql.get("timescale", ""))]


def _function_calls() -> list[tuple[str, list[Any]]]:
    calls = []
    for stmt in _timescale_statements():
        if isinstance(stmt, ast.SelectStmt):
            for target in stmt.targetList:
                if isinstance(target.val, ast.FuncCall):
                    calls.append((target.val.funcname[-1].sval, list(target.val.args)))
    return calls


def _first_arg(args: list[Any]) -> str:
    value = args[0]
    return str(value.val.sval)


def test_hypertables_compression_and_retention() -> None:
    calls = _function_calls()
    by_name: dict[str, set[str]] = {}
    for name, args in calls:
        by_name.setdefault(name, set()).add(_first_arg(args))
    assert by_name["create_hypertable"] == {"readings", "events", "device_status"}
    assert by_name["add_compression_policy"] == {"readings"}
    assert by_name["add_retention_policy"] == {"readings", "events", "device_status"}
    assert by_name["add_continuous_aggregate_policy"] == {"readings_hourly"}
    compress = [s for s in _timescale_statements() if isinstance(s, ast.AlterTableStmt)]
    options = {d.defname for s in compress for cmd in s.cmds for d in cmd.def_}
    assert {"compress", "compress_segmentby", "compress_orderby"} <= options


def _output_columns(select: ast.SelectStmt) -> list[str]:
    return [t.name or t.val.fields[-1].sval for t in select.targetList]


def test_continuous_aggregate_matches_the_plain_view() -> None:
    caggs = [s for s in _timescale_statements() if isinstance(s, ast.CreateTableAsStmt)]
    assert len(caggs) == 1
    cagg = caggs[0]
    assert cagg.into.rel.relname == "readings_hourly"
    assert [(o.defnamespace, o.defname) for o in cagg.into.options] == [("timescaledb", "continuous")]
    assert cagg.into.skipData, "WITH NO DATA: creating with data cannot run inside the migration's transaction"

    views = [
        raw.stmt
        for m in MIGRATIONS
        for raw in parse_sql(m.flavour_sql.get("plain", ""))
        if isinstance(raw.stmt, ast.ViewStmt)
    ]
    plain = next(v for v in views if v.view.relname == "readings_hourly")
    assert _output_columns(cagg.query) == _output_columns(plain.query)
