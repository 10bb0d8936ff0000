from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.baselines.channels_app.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

http_app = get_asgi_application()

from bench.baselines.channels_app.consumers import VendorOrdersConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": URLRouter(
            [path("ws/vendors/<str:vendor_id>/", VendorOrdersConsumer.as_asgi())]
        ),
    }
)
