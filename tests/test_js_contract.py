"""`static/tocsin.js` knows exactly the event names the server sends (`wire.EVENT_NAMES`).

`EventSource` hands a named event only to a listener registered under that
name, so an event the client does not listen for is lost without a trace, and
one the server never sends is dead code. The names are read from the source
without running it: every name the client registers a listener for — a
string literal, a string constant, or the variable of a loop over a list of
those (`for (const name of [...EVENTS, RESET]) es.addEventListener(name, …)`)
— or, where none can be read that way, the exported lists of event names
(`export const EVENTS = [...]`). The names it exports or compares an event's
name with (`event.event === RESET`) must be ones the server sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tocsin.realtime import wire

JS = Path(__file__).resolve().parents[1] / "static" / "tocsin.js"

# Fired by the browser (window, document, EventSource itself), never by the server.
BROWSER_EVENTS = frozenset(
    {
        "abort",
        "beforeunload",
        "blur",
        "close",
        "DOMContentLoaded",
        "error",
        "focus",
        "load",
        "message",
        "messageerror",
        "offline",
        "online",
        "open",
        "pagehide",
        "pageshow",
        "storage",
        "unload",
        "visibilitychange",
    }
)

_STRING = r"""(?:"((?:\\.|[^"\\\n])*)"|'((?:\\.|[^'\\\n])*)')"""
_TOKENS = re.compile(
    r"""("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|/\*.*?\*/|//[^\n]*""",
    re.S,
)
_CONST = re.compile(r"\b(export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*")
_LISTEN = re.compile(r"\.addEventListener\(\s*(" + _STRING + r"|[A-Za-z_$][\w$]*)")
_DISPATCH = re.compile(r"\.event\s*===?\s*(" + _STRING + r"|[A-Za-z_$][\w$]*)")
_FOR_OF = re.compile(r"\bfor\s*\(\s*(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s+of\s+")
_FOR_EACH = re.compile(
    r"(\[[^\]]*\]|[A-Za-z_$][\w$]*)\.forEach\(\s*(?:\(\s*)?([A-Za-z_$][\w$]*)\s*\)?\s*=>"
)


@dataclass
class ClientEvents:
    exported: set[str] = field(default_factory=set)
    listened: set[str] = field(default_factory=set)
    dispatched: set[str] = field(default_factory=set)


def _strip_comments(source: str) -> str:
    return _TOKENS.sub(lambda m: m.group(1) or " ", source)


def _literal(match: re.Match[str], first_group: int) -> str | None:
    """The text of a `_STRING` match whose groups start at `first_group`, if it was one."""
    for value in (match.group(first_group), match.group(first_group + 1)):
        if value is not None:
            return value
    return None


