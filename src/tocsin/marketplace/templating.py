"""Notification templates (jinja2): title, body, link, email subject, text and HTML, SMS.

Per notification type, `<type>.txt` holds the plain-text blocks every channel
renders (`tocsin.delivery.channels.BLOCKS`: `title`, `body`, `link`,
`email_subject`, `email_text`, `sms`, `push_title`, `push_body`; see
`_base.txt`) and `<type>.html` the email's HTML part. Only `.html` is
autoescaped: the text parts are shown with `textContent` by the dashboard
and sent as `text/plain`. Each channel builds its message from the blocks
(`Channel.build`).

A notification the publisher wrote itself (`POST /api/v1/vendors/{v}/notifications`)
is rendered with `_direct.txt` and `_direct.html` from its own title, body and
link; an email digest with `_digest.txt` (`email_subject`, `email_text`) and
`_digest.html`, listing its items.

Per locale (`tocsin.i18n.LOCALES`), a file in the locale's subfolder
(`templates/notifications/ka/order_created.txt`) replaces the English one of
the same name; a file the locale lacks falls back to English, one file at a
time (`_base.txt`, `_layout.html` included). Money, numbers and times go
through Babel filters in the vendor's locale and timezone:
`{{ subtotal | money(currency) }}`, `{{ quantity | number }}`,
`{{ event.occurred_at | datetime }}` (also `date`, `time`).

The defaults live in `templates/notifications/`; a file of the same name in
`TOCSIN_TEMPLATES_DIR` replaces one, and `TOCSIN_TEMPLATES_DIR/ka/<name>`
replaces the Georgian one. Search order for locale `ka`: override `ka/`,
default `ka/`, override, default. `Templates.check()` compiles and renders
every template of every locale with sample data at start-up, so a broken one
stops the start with the file and line at fault instead of failing on the
first real event.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from tocsin import i18n, paths
from tocsin.delivery import Rendered
from tocsin.delivery.channels import BLOCKS, CHANNELS, HTML, IN_APP
from tocsin.errors import ConfigError
from tocsin.marketplace import registry
from tocsin.marketplace.rules import Recipient
from tocsin.model import Notification
from tocsin.notifications import samples

_LINK = re.compile(r"^(https?://\S+|/\S*)$")


def default_dir() -> Path:
    """`templates/notifications`, in an installed package or in a source checkout."""
    return paths.templates_dir() / "notifications"


class Templates:
    def __init__(self, override_dir: str | None = None, public_url: str = "") -> None:
        self.public_url = public_url.rstrip("/")
        self.override: Path | None = None
        if override_dir:
            self.override = Path(override_dir)
            if not self.override.is_dir():
                raise ConfigError(f"TOCSIN_TEMPLATES_DIR {override_dir!r} is not a directory")
        self.envs = {locale: self._environment(locale) for locale in i18n.LOCALES}
        self.env = self.envs[i18n.DEFAULT_LOCALE]

    def _environment(self, locale: str) -> jinja2.Environment:
        roots = [p for p in (self.override, default_dir()) if p is not None]
        search = [root / locale for root in roots] if locale != i18n.DEFAULT_LOCALE else []
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*search, *roots]),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        env.filters.update(_filters(locale))
        return env

    def _blocks(
        self,
        env: jinja2.Environment,
        name: str,
        context: dict[str, Any],
        blocks: tuple[str, ...] = BLOCKS,
    ) -> dict[str, str]:
        template = env.get_template(name)
        ctx = template.new_context(dict(context))
        # Rendering the whole template once registers the blocks of its parents.
        for _ in template.root_render_func(ctx):
            pass
        out = {}
        for block in blocks:
            if block not in ctx.blocks:
                raise ConfigError(f"template {name} has no block {block!r}")
            out[block] = "".join(ctx.blocks[block][0](ctx)).strip()
        return out

    def render(
        self,
        recipient: Recipient,
        locale: str = i18n.DEFAULT_LOCALE,
        timezone: str = i18n.DEFAULT_TIMEZONE,
    ) -> Rendered:
        """The blocks and HTML part of `recipient`'s notification, for every channel to build on,
        in `locale` (English where it has no template) with times in `timezone`."""
        kind = recipient.notification_type
        context = {**recipient.context, "public_url": self.public_url}
        return self._render(kind, context, locale, timezone)

    def render_direct(
        self,
        n: Notification,
        locale: str = i18n.DEFAULT_LOCALE,
        timezone: str = i18n.DEFAULT_TIMEZONE,
    ) -> Rendered:
        """A publisher's own notification, from its title, body and link (`_direct.*`),
        inside `locale`'s layout."""
        context = {
            "title": n.title,
            "body": n.body,
            "link": n.link or "",
            "type": n.type,
            "priority": n.priority,
            "vendor_id": n.vendor_id,
            "public_url": self.public_url,
        }
        return self._render("_direct", context, locale, timezone)

    def absolute(self, link: str | None) -> str | None:
        """An email is read outside the dashboard: its links must be absolute where possible."""
        if link and link.startswith("/") and self.public_url:
            return self.public_url + link
        return link or None

    def _env(self, locale: str, timezone: str, context: dict[str, Any]) -> jinja2.Environment:
        """`locale`'s environment (English for one tocsin lacks); `context` gets the clock."""
        context[TIMEZONE] = i18n.zone(timezone).key
        return self.envs[i18n.locale_or_default(locale)]

    def _render(self, name: str, context: dict[str, Any], locale: str, timezone: str) -> Rendered:
        env = self._env(locale, timezone, context)
        blocks = self._blocks(env, f"{name}.txt", context)
        html = ""
        if HTML:
            link = self.absolute(blocks["link"])
            html = env.get_template(f"{name}.html").render({**context, "link": link})
        return Rendered(blocks=blocks, html=html)

    def render_digest(
        self,
        vendor_id: str,
        items: list[dict[str, Any]],
        locale: str = i18n.DEFAULT_LOCALE,
        timezone: str = i18n.DEFAULT_TIMEZONE,
    ) -> Rendered:
        """One email listing `items` (each `{line, link, at}`) from `_digest.*`, in `locale`."""
        context = {
            "items": items,
            "count": len(items),
            "vendor_id": vendor_id,
            "public_url": self.public_url,
        }
        env = self._env(locale, timezone, context)
        blocks = self._blocks(env, "_digest.txt", context, ("email_subject", "email_text"))
        link = self.absolute("/dashboard")
        html = env.get_template("_digest.html").render({**context, "link": link})
        return Rendered(blocks=blocks, html=html)

    def check(self) -> None:
        """Render every event type's sample with every channel in every locale, and the
        direct notification's and the digest's templates; `ConfigError` naming the fault."""
        for locale in i18n.LOCALES:
            for entry in registry.EVENTS.values():
                self._check(entry, locale)
            self._check_generic(locale)

    def _check(self, entry: registry.EventType, locale: str) -> None:
        kind = entry.notification_type
        recipient = registry.recipients(registry.sample_event(entry.name, "template-check"))[0]
        try:
            rendered = self.render(recipient, locale, "Asia/Tbilisi")
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"notification template {exc.filename or exc.name}, line {exc.lineno}: "
                f"{exc.message}"
            ) from None
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(
                f"notification template {exc.name} is missing (needed for {kind})"
            ) from None
        except jinja2.TemplateError as exc:
            raise ConfigError(
                f"notification templates of {kind} ({locale}) fail to render with sample data"
                f"{_where(exc)}: {exc}"
            ) from None
        for channel in CHANNELS:
            channel.build(rendered)
        notice = IN_APP.build(rendered)
        if not notice.title:
            raise ConfigError(f"template {kind}.txt ({locale}) renders an empty title")
        if notice.link is not None and not _LINK.match(notice.link):
            raise ConfigError(
                f"template {kind}.txt ({locale}) renders a link that is neither "
                f"an http(s) URL nor a path: {notice.link!r}"
            )

    def _check_generic(self, locale: str) -> None:
        """The direct notification's and the digest's templates render a sample."""
        sample = samples.announcement()
        digest_items = [{"line": sample.title, "link": "", "at": "09:00"}]
        renders: list[tuple[str, Callable[[], Rendered]]] = [
            ("_direct", lambda: self.render_direct(sample, locale)),
            ("_digest", lambda: self.render_digest("acme-tools", digest_items, locale)),
        ]
        for name, render in renders:
            try:
                rendered = render()
            except jinja2.TemplateNotFound as exc:
                raise ConfigError(f"notification template {exc.name} is missing") from None
            except jinja2.TemplateError as exc:
                raise ConfigError(
                    f"notification template {name}.txt or {name}.html ({locale}) fails to render"
                    f"{_where(exc)}: {exc}"
                ) from None
            if name == "_direct":
                for channel in CHANNELS:
                    channel.build(rendered)


