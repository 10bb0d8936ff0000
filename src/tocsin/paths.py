"""Where the templates and static files are: inside the package when installed,
at the top of the repository in a checkout (editable install)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent.parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _REPO / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"tocsin's {name}/ directory is missing from this installation")


def templates_dir() -> Path:
    return _find("templates")


def static_dir() -> Path:
    return _find("static")
