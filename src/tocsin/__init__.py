"""tocsin: real-time notifications for multi-vendor marketplaces.

The public API: the publisher client (`Client`, `AsyncClient`), the settings
and the app factory. `create_app` is imported on first use, so a marketplace
backend that only needs the client does not load the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tocsin.client import AsyncClient, Client, ClientError, EventResult
from tocsin.settings import Settings

if TYPE_CHECKING:
    from tocsin.app import create_app

__all__ = ["AsyncClient", "Client", "ClientError", "EventResult", "Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from tocsin.app import create_app

        return create_app
    raise AttributeError(f"module 'tocsin' has no attribute {name!r}")
