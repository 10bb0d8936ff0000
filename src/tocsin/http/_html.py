"""Server-rendered pages: the jinja2 environment, security headers and static URLs.

Every page carries a Content-Security-Policy without inline script or style:
what vendors and publishers write reaches the browser as escaped text
(autoescape here, `textContent` in the scripts), and even a slip would not run.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Literal

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tocsin import i18n, paths
from tocsin.settings import Settings

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@functools.cache
def static_url(name: str) -> str:
    """`/static/<name>?v=<content hash>`, so a new release is never served from a stale cache."""
    digest = hashlib.sha256((paths.static_dir() / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


@functools.cache
def environment(locale: str = i18n.DEFAULT_LOCALE) -> jinja2.Environment:
    """The pages' templates in `locale`: `_()` / `{% trans %}` from its gettext catalog,
    Babel's formats (`datetime`, `date`, `time`, `number`) in the page's `timezone`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals["static_url"] = static_url
    env.globals["locale"] = locale
    env.globals["lang"] = i18n.language_tag(locale)
    env.globals["timezone"] = i18n.DEFAULT_TIMEZONE
    env.globals["clock_format"] = i18n.clock_format(locale)

    @jinja2.pass_context
    def datetime(ctx: jinja2.runtime.Context, value: Any, format: str = "medium") -> str:
        return i18n.when(value, locale, ctx["timezone"], format)

    @jinja2.pass_context
    def date(ctx: jinja2.runtime.Context, value: Any, format: str = "medium") -> str:
        return i18n.day(value, locale, ctx["timezone"], format)

    @jinja2.pass_context
    def time(ctx: jinja2.runtime.Context, value: Any, format: str = "short") -> str:
        return i18n.clock(value, locale, ctx["timezone"], format)

    env.filters.update(
        datetime=datetime, date=date, time=time, number=lambda v: i18n.number(v, locale)
    )
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    locale: str = i18n.DEFAULT_LOCALE,
) -> Response:
    """`template` in `locale` (a `timezone` in `context` sets the clock of its times)."""
    env = environment(i18n.locale_or_default(locale))
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def redirect(url: str, *, headers: dict[str, str] | None = None) -> RedirectResponse:
    """A 303 (See Other): after a form post, the browser follows with a GET."""
    return RedirectResponse(url, status_code=303, headers={**SECURITY_HEADERS, **(headers or {})})


def secure_cookies(request: Request) -> bool:
    """Cookies only over HTTPS: always in production (TLS may end at a proxy that
    uvicorn does not trust for `X-Forwarded-Proto`), else when the request was HTTPS."""
    settings: Settings = request.app.state.settings
    return settings.production or request.url.scheme == "https"


SameSite = Literal["lax", "strict"]


def set_cookie(
    response: Response,
    request: Request,
    name: str,
    value: str,
    *,
    max_age: int,
    path: str,
    samesite: SameSite,
) -> None:
    """An HttpOnly cookie, `Secure` where `secure_cookies` says so."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite=samesite,
        secure=secure_cookies(request),
    )


def clear_cookie(response: Response, name: str, *, path: str, samesite: SameSite) -> None:
    response.delete_cookie(name, path=path, httponly=True, samesite=samesite)
