"""tocsin: real-time notifications for multi-vendor marketplaces.

The public API: the publisher client (`Client`, `AsyncClient`), the settings
and the app factory.
"""

from __future__ import annotations

from tocsin.app import create_app
from tocsin.client import AsyncClient, Client, ClientError, EventResult
from tocsin.settings import Settings

__all__ = ["AsyncClient", "Client", "ClientError", "EventResult", "Settings", "create_app"]
