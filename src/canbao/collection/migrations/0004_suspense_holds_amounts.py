"""Suspense holds amounts, not a pointer to one payment: a resident's parts may all be held
together. Existing rows take their campaign, resident and amount from the payment they name;
``canbao payments recheck`` then derives every resident's holds again by the settlement rule."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def from_payments(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    schema_editor.execute(
        """UPDATE collection_suspense SET
          campaign_id = (SELECT p.campaign_id FROM collection_payment p
                         WHERE p.id = collection_suspense.payment_id),
          resident_id = (SELECT p.resident_id FROM collection_payment p
                         WHERE p.id = collection_suspense.payment_id),
          amount_fen = (SELECT p.amount_fen FROM collection_payment p
                        WHERE p.id = collection_suspense.payment_id)"""
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("collection", "0003_payments_refuse_delete"),
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="suspense", name="suspense_open"),
        migrations.AddField(
            model_name="suspense",
            name="amount_fen",
            field=models.BigIntegerField(null=True, verbose_name="挂账金额（分）"),
        ),
        migrations.AddField(
            model_name="suspense",
            name="campaign",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="suspense",
                to="campaigns.campaign",
            ),
        ),
        migrations.AddField(
            model_name="suspense",
            name="resident",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="suspense",
                to="registry.resident",
            ),
        ),
        migrations.RunPython(from_payments, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="suspense",
            name="amount_fen",
            field=models.BigIntegerField(verbose_name="挂账金额（分）"),
        ),
        migrations.AlterField(
            model_name="suspense",
            name="campaign",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="suspense",
                to="campaigns.campaign",
            ),
        ),
        migrations.AlterField(
            model_name="suspense",
            name="payment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="suspense",
                to="collection.payment",
            ),
        ),
        migrations.AddIndex(
            model_name="suspense",
            index=models.Index(fields=["campaign", "resolved_at"], name="suspense_open"),
        ),
        migrations.AddIndex(
            model_name="suspense",
            index=models.Index(fields=["campaign", "resident"], name="suspense_resident"),
        ),
        migrations.AddConstraint(
            model_name="suspense",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_fen__gt", 0)), name="suspense_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="suspense",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("resident__isnull", False), ("payment__isnull", False), _connector="OR"
                ),
                name="suspense_names_whose",
            ),
        ),
    ]