def _balanced(source: str, start: int) -> str:
    """The expression at `start`, up to the `)`, `;` or newline that ends it at depth 0."""
    depth = 0
    for i in range(start, len(source)):
        char = source[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return source[start:i]
            depth -= 1
        elif char in ";\n" and depth == 0:
            return source[start:i]
    return source[start:]


class _Names:
    """String and list constants of one module, resolved as far as plain reading goes."""

    def __init__(self, source: str) -> None:
        self.strings: dict[str, str] = {}
        self.lists: dict[str, set[str]] = {}
        self.exported: set[str] = set()
        for match in _CONST.finditer(source):
            name, expr = match.group(2), _balanced(source, match.end()).strip()
            string = re.fullmatch(_STRING, expr)
            if string is not None:
                value = _literal(string, 1)
                assert value is not None
                self.strings[name] = value
                continue
            values = self.resolve(expr)
            if values is None:
                continue
            self.lists[name] = values
            if match.group(1) and "EVENT" in name.upper():
                self.exported |= values

    def resolve(self, expr: str) -> set[str] | None:
        """The names an expression holds: a list or object literal (frozen or not), a constant."""
        expr = expr.strip()
        frozen = re.fullmatch(r"Object\.freeze\((.*)\)", expr, re.S)
        if frozen is not None:
            expr = frozen.group(1).strip()
        if expr in self.lists:
            return self.lists[expr]
        if expr in self.strings:
            return {self.strings[expr]}
        if expr[:1] == "{" and expr[-1:] == "}":
            # An object of names: its string values (`{NEW: "new_notification", ...}`).
            return {
                value
                for m in re.finditer(r":\s*" + _STRING, expr)
                if (value := _literal(m, 1)) is not None
            } or None
        if expr[:1] != "[" or expr[-1:] != "]":
            return None
        names: set[str] = set()
        for item in filter(None, (part.strip() for part in expr[1:-1].split(","))):
            string = re.fullmatch(_STRING, item)
            if string is not None:
                value = _literal(string, 1)
                assert value is not None
                names.add(value)
            elif item.startswith("...") and item[3:] in self.lists:
                names |= self.lists[item[3:]]
            elif item in self.strings:
                names.add(self.strings[item])
            else:
                return None  # something plain reading cannot follow
        return names

    def name(self, match: re.Match[str]) -> str | None:
        """The event name of a `_LISTEN` or `_DISPATCH` match, if it is a literal or a constant."""
        literal = _literal(match, 2)
        return literal if literal is not None else self.strings.get(match.group(1))


def client_events(source: str) -> ClientEvents:
    """The event names a JS module exports, listens for and dispatches on (see the docstring)."""
    source = _strip_comments(source)
    names = _Names(source)
    listened = {n for m in _LISTEN.finditer(source) if (n := names.name(m)) is not None}
    dispatched = {n for m in _DISPATCH.finditer(source) if (n := names.name(m)) is not None}
    for match in _FOR_OF.finditer(source):
        var, iterable = match.group(1), _balanced(source, match.end())
        body = source[match.end() + len(iterable) : match.end() + len(iterable) + 400]
        values = names.resolve(iterable)
        if values is not None and re.search(rf"\.addEventListener\(\s*{re.escape(var)}\b", body):
            listened |= values
    for match in _FOR_EACH.finditer(source):
        iterable, var = match.group(1), match.group(2)
        body = source[match.end() : match.end() + 400]
        values = names.resolve(iterable)
        if values is not None and re.search(rf"\.addEventListener\(\s*{re.escape(var)}\b", body):
            listened |= values
    return ClientEvents(names.exported, listened - BROWSER_EVENTS, dispatched)


def test_tocsin_js_knows_exactly_the_event_names_the_server_sends() -> None:
    found = client_events(JS.read_text())
    names = found.listened or found.exported
    if not names:
        pytest.fail(
            f"found no event names in {JS.name}: expected `addEventListener(...)` with a "
            "literal name, a string constant, or a loop over a list of them, or an exported "
            "list such as `export const EVENTS = [...]`. If the client now registers its "
            "listeners another way, teach `client_events` in tests/test_js_contract.py to read it."
        )
    unknown = wire.EVENT_NAMES - names
    assert not unknown, f"the server sends {sorted(unknown)}, which {JS.name} never listens for"
    unsent = names - wire.EVENT_NAMES
    assert not unsent, f"{JS.name} listens for {sorted(unsent)}, which the server never sends"


def test_tocsin_js_exports_and_dispatches_on_no_name_the_server_does_not_send() -> None:
    found = client_events(JS.read_text())
    unsent = found.exported - wire.EVENT_NAMES
    assert not unsent, f"{JS.name} exports {sorted(unsent)}, which the server never sends"
    unsent = found.dispatched - wire.EVENT_NAMES
    assert not unsent, f"{JS.name} looks for {sorted(unsent)}, which the server never sends"


# -- the reading itself, on the shapes the client may take ------------------------------


@pytest.mark.parametrize(
    ("source", "exported", "listened", "dispatched"),
    [
        pytest.param(
            """
            export const EVENTS = Object.freeze(["new_notification", "notification_update"]);
            const RESET = "reset";
            globalThis.addEventListener("online", wake);
            for (const name of [...EVENTS, RESET]) es.addEventListener(name, onEvent(name));
            """,
            {"new_notification", "notification_update"},
            {"new_notification", "notification_update", "reset"},
            set(),
            id="exported-list-and-a-loop",
        ),
        pytest.param(
            """
            es.addEventListener("new_notification", on);
            es.addEventListener('reset', on);
            es.addEventListener(`open`, on);
            es.addEventListener("error", on);
            """,
            set(),
            {"new_notification", "reset"},
            set(),
            id="literals",
        ),
        pytest.param(
            """
            export const EVENT_NAMES = ["a", "b"];
            EVENT_NAMES.forEach((name) => source.addEventListener(name, handle));
            """,
            {"a", "b"},
            {"a", "b"},
            set(),
            id="for-each",
        ),
        pytest.param(
            """
            export const STREAM_EVENTS = Object.freeze({ NEW: "a", RESET: "reset" });
            for (const type of Object.values(STREAM_EVENTS)) {
              es.addEventListener(type, handle);
            }
            """,
            {"a", "reset"},
            set(),
            set(),
            id="exported-object-unresolvable-loop",
        ),
        pytest.param(
            """
            // es.addEventListener("commented_out", x);
            /* es.addEventListener("also_not", x); */
            const url = "http://example.test/*";
            const RESET = "reset";
            if (event.event === RESET) reset();
            es.addEventListener("kept", x); // "*/"
            """,
            set(),
            {"kept"},
            {"reset"},
            id="comments-and-dispatch",
        ),
        pytest.param("export const STATES = ['live'];", set(), set(), set(), id="nothing"),
    ],
)
def test_client_events_reads(
    source: str, exported: set[str], listened: set[str], dispatched: set[str]
) -> None:
    found = client_events(source)
    assert found.exported == exported
    assert found.listened == listened
    assert found.dispatched == dispatched
