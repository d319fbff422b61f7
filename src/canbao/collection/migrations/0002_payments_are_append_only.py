"""Posted payments are never updated: corrections are reversing entries. The database refuses an
UPDATE of a payment row on both SQLite and PostgreSQL."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

MESSAGE = "缴费记录一经入账不得修改，请做冲正"


def create_trigger(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE FUNCTION collection_payment_refuse_update() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql"
        )
        schema_editor.execute(
            "CREATE TRIGGER collection_payment_append_only BEFORE UPDATE ON collection_payment "
            "FOR EACH ROW EXECUTE FUNCTION collection_payment_refuse_update()"
        )
    else:
        schema_editor.execute(
            "CREATE TRIGGER collection_payment_append_only BEFORE UPDATE ON collection_payment "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def drop_trigger(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER collection_payment_append_only ON collection_payment")
        schema_editor.execute("DROP FUNCTION collection_payment_refuse_update()")
    else:
        schema_editor.execute("DROP TRIGGER collection_payment_append_only")


class Migration(migrations.Migration):
    dependencies = [("collection", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
