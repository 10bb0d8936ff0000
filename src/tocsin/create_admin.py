"""`tocsin create-admin USERNAME`: create an admin, or set a new password."""

from __future__ import annotations

import asyncio
import getpass
import sys

from tocsin.admin.accounts import AdminAccounts, check_new_password, check_username
from tocsin.errors import ValidationFailed
from tocsin.settings import Settings
from tocsin.storage import migrate
from tocsin.storage.stores import Stores


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat it: ") != first:
            raise ValidationFailed("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def _save(settings: Settings, username: str, password: str) -> bool:
    should_migrate = settings.migrate_on_start
    if should_migrate is None:
        should_migrate = settings.database_url.startswith("sqlite")
    if should_migrate:
        await asyncio.to_thread(migrate.upgrade, settings.database_url)
    stores = Stores(settings.database_url)
    await stores.connect()
    try:
        return await AdminAccounts(stores.admins).save(username, password)
    finally:
        await stores.disconnect()


def create_admin(settings: Settings, username: str) -> int:
    """Create an admin, or set a new password; the password comes from a prompt or stdin."""
    check_username(username)
    password = _read_password()
    check_new_password(password)
    created = asyncio.run(_save(settings, username, password))
    print(f"admin {username!r} {'created' if created else 'has a new password'}")
    return 0
