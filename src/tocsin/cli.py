"""The `tocsin` command: serve, worker, migrate, token, demo, vapid-keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from tocsin import send_event
from tocsin.credentials import mint
from tocsin.errors import TocsinError
from tocsin.settings import Settings
from tocsin.storage import migrate


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from tocsin import serve

    serve.check_workers(settings, args.workers)
    if args.workers > 1:
        return serve.Supervisor(args.host, args.port, args.workers).run()
    serve.serve(settings, args.host, args.port, reuse_port=args.reuse_port)
    return 0


async def _worker(settings: Settings) -> None:
    from tocsin.runtime import Runtime

    rt = Runtime.build(settings)
    await rt.start(workers=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logging.getLogger("tocsin").info("worker running: outbox relay, email and SMS delivery")
    try:
        await stop.wait()
    finally:
        await rt.stop()


async def _demo(settings: Settings, args: argparse.Namespace) -> None:
    from tocsin import demo

    if args.vendor is not None:
        await demo.fill_and_print(settings, args.base_url, args.vendor, args.count)
    else:
        await demo.seed(settings, args.base_url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tocsin", description="Real-time notifications for marketplaces."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web app (and, by default, the relay)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes on the port (SO_REUSEPORT; needs TOCSIN_REDIS_URL), default 1",
    )
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("worker", help="run the outbox relay and email/SMS delivery alone")
    sub.add_parser("migrate", help="apply database migrations")
    token = sub.add_parser("token", help="print a vendor token")
    token.add_argument("vendor_id")
    token.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    send_event.add_parser(sub)
    admin = sub.add_parser(
        "create-admin", help="create an admin, or set a new password (from a prompt or stdin)"
    )
    admin.add_argument("username")
    demo = sub.add_parser("demo", help="create demo vendors with notifications")
    demo.add_argument("--base-url", default="http://127.0.0.1:8000")
    demo.add_argument(
        "--vendor", help="fill this one vendor with --count notifications in bulk instead"
    )
    demo.add_argument("--count", type=int, default=10_000, help="with --vendor (default 10000)")
    sub.add_parser("vapid-keys", help="print a new VAPID key pair for Web Push, as .env lines")
    args = parser.parse_args(argv)
    if args.command == "vapid-keys":
        from tocsin.delivery.push import generate_keys

        public, private = generate_keys()
        print(f"TOCSIN_VAPID_PUBLIC_KEY={public}\nTOCSIN_VAPID_PRIVATE_KEY={private}")
        return 0

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
        if args.command == "serve":
            return _serve(settings, args)
        elif args.command == "worker":
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(_worker(settings))
        elif args.command == "migrate":
            migrate.upgrade(settings.database_url)
            print("database is up to date")
        elif args.command == "token":
            value, _ = mint(settings, args.vendor_id, args.ttl)
            print(value)
        elif args.command == "send-event":
            return send_event.run(settings, args)
        elif args.command == "create-admin":
            from tocsin.create_admin import create_admin

            return create_admin(settings, args.username)
        elif args.command == "demo":
            from tocsin.fields import VENDOR_ID

            if args.count < 1:
                parser.error("--count must be at least 1")
            if args.vendor is not None and not VENDOR_ID.match(args.vendor):
                parser.error(f"--vendor {args.vendor!r} is not a valid vendor id")
            asyncio.run(_demo(settings, args))
    except TocsinError as exc:
        print(f"tocsin: {exc.detail}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
