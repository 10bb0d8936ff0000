"""In-app: the notification itself, listed in the dashboard and pushed to open tabs.

Nothing is queued for it: marketplace ingest creates the notification through
the notification service, with the title, body and link built here.
"""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.delivery import Rendered, one_line

BLOCKS = ("title", "body", "link")
TITLE_MAX = 200
BODY_MAX = 5000


@dataclass(frozen=True, slots=True)
class Notice:
    title: str
    body: str
    link: str | None

    def to_json(self) -> dict[str, str]:
        return {"title": self.title, "body": self.body, "link": self.link or ""}


def build(rendered: Rendered) -> Notice:
    return Notice(
        title=one_line(rendered.blocks["title"])[:TITLE_MAX],
        body=rendered.blocks["body"][:BODY_MAX],
        link=rendered.blocks["link"] or None,
    )
