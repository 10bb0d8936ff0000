"""`tocsin send-event TYPE [DATA]`: post a marketplace event by hand, through `tocsin.client`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from tocsin.client import Client, ClientError
from tocsin.marketplace.registry import EVENTS
from tocsin.settings import Settings


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "send-event",
        help="post a marketplace event to a running tocsin",
        description=f"Event types: {', '.join(EVENTS)}.",
    )
    parser.add_argument("type", help="e.g. order.created")
    parser.add_argument("data", nargs="?", help="the event's data: JSON, @FILE, or - for stdin")
    parser.add_argument("--sample", action="store_true", help="send the built-in sample data")
    parser.add_argument("--id", help="event id (default: random); the same id is applied once")
    parser.add_argument(
        "--url",
        default=os.environ.get("TOCSIN_URL", "http://127.0.0.1:8000"),
        help="tocsin's base URL (default: $TOCSIN_URL or http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--api-key", help="publisher key (default: $TOCSIN_API_KEY, else TOCSIN_API_KEYS' first)"
    )


def _data(args: argparse.Namespace) -> dict[str, Any]:
    if args.sample:
        entry = EVENTS.get(args.type)
        return dict(entry.sample) if entry else {}
    raw = args.data
    if raw is None:
        raise SystemExit("tocsin send-event: give the event's data (JSON, @FILE or -) or --sample")
    if raw == "-":
        raw = sys.stdin.read()
    elif raw.startswith("@"):
        with open(raw[1:], encoding="utf-8") as f:
            raw = f.read()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"tocsin send-event: the data is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SystemExit("tocsin send-event: the data must be a JSON object")
    return data


def run(settings: Settings, args: argparse.Namespace) -> int:
    key = (
        args.api_key
        or os.environ.get("TOCSIN_API_KEY")
        or next(iter(settings.publisher_keys), None)
    )
    if not key:
        print("tocsin send-event: no API key (--api-key or TOCSIN_API_KEY)", file=sys.stderr)
        return 2
    data = _data(args)
    try:
        with Client(args.url, key) as client:
            result = client.send_event(args.type, data, id=args.id)
    except ClientError as exc:
        print(f"tocsin send-event: {exc}", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error.get('field')}: {error.get('message')}", file=sys.stderr)
        return 1
    answer = {
        "event_id": result.event_id,
        "notifications": result.notifications,
        "duplicate": result.duplicate,
    }
    print(json.dumps(answer, indent=2))
    return 0
