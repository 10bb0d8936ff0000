"""A non-editable install ships the templates, static files and migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_templates_static_files_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("tocsin-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "tocsin/static/tocsin.js",
        "tocsin/migrations/env.py",
        "tocsin/migrations/script.py.mako",
        "tocsin/migrations/versions/0001_initial.py",
        "tocsin/py.typed",
    }
    assert expected <= names
    repo_templates = {
        "tocsin/templates/" + p.relative_to(REPO / "templates").as_posix()
        for p in (REPO / "templates").rglob("*")
        if p.is_file() and p.name != ".keep"
    }
    assert repo_templates
    assert repo_templates <= names
    repo_static = {
        "tocsin/static/" + p.relative_to(REPO / "static").as_posix()
        for p in (REPO / "static").rglob("*")
        if p.is_file() and p.name != ".keep"
    }
    assert repo_static <= names
