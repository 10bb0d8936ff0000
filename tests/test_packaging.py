"""A non-editable install works: the wheel, installed into a fresh virtualenv,
imports, runs its CLI and serves the embedded default from another folder.

`pip install .` once built a wheel without `tocsin.delivery`, so `import
tocsin.app` failed: every module of the source tree must be in the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests._server import free_port

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("tocsin-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel (and its dependencies) installed; its `bin/`."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        timeout=600,
    )
    return home / "bin"


def _clean_env() -> dict[str, str]:
    """The environment of a user's shell: no test settings, nothing pointing at the checkout."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "PYTHON"))}


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`command` from `cwd` in a user's environment; it must succeed."""
    done = subprocess.run(
        command, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done


def test_the_wheel_carries_every_module_template_static_file_and_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(SRC).as_posix() for p in (SRC / "tocsin").rglob("*.py")}
    assert modules, "no modules found under src/tocsin"
    assert modules <= names, f"missing from the wheel: {sorted(modules - names)}"
    assert "tocsin/py.typed" in names
    assert "tocsin/storage/migrations/script.py.mako" in names
    for folder in ("templates", "static"):
        files = {
            f"tocsin/{folder}/" + p.relative_to(REPO / folder).as_posix()
            for p in (REPO / folder).rglob("*")
            if p.is_file() and p.name != ".keep"
        }
        assert files, folder
        assert files <= names, f"missing from the wheel: {sorted(files - names)}"
    catalogs = {p.relative_to(SRC).as_posix() for p in (SRC / "tocsin" / "locale").rglob("*.mo")}
    assert catalogs, "no compiled catalogs: run scripts/i18n"
    assert catalogs <= names, f"missing from the wheel: {sorted(catalogs - names)}"


@pytest.mark.timeout(900)
def test_installed_wheel_imports_and_runs_its_cli(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    imported = _run(
        [str(installed / "python"), "-c", "import tocsin.app, tocsin; print(tocsin.__file__)"],
        elsewhere,
    )
    assert "site-packages" in imported.stdout, imported.stdout
    helped = _run([str(installed / "tocsin"), "--help"], elsewhere)
    assert "serve" in helped.stdout
    georgian = _run(
        [
            str(installed / "python"),
            "-c",
            "from tocsin import i18n; print(i18n.translations('ka').gettext('Preferences'))",
        ],
        elsewhere,
    )
    assert georgian.stdout.strip() == "პარამეტრები"


@pytest.fixture
def served(installed: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`tocsin serve` of the installed wheel, in an empty folder, with no settings at all."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(installed / "tocsin"), "serve", "--port", str(port)],
        cwd=elsewhere,
        env=_clean_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the installed tocsin did not answer /healthz"
            time.sleep(0.1)
        yield url, elsewhere
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.timeout(900)
def test_installed_wheel_serves_the_embedded_default_from_another_folder(
    installed: Path, served: tuple[str, Path]
) -> None:
    url, elsewhere = served
    assert (elsewhere / "tocsin.db").is_file(), "the embedded default keeps ./tocsin.db"

    script = httpx.get(url + "/static/tocsin.js")
    assert script.status_code == 200
    assert script.content == (REPO / "static" / "tocsin.js").read_bytes()

    minted = _run([str(installed / "tocsin"), "token", "acme"], elsewhere)
    token = minted.stdout.strip().splitlines()[-1]
    page = httpx.get(url + "/dashboard", cookies={"tocsin_token": token})
    assert page.status_code == 200, page.text
    assert 'data-tocsin="unread-count"' in page.text
    assert "acme" in page.text
