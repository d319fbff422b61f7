"""One writer of a campaign's money at a time.

Settling a person reads all of their payments; two imports that record payments for the same
people at once (say the tax file and the bank file) each read only their own, and both hold
their part as partial where together it was paid in full. ``lock_campaign`` serializes them: the
second waits for the first to commit, then sees its payments.

On PostgreSQL it is a transaction-level advisory lock on the campaign, waited for at most
``settings.LOCK_WAIT_SECONDS``. On SQLite every transaction takes the database's write lock when
it begins (the ``IMMEDIATE`` transaction mode in settings), waiting at most the same time (the
connection's busy timeout): the lock is held already, and the whole database, not one campaign,
is serialized. Past that wait SQLite's ``database is locked`` is raised by
``transaction.atomic()`` itself, before this module can see it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import OperationalError, connection

from canbao.errors import InputError

BUSY_MESSAGE = "另一个导入正在进行，请稍候再试"
# The first key of PostgreSQL's two-key advisory locks taken here ("cbao" in ASCII), the second
# being the campaign: apart from any other advisory lock in the database.
LOCK_NAMESPACE = int.from_bytes(b"cbao", "big")
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout expires


def lock_campaign(campaign_id: int) -> None:
    """Take the campaign's lock, held until the current transaction ends (commit or rollback);
    call it inside ``transaction.atomic()``, before the first read of the campaign's payments or
    assessments. Raises ``InputError("campaign_busy")`` when another transaction holds it past
    ``settings.LOCK_WAIT_SECONDS``; the transaction is then unusable and must roll back, which
    leaving ``atomic()`` with the error does."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_campaign must be called inside transaction.atomic()")
    if connection.vendor == "postgresql":
        _advisory_lock(campaign_id)
    elif connection.settings_dict["OPTIONS"].get("transaction_mode") != "IMMEDIATE":
        raise RuntimeError("SQLite must begin transactions IMMEDIATE (settings.DATABASES)")


def _advisory_lock(campaign_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (saved,) = cursor.fetchone()
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true)",
            [f"{settings.LOCK_WAIT_SECONDS * 1000}ms"],
        )
        try:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s::integer, %s::integer)",
                [LOCK_NAMESPACE, campaign_id],
            )
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                raise InputError("campaign_busy", BUSY_MESSAGE) from error
            raise
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [saved])
