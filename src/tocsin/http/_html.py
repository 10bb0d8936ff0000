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

from tocsin import paths
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
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    html = environment().get_template(template).render(request=request, **context)
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
