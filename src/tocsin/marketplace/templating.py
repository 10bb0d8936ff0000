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

The defaults live in `templates/notifications/`; a file of the same name in
`TOCSIN_TEMPLATES_DIR` replaces one. `Templates.check()` compiles and renders
every template with sample data at start-up, so a broken one stops the start
with the file and line at fault instead of failing on the first real event.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from tocsin import paths
from tocsin.delivery import Rendered
from tocsin.delivery.channels import BLOCKS, CHANNELS, HTML, IN_APP
from tocsin.errors import ConfigError
from tocsin.marketplace import registry
from tocsin.marketplace.rules import Recipient
from tocsin.model import Notification

_LINK = re.compile(r"^(https?://\S+|/\S*)$")


def default_dir() -> Path:
    """`templates/notifications`, in an installed package or in a source checkout."""
    return paths.templates_dir() / "notifications"


class Templates:
    def __init__(self, override_dir: str | None = None, public_url: str = "") -> None:
        self.public_url = public_url.rstrip("/")
        loaders: list[jinja2.BaseLoader] = []
        if override_dir:
            path = Path(override_dir)
            if not path.is_dir():
                raise ConfigError(f"TOCSIN_TEMPLATES_DIR {override_dir!r} is not a directory")
            loaders.append(jinja2.FileSystemLoader(path))
        loaders.append(jinja2.FileSystemLoader(default_dir()))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )

    def _blocks(
        self, name: str, context: dict[str, Any], blocks: tuple[str, ...] = BLOCKS
    ) -> dict[str, str]:
        template = self.env.get_template(name)
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

    def render(self, recipient: Recipient) -> Rendered:
        """The blocks and HTML part of `recipient`'s notification, for every channel to build on."""
        kind = recipient.notification_type
        return self._render(kind, {**recipient.context, "public_url": self.public_url})

    def render_direct(self, n: Notification) -> Rendered:
        """A publisher's own notification, from its title, body and link (`_direct.*`)."""
        context = {
            "title": n.title,
            "body": n.body,
            "link": n.link or "",
            "type": n.type,
            "priority": n.priority,
            "vendor_id": n.vendor_id,
            "public_url": self.public_url,
        }
        return self._render("_direct", context)

    def absolute(self, link: str | None) -> str | None:
        """An email is read outside the dashboard: its links must be absolute where possible."""
        if link and link.startswith("/") and self.public_url:
            return self.public_url + link
        return link or None

    def _render(self, name: str, context: dict[str, Any]) -> Rendered:
        blocks = self._blocks(f"{name}.txt", context)
        html = ""
        if HTML:
            link = self.absolute(blocks["link"])
            html = self.env.get_template(f"{name}.html").render({**context, "link": link})
        return Rendered(blocks=blocks, html=html)

    def render_digest(self, vendor_id: str, items: list[dict[str, Any]]) -> Rendered:
        """One email listing `items` (each `{line, link, at}`) from `_digest.*`."""
        context = {
            "items": items,
            "count": len(items),
            "vendor_id": vendor_id,
            "public_url": self.public_url,
        }
        blocks = self._blocks("_digest.txt", context, ("email_subject", "email_text"))
        link = self.absolute("/dashboard")
        html = self.env.get_template("_digest.html").render({**context, "link": link})
        return Rendered(blocks=blocks, html=html)

    def check(self) -> None:
        """Render every event type's sample with every channel; `ConfigError` naming the fault."""
        for entry in registry.EVENTS.values():
            kind = entry.notification_type
            recipient = registry.recipients(registry.sample_event(entry.name, "template-check"))[0]
            try:
                rendered = self.render(recipient)
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
                    f"notification templates of {kind} fail to render with sample data"
                    f"{_where(exc)}: {exc}"
                ) from None
            for channel in CHANNELS:
                channel.build(rendered)
            notice = IN_APP.build(rendered)
            if not notice.title:
                raise ConfigError(f"template {kind}.txt renders an empty title")
            if notice.link is not None and not _LINK.match(notice.link):
                raise ConfigError(
                    f"template {kind}.txt renders a link that is neither "
                    f"an http(s) URL nor a path: {notice.link!r}"
                )
        self._check_generic()

    def _check_generic(self) -> None:
        """The direct notification's and the digest's templates render a sample."""
        sample = Notification(
            id="01J00000000000000000000000",
            vendor_id="acme-tools",
            type="announcement",
            title="Shop maintenance tonight",
            body="The shop is closed from 22:00 to 23:00.",
            data={},
            priority="normal",
            link="/news/1",
            created_at=0,
            read_at=None,
            seen_at=None,
            archived_at=None,
            dedupe_key=None,
        )
        digest_items = [{"line": sample.title, "link": "", "at": "09:00"}]
        renders: list[tuple[str, Callable[[], Rendered]]] = [
            ("_direct", lambda: self.render_direct(sample)),
            ("_digest", lambda: self.render_digest("acme-tools", digest_items)),
        ]
        for name, render in renders:
            try:
                rendered = render()
            except jinja2.TemplateNotFound as exc:
                raise ConfigError(f"notification template {exc.name} is missing") from None
            except jinja2.TemplateError as exc:
                raise ConfigError(
                    f"notification template {name}.txt or {name}.html fails to render"
                    f"{_where(exc)}: {exc}"
                ) from None
            if name == "_direct":
                for channel in CHANNELS:
                    channel.build(rendered)


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
