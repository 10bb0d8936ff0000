"""Notification templates (jinja2): title, body, link, email subject, text and HTML, SMS.

Per notification type, `<type>.txt` holds the plain-text blocks (`title`, `body`,
`link`, `email_subject`, `email_text`, `sms`; see `_base.txt`) and `<type>.html`
the email's HTML part. Only `.html` is autoescaped: the text parts are shown
with `textContent` by the dashboard and sent as `text/plain`.

The defaults live in `templates/notifications/`; a file of the same name in
`TOCSIN_TEMPLATES_DIR` replaces one. `Templates.check()` compiles and renders
every template with sample data at start-up, so a broken one stops the start
with the file and line at fault instead of failing on the first real event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from tocsin import paths
from tocsin.errors import ConfigError
from tocsin.marketplace.rules import RULES, Recipient, recipients
from tocsin.marketplace.schemas import SAMPLES, Envelope, parse

TEXT_BLOCKS = ("title", "body", "link", "email_subject", "email_text", "sms")
TITLE_MAX = 200
BODY_MAX = 5000
SMS_MAX = 1600  # ten concatenated SMS segments
_LINK = re.compile(r"^(https?://\S+|/\S*)$")
_BLANK_LINES = re.compile(r"\n{3,}")


def default_dir() -> Path:
    """`templates/notifications`, in an installed package or in a source checkout."""
    return paths.templates_dir() / "notifications"


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    body: str
    link: str | None
    email_subject: str
    email_text: str
    email_html: str
    sms: str


def _one_line(text: str) -> str:
    return " ".join(text.split())


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

    def _blocks(self, name: str, context: dict[str, Any]) -> dict[str, str]:
        template = self.env.get_template(name)
        ctx = template.new_context(dict(context))
        # Rendering the whole template once registers the blocks of its parents.
        for _ in template.root_render_func(ctx):
            pass
        out = {}
        for block in TEXT_BLOCKS:
            if block not in ctx.blocks:
                raise ConfigError(f"template {name} has no block {block!r}")
            out[block] = "".join(ctx.blocks[block][0](ctx)).strip()
        return out

    def render(self, recipient: Recipient) -> Rendered:
        """The texts of `recipient`'s notification, email and SMS."""
        kind = recipient.notification_type
        context = {**recipient.context, "public_url": self.public_url}
        blocks = self._blocks(f"{kind}.txt", context)
        link = blocks["link"] or None
        # An email is read outside the dashboard: its links must be absolute where possible.
        mail_link = link
        if link is not None and link.startswith("/") and self.public_url:
            mail_link = self.public_url + link
        html = self.env.get_template(f"{kind}.html").render({**context, "link": mail_link})
        return Rendered(
            title=_one_line(blocks["title"])[:TITLE_MAX],
            body=blocks["body"][:BODY_MAX],
            link=link,
            email_subject=_one_line(blocks["email_subject"]),
            email_text=_BLANK_LINES.sub("\n\n", blocks["email_text"]) + "\n",
            email_html=html,
            sms=_one_line(blocks["sms"])[:SMS_MAX],
        )

    def check(self) -> None:
        """Render every notification type with sample data; `ConfigError` naming the fault."""
        for event_type, rule in RULES.items():
            envelope = Envelope.model_validate(
                {
                    "id": "template-check",
                    "type": event_type,
                    "occurred_at": "2024-01-01T00:00:00Z",
                    "data": SAMPLES[event_type],
                }
            )
            recipient = recipients(parse(envelope))[0]
            try:
                rendered = self.render(recipient)
            except jinja2.TemplateSyntaxError as exc:
                raise ConfigError(
                    f"notification template {exc.filename or exc.name}, line {exc.lineno}: "
                    f"{exc.message}"
                ) from None
            except jinja2.TemplateNotFound as exc:
                raise ConfigError(
                    f"notification template {exc.name} is missing "
                    f"(needed for {rule.notification_type})"
                ) from None
            except jinja2.TemplateError as exc:
                raise ConfigError(
                    f"notification templates of {rule.notification_type} fail to render "
                    f"with sample data: {exc}"
                ) from None
            if not rendered.title:
                raise ConfigError(f"template {rule.notification_type}.txt renders an empty title")
            if rendered.link is not None and not _LINK.match(rendered.link):
                raise ConfigError(
                    f"template {rule.notification_type}.txt renders a link that is neither "
                    f"an http(s) URL nor a path: {rendered.link!r}"
                )
