"""`/openapi.json`, generated from the same pydantic models that validate requests.

What those models leave open is closed here from the registries: the event
types `POST /api/v1/events` accepts, the preferences' types and channels, and
the token `ttl` range the settings allow.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tocsin.delivery import channels
from tocsin.delivery.subscriptions import SubscriptionIn
from tocsin.fields import LINE_PATTERN, LOCALES, NOTIFICATION_TYPE_PATTERN, TEXT_PATTERN
from tocsin.http import schemas as models
from tocsin.http._request import MAX_ROW_ID, runtime
from tocsin.marketplace import preferences, registry
from tocsin.marketplace import schemas as events
from tocsin.marketplace.vendors import ContactBody, SettingsPatch

REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]

_MODELS: list[tuple[type[BaseModel], Mode]] = [
    (models.NotificationIn, "validation"),
    (models.NotificationPatch, "validation"),
    (models.BulkIn, "validation"),
    (models.SeenIn, "validation"),
    (models.TokenIn, "validation"),
    (events.Envelope, "validation"),
    (ContactBody, "validation"),
    (SettingsPatch, "validation"),
    (preferences.PreferencesPatch, "validation"),
    (SubscriptionIn, "validation"),
    (models.Notification, "serialization"),
    (models.NotificationPage, "serialization"),
    (models.BulkOut, "serialization"),
    (models.BulkJobOut, "serialization"),
    (models.UnreadCount, "serialization"),
    (models.TokenOut, "serialization"),
    (models.PollOut, "serialization"),
    (models.NotificationAudit, "serialization"),
    (models.Problem, "serialization"),
]

PUBLISHER: list[dict[str, list[str]]] = [{"apiKey": []}]
VENDOR: list[dict[str, list[str]]] = [{"vendorToken": []}, {"vendorCookie": []}]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _object(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


def _problems(*codes: int) -> dict[str, Any]:
    schema = {"application/problem+json": {"schema": _ref(models.Problem)}}
    return {str(code): {"description": "problem", "content": schema} for code in codes}


_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _answers_to_retry(paths: dict[str, Any]) -> None:
    """Add the answers any API call may get, each with its `Retry-After`: 503 when the
    database or the event log is unreachable, and 429 where a limit applies (a
    publisher's requests under `TOCSIN_PUBLISHER_RATE`, a vendor's open streams
    and waiting polls under `TOCSIN_MAX_STREAMS_PER_VENDOR`)."""
    for path, operations in paths.items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue  # e.g. the path's own `parameters`
            limited = operation.get("security") is PUBLISHER or path.startswith("/api/v1/stream")
            responses = operation["responses"]
            for code in (429, 503) if limited else (503,):
                answer = responses.setdefault(str(code), _problems(code)[str(code)])
                answer["headers"] = _RETRY_AFTER


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


FILTER_PARAMS = [
    _query("unread", {"type": "boolean"}),
    _query("seen", {"type": "boolean"}, "displayed by a live tab (or not)"),
    _query(
        "type",
        {"type": "array", "items": {"type": "string", "pattern": NOTIFICATION_TYPE_PATTERN}},
        "repeatable",
    ),
    _query(
        "priority", {"type": "array", "items": {"type": "string", "enum": list(models.PRIORITIES)}}
    ),
    _query("archived", {"type": "boolean", "default": False}),
    _query(
        "q",
        {"type": "string", "minLength": 1, "maxLength": 200, "pattern": TEXT_PATTERN},
        "search in title and body",
    ),
    _query("since", {"type": "string", "format": "date-time"}),
    _query("until", {"type": "string", "format": "date-time"}, "exclusive"),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    _query("cursor", {"type": "string"}, "next_cursor of the previous page"),
]


DELIVERY_PARAMS = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    _query(
        "cursor",
        {"type": "string", "pattern": "^[0-9]{1,19}$", "maxLength": len(str(MAX_ROW_ID))},
        "next_cursor of the previous page",
    ),
    _query("status", {"type": "string", "enum": ["pending", "sending", "sent", "failed"]}),
    _query("channel", {"type": "string", "enum": [c.name for c in channels.QUEUED]}),
]


def _close_schemas(schemas: dict[str, Any], token_max_ttl: int) -> None:
    """Name what the models accept by the registries and settings, not by their types."""
    schemas["TokenIn"]["properties"]["ttl"]["maximum"] = token_max_ttl
    schemas["Envelope"]["properties"]["type"]["enum"] = list(registry.EVENTS)
    patch = schemas["PreferencesPatch"]
    channels_ref = patch.pop("additionalProperties")
    patch["properties"] = {kind: channels_ref for kind in registry.NOTIFICATION_TYPES}
    patch["additionalProperties"] = False
    escalate = {
        "anyOf": [{"$ref": REF.format(model="EscalateIn")}, {"type": "null"}],
        "description": "null: never escalate",
    }
    schemas["Preferences"] = {
        "type": "object",
        "description": (
            "Every notification type: every channel on or off, the email's mode "
            "(instant or a digest) and the escalation."
        ),
        "properties": {
            kind: {
                "type": "object",
                "properties": {
                    **{name: {"type": "boolean"} for name in channels.NAMES},
                    "email_mode": {"type": "string", "enum": list(registry.EMAIL_MODES)},
                    "escalate": escalate,
                },
                "required": [*channels.NAMES, "email_mode", "escalate"],
                "additionalProperties": False,
            }
            for kind in registry.NOTIFICATION_TYPES
        },
        "required": list(registry.NOTIFICATION_TYPES),
        "additionalProperties": False,
    }
    settings_fields = schemas["SettingsPatch"]["properties"]
    schemas["Settings"] = {
        "type": "object",
        "description": "A vendor's settings, every field present.",
        "properties": {
            "locale": {"type": "string", "enum": list(LOCALES)},
            "timezone": {"type": "string"},
            "quiet_hours": settings_fields["quiet_hours"],
            "digest_hour": settings_fields["digest_hour"],
        },
        "required": ["locale", "timezone", "quiet_hours", "digest_hour"],
        "additionalProperties": False,
    }
    nullable_string = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    schemas["Contact"] = {
        "type": "object",
        "properties": {
            "vendor_id": {"type": "string"},
            **{c.contact.field: nullable_string for c in channels.CHANNELS if c.contact},
            "locale": {"type": "string", "enum": list(LOCALES)},
            "timezone": {"type": "string"},
        },
        "required": ["vendor_id", "locale", "timezone"],
        "additionalProperties": False,
    }


@functools.cache
def document(token_max_ttl: int) -> dict[str, Any]:
    _, defs = models_json_schema(_MODELS, ref_template=REF)
    _close_schemas(defs["$defs"], token_max_ttl)
    preferences_out = {
        "description": "preferences",
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Preferences")}}},
    }
    settings_out = {
        "description": "the settings",
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Settings")}}},
    }
    contact_out = {
        "description": "the contact",
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Contact")}}},
    }
    vendor_path = {
        "name": "vendor_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": models.VENDOR_ID_PATTERN},
    }
    id_path = {
        "name": "notification_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    paths: dict[str, Any] = {
        "/api/v1/tokens": {
            "post": {
                "summary": "Mint a vendor token",
                "security": PUBLISHER,
                "requestBody": _body(models.TokenIn),
                "responses": {
                    "201": _json(models.TokenOut, "the token"),
                    **_problems(400, 401, 403, 413, 415, 422),
                },
            }
        },
        "/api/v1/vendors/{vendor_id}/notifications": {
            "post": {
                "summary": "Create a notification (idempotent by dedupe_key or Idempotency-Key)",
                "security": PUBLISHER,
                "parameters": [
                    vendor_path,
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": (
                            "the same key and body again: the original (200); "
                            "the same key with another body: 422"
                        ),
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 200,
                            "pattern": LINE_PATTERN,
                        },
                    },
                ],
                "requestBody": _body(models.NotificationIn),
                "responses": {
                    "201": _json(models.Notification, "created"),
                    "200": _json(models.Notification, "already created with this key"),
                    **_problems(400, 401, 403, 413, 415, 422),
                },
            }
        },
        "/api/v1/notifications": {
            "get": {
                "summary": "List the vendor's notifications, newest first",
                "security": VENDOR,
                "parameters": FILTER_PARAMS,
                "responses": {
                    "200": _json(models.NotificationPage, "a page"),
                    **_problems(401, 403, 422),
                },
            }
        },
        "/api/v1/notifications/unread-count": {
            "get": {
                "summary": "Unread notifications, in total and by type",
                "security": VENDOR,
                "responses": {"200": _json(models.UnreadCount, "counts"), **_problems(401, 403)},
            }
        },
        "/api/v1/notifications/bulk": {
            "post": {
                "summary": "Mark read/unread, archive or delete many notifications",
                "security": VENDOR,
                "requestBody": _body(models.BulkIn),
                "responses": {
                    "200": _json(models.BulkOut, "how many changed"),
                    "202": {
                        **_json(
                            models.BulkJobOut,
                            "a change by filter over more than TOCSIN_BULK_SYNC_LIMIT "
                            "notifications: a job does it in chunks, each emitting "
                            "notification_update with ids null",
                        ),
                        "headers": {
                            "Location": {
                                "description": "the job's status",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    **_problems(400, 401, 403, 413, 415, 422),
                },
            }
        },
        "/api/v1/notifications/bulk/{job_id}": {
            "parameters": [
                {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {
                "summary": "A bulk job's progress",
                "security": VENDOR,
                "responses": {
                    "200": _json(models.BulkJobOut, "the job"),
                    **_problems(401, 403, 404),
                },
            },
        },
        "/api/v1/notifications/seen": {
            "post": {
                "summary": "Mark notifications seen: a live tab displayed them",
                "security": VENDOR,
                "requestBody": _body(models.SeenIn),
                "responses": {
                    "200": _json(models.BulkOut, "how many were not seen before"),
                    **_problems(400, 401, 403, 413, 415, 422),
                },
            }
        },
        "/api/v1/notifications/{notification_id}": {
            "parameters": [id_path],
            "get": {
                "summary": "One notification",
                "security": VENDOR,
                "responses": {
                    "200": _json(models.Notification, "the notification"),
                    **_problems(401, 404),
                },
            },
            "patch": {
                "summary": "Mark read/unread, archive/unarchive",
                "security": VENDOR,
                "requestBody": _body(models.NotificationPatch),
                "responses": {
                    "200": _json(models.Notification, "the notification"),
                    **_problems(400, 401, 404, 413, 415, 422),
                },
            },
            "delete": {
                "summary": "Delete",
                "security": VENDOR,
                "responses": {"204": {"description": "deleted"}, **_problems(401, 404)},
            },
        },
        "/api/v1/stream": {
            "get": {
                "summary": (
                    "Server-Sent Events: new_notification, notification_update, "
                    "order_status_update, reset"
                ),
                "security": [*VENDOR, {"queryToken": []}],
                "parameters": [
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                    _query("last_event_id", {"type": "string"}),
                ],
                "responses": {
                    "200": {"description": "an event stream", "content": {"text/event-stream": {}}},
                    **_problems(401, 403, 503),
                },
            }
        },
        "/api/v1/stream/poll": {
            "get": {
                "summary": "The stream's events as JSON, with long-polling",
                "security": [*VENDOR, {"queryToken": []}],
                "parameters": [
                    _query("after", {"type": "string"}, "the last event id seen"),
                    _query("wait", {"type": "number", "minimum": 0, "maximum": 30, "default": 0}),
                    _query(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
                    ),
                ],
                "responses": {
                    "200": _json(models.PollOut, "events"),
                    **_problems(401, 403, 422, 503),
                },
            }
        },
        "/api/v1/events": {
            "post": {
                "summary": (
                    "A marketplace event (order.created, payment.received, ...) -> "
                    "notifications; idempotent by its id (see docs/events.md)"
                ),
                "security": PUBLISHER,
                "requestBody": _body(events.Envelope),
                "responses": {
                    "202": _object("accepted: {event_id, notifications}"),
                    "200": _object("already accepted: the same answer"),
                    **_problems(400, 401, 403, 409, 413, 415, 422),
                },
            }
        },
        "/api/v1/preferences": {
            "get": {
                "summary": f"Per notification type and channel ({', '.join(channels.NAMES)})",
                "security": VENDOR,
                "responses": {"200": preferences_out, **_problems(401, 403)},
            },
            "put": {
                "summary": "Change some preferences (a partial update)",
                "description": (
                    "Per type: each channel on or off; `email_mode` `instant` mails at once, "
                    "`hourly`/`daily` lists the notification in the vendor's next digest; "
                    "`escalate` (null: never): unseen for `push_after_s` → a push, still "
                    "unseen at `sms_after_s` → an SMS (both from creation, cancelled once "
                    "seen or read). The escalation's push replaces the grace push and goes "
                    "whether `push` is on or not; its SMS is left out where `sms` is on "
                    "(that one went at once). Quiet hours (`/api/v1/settings`) hold email, "
                    "SMS and push until they end, except for `urgent` notifications."
                ),
                "security": VENDOR,
                "requestBody": _body(preferences.PreferencesPatch),
                "responses": {"200": preferences_out, **_problems(400, 401, 403, 413, 415, 422)},
            },
        },
        "/api/v1/vendors/{vendor_id}/contact": {
            "get": {
                "summary": "The vendor's contact, language and time zone",
                "security": PUBLISHER,
                "parameters": [vendor_path],
                "responses": {"200": contact_out, **_problems(401, 403, 422)},
            },
            "put": {
                "summary": (
                    "Where email and SMS go (null removes one); locale and timezone "
                    "when given (null: back to the default)"
                ),
                "security": PUBLISHER,
                "parameters": [vendor_path],
                "requestBody": _body(ContactBody),
                "responses": {
                    "200": contact_out,
                    **_problems(400, 401, 403, 413, 415, 422),
                },
            },
        },
        "/api/v1/settings": {
            "get": {
                "summary": "The vendor's language, time zone, quiet hours and digest hour",
                "security": VENDOR,
                "responses": {"200": settings_out, **_problems(401, 403)},
            },
            "put": {
                "summary": "Change some settings (a partial update; quiet_hours null: none)",
                "security": VENDOR,
                "requestBody": _body(SettingsPatch),
                "responses": {"200": settings_out, **_problems(400, 401, 403, 413, 415, 422)},
            },
        },
        "/api/v1/deliveries": {
            "get": {
                "summary": "The vendor's email, SMS and push deliveries and their attempts",
                "security": VENDOR,
                "parameters": DELIVERY_PARAMS,
                "responses": {"200": _object("deliveries"), **_problems(401, 403, 422)},
            }
        },
        "/api/v1/vendors/{vendor_id}/deliveries": {
            "get": {
                "summary": "A vendor's deliveries and their attempts",
                "security": PUBLISHER,
                "parameters": [vendor_path, *DELIVERY_PARAMS],
                "responses": {"200": _object("deliveries"), **_problems(401, 403, 422)},
            }
        },
        "/api/v1/notifications/{notification_id}/deliveries": {
            "parameters": [id_path],
            "get": {
                "summary": (
                    "The delivery audit of one notification: tabs it was streamed to, seen and "
                    "read, every channel's deliveries with their attempts, and a timeline"
                ),
                "security": VENDOR,
                "responses": {
                    "200": _json(models.NotificationAudit, "the notification's story"),
                    **_problems(401, 404),
                },
            },
        },
        "/api/v1/vendors/{vendor_id}/notifications/{notification_id}/deliveries": {
            "parameters": [vendor_path, id_path],
            "get": {
                "summary": "The delivery audit of one of a vendor's notifications",
                "security": PUBLISHER,
                "responses": {
                    "200": _json(models.NotificationAudit, "the notification's story"),
                    **_problems(401, 403, 404, 422),
                },
            },
        },
        "/api/v1/push/subscriptions": {
            "get": {
                "summary": "The vendor's Web Push subscriptions, and the VAPID public key",
                "security": VENDOR,
                "responses": {"200": _object("{public_key, items}"), **_problems(401, 403)},
            },
            "post": {
                "summary": (
                    "Subscribe a browser (its PushSubscription JSON); the same endpoint renews, "
                    "at most 20 per vendor (the least recently renewed goes)"
                ),
                "security": VENDOR,
                "requestBody": _body(SubscriptionIn),
                "responses": {
                    "201": _object("the subscription"),
                    **_problems(400, 401, 403, 404, 413, 415, 422),
                },
            },
        },
        "/api/v1/push/subscriptions/{subscription_id}": {
            "delete": {
                "summary": "Unsubscribe a browser",
                "security": VENDOR,
                "parameters": [
                    {
                        "name": "subscription_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"204": {"description": "deleted"}, **_problems(401, 404)},
            }
        },
        "/healthz": {
            "get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: database and event log reachable",
                "responses": {"200": {"description": "ready"}, **_problems(503)},
            }
        },
    }
    _answers_to_retry(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "tocsin", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "publisher API key"},
                "vendorToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "vendorCookie": {"type": "apiKey", "in": "cookie", "name": "tocsin_token"},
                "queryToken": {"type": "apiKey", "in": "query", "name": "access_token"},
            },
        },
    }


async def endpoint(request: Request) -> Response:
    return JSONResponse(document(runtime(request).settings.token_max_ttl))
