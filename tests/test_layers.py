"""The layers of docs/architecture.md, checked on the imports of `src/tocsin`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "tocsin"

# Top to bottom; a layer may import from its own rank or any rank below it.
RANKS = {
    "http": 5,
    "marketplace": 4,
    "admin": 4,
    "delivery": 3,
    "notifications": 3,
    "realtime": 2,
    "storage": 1,
}
BASE = 0  # modules directly in the package: settings, errors, model, …
# Beside the layers: they wire the layers together and may use any of them.
BESIDE = {"app", "runtime", "cli", "create_admin", "demo", "serve", "send_event", "__init__"}
# Handlers reach the services through the running app's `Runtime` (which imports
# nothing from `http/`).
HANDLERS_MAY_USE = {"tocsin.runtime"}
DRIVERS = ("sqlalchemy", "databases", "asyncpg", "sqlite3", "alembic")


def _modules() -> list[tuple[str, list[str]]]:
    """`(dotted module, [imported tocsin-or-driver modules])` for every module."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        imported: list[str] = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.append(node.module)
                if node.module == "tocsin":
                    imported += [f"tocsin.{a.name}" for a in node.names]
        out.append((name, imported))
    return out


def _rank(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "tocsin" or len(parts) == 1:
        return None
    if len(parts) == 2:
        return None if parts[1] in BESIDE else BASE
    return RANKS.get(parts[1], BASE)


MODULES = _modules()


def test_the_package_has_its_layers() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert set(RANKS) <= folders


@pytest.mark.parametrize(("module", "imported"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_down(module: str, imported: list[str]) -> None:
    rank = _rank(module)
    if rank is None:
        return
    up = [m for m in imported if (r := _rank(m)) is None or r > rank]
    up = [m for m in up if m.startswith("tocsin.")]
    if module.startswith("tocsin.http."):
        up = [m for m in up if m not in HANDLERS_MAY_USE]
    assert not up, f"{module} imports from above its layer: {up}"


def test_sql_and_database_drivers_stay_in_storage_and_the_embedded_log() -> None:
    outside = [
        (module, m)
        for module, imported in MODULES
        for m in imported
        if m.split(".")[0] in DRIVERS
        and not module.startswith(("tocsin.storage.", "tocsin.realtime.eventlog."))
    ]
    assert not outside


def test_runtime_imports_nothing_from_http() -> None:
    (imported,) = [i for m, i in MODULES if m == "tocsin.runtime"]
    assert not [m for m in imported if m.startswith("tocsin.http")]


def test_handlers_import_no_store() -> None:
    reaching = [
        (module, m)
        for module, imported in MODULES
        if module.startswith("tocsin.http.")
        for m in imported
        if m.startswith("tocsin.storage")
    ]
    assert not reaching
