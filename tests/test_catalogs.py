"""The dashboard's gettext catalogs: every word of its templates is in each catalog,
translated, and the compiled `.mo` that ships is the `.po` it was compiled from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tocsin import i18n

REPO = Path(__file__).resolve().parent.parent
DASHBOARD = REPO / "templates" / "dashboard"
LOCALES = [loc for loc in i18n.LOCALES if loc != i18n.DEFAULT_LOCALE]


def _marked() -> set[str]:
    """Every message the dashboard's templates pass to `_()`, as `scripts/i18n` extracts it."""
    found = extract_from_dir(
        str(REPO),
        method_map=[("templates/dashboard/**.html", "jinja2")],
        options_map={"templates/dashboard/**.html": {"extensions": "jinja2.ext.i18n"}},
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def _po(locale: str) -> Path:
    return i18n.CATALOGS / locale / "LC_MESSAGES" / "messages.po"


def _catalog(locale: str) -> Catalog:
    with _po(locale).open("rb") as f:
        return read_po(f, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_marked_word_is_translated_and_nothing_else_is_kept(locale: str) -> None:
    catalog = _catalog(locale)
    entries = {m.id: m.string for m in catalog if m.id}
    marked = _marked()
    assert marked, "no marked words found"
    assert sorted(marked - set(entries)) == [], "run scripts/i18n"
    assert sorted(set(entries) - marked) == [], "obsolete entries: run scripts/i18n"
    untranslated = sorted(k for k, v in entries.items() if not v)
    assert untranslated == []
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert fuzzy == []


def _messages(catalog: Catalog) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in catalog if m.id and not m.fuzzy}


@pytest.mark.parametrize("locale", LOCALES)
def test_the_shipped_mo_is_compiled_from_the_po(locale: str) -> None:
    """Message for message: the bytes also name the Babel release that wrote them."""
    catalog = _catalog(locale)
    with _po(locale).with_suffix(".mo").open("rb") as f:
        shipped = read_mo(f)
    assert _messages(shipped) == _messages(catalog), "run scripts/i18n compile"
    assert shipped.plural_forms == catalog.plural_forms


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale: str) -> None:
    catalog = _catalog(locale)
    marks = re.compile(r"%\(\w+\)s|\{\w+\}")
    for m in catalog:
        if m.id:
            assert sorted(marks.findall(m.id)) == sorted(marks.findall(m.string)), m.id


_JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
_ATTRIBUTE = re.compile(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"')


@pytest.mark.parametrize("page", sorted(p.name for p in DASHBOARD.glob("*.html")))
def test_no_word_of_a_page_escapes_the_catalog(page: str) -> None:
    """Text and labelling attributes hold no English outside `_()`."""
    source = (DASHBOARD / page).read_text()
    for value in _ATTRIBUTE.findall(source):
        assert not re.search(r"[A-Za-z]{2,}", _JINJA.sub("", value)), f"{page}: {value!r}"
    text = _JINJA.sub(" ", source)
    text = re.sub(r"<(script|code)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    words = set(re.findall(r"[A-Za-z]{2,}", text)) - {"tocsin"}
    assert words == set(), f"{page} has words outside the catalog: {sorted(words)}"
