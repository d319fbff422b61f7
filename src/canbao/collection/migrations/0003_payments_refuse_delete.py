"""Posted payments are never deleted either: the database refuses a DELETE of a payment row on
both databases, a TRUNCATE of the table on PostgreSQL, and on SQLite an INSERT OR REPLACE (or
REPLACE) that would overwrite one.

SQLite's REPLACE deletes the conflicting row without firing DELETE triggers (unless
``recursive_triggers`` is on, which is per connection), and a statement's OR REPLACE overrides
the table's conflict clause; so a BEFORE INSERT trigger refuses any new row that would collide
with a posted one on a unique column (the id, the channel key, the receipt, the payment
reversed). A plain INSERT of such a row would fail on the constraint anyway.

There is no way around these triggers on purpose, not even for tests: a test that needs
committed payments uses a database of its own and drops it (tests/test_concurrent_imports.py),
rather than ``transactional_db``, whose flush would delete them.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

DELETE_MESSAGE = "缴费记录一经入账不得删除，请做冲正"
REPLACE_MESSAGE = "缴费记录一经入账不得覆盖，请做冲正"


def create_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE FUNCTION collection_payment_refuse_delete() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{DELETE_MESSAGE}'; END; $$ LANGUAGE plpgsql"
        )
        schema_editor.execute(
            "CREATE TRIGGER collection_payment_refuse_delete BEFORE DELETE ON collection_payment "
            "FOR EACH ROW EXECUTE FUNCTION collection_payment_refuse_delete()"
        )
        schema_editor.execute(
            "CREATE TRIGGER collection_payment_refuse_truncate BEFORE TRUNCATE "
            "ON collection_payment FOR EACH STATEMENT "
            "EXECUTE FUNCTION collection_payment_refuse_delete()"
        )
    else:
        schema_editor.execute(
            "CREATE TRIGGER collection_payment_refuse_delete BEFORE DELETE ON collection_payment "
            f"BEGIN SELECT RAISE(ABORT, '{DELETE_MESSAGE}'); END"
        )
        # One lookup per unique column, each by its index; NEW.id is -1 when the insert leaves
        # the id to the database.
        collides = " OR ".join(
            f"EXISTS (SELECT 1 FROM collection_payment p WHERE {condition})"
            for condition in (
                "p.id = NEW.id",
                'p.campaign_id = NEW.campaign_id AND p.channel = NEW.channel AND p."key" = NEW."key"',
                "p.receipt_id = NEW.receipt_id",
                "p.reverses_id = NEW.reverses_id",
            )
        )
        schema_editor.execute(
            "CREATE TRIGGER collection_payment_refuse_replace BEFORE INSERT ON collection_payment "
            f"WHEN {collides} BEGIN SELECT RAISE(ABORT, '{REPLACE_MESSAGE}'); END"
        )


def drop_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for trigger in ("collection_payment_refuse_delete", "collection_payment_refuse_truncate"):
            schema_editor.execute(f"DROP TRIGGER {trigger} ON collection_payment")
        schema_editor.execute("DROP FUNCTION collection_payment_refuse_delete()")
    else:
        for trigger in ("collection_payment_refuse_delete", "collection_payment_refuse_replace"):
            schema_editor.execute(f"DROP TRIGGER {trigger}")


class Migration(migrations.Migration):
    dependencies = [("collection", "0002_payments_are_append_only")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
