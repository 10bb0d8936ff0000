from __future__ import annotations

from django.urls import path

from bench.baselines.channels_app import views

urlpatterns = [
    path("api/v1/vendors/<str:vendor_id>/notifications", views.publish),
    path("api/v1/tokens", views.token),
    path("healthz", views.healthz),
]