# The context variable the Babel filters read the vendor's timezone from.
TIMEZONE = "vendor_timezone"


def _filters(locale: str) -> dict[str, Any]:
    """Babel's formats bound to `locale`, reading the timezone from the render's context."""

    @jinja2.pass_context
    def datetime(ctx: jinja2.runtime.Context, value: Any, format: str = "medium") -> str:
        return i18n.when(value, locale, ctx.get(TIMEZONE, i18n.DEFAULT_TIMEZONE), format)

    @jinja2.pass_context
    def date(ctx: jinja2.runtime.Context, value: Any, format: str = "medium") -> str:
        return i18n.day(value, locale, ctx.get(TIMEZONE, i18n.DEFAULT_TIMEZONE), format)

    @jinja2.pass_context
    def time(ctx: jinja2.runtime.Context, value: Any, format: str = "short") -> str:
        return i18n.clock(value, locale, ctx.get(TIMEZONE, i18n.DEFAULT_TIMEZONE), format)

    def money(amount: Any, currency: str) -> str:
        return i18n.money(amount, currency, locale)

    def number(value: Any) -> str:
        return i18n.number(value, locale)

    return {"datetime": datetime, "date": date, "time": time, "money": money, "number": number}


def _where(exc: BaseException) -> str:
    """` (<file>, line <n>)`: the template line an error was raised at, if jinja2 kept it."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".txt", ".html")):
            where = f" ({name}, line {tb.tb_lineno})"
        tb = tb.tb_next
    return where
