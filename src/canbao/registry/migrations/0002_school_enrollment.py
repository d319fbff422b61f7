"""Schools' rosters (学校名册): which school and grade a resident attends, and from when."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="importbatch",
            name="kind",
            field=models.CharField(
                choices=[
                    ("residents", "户籍人员"),
                    ("roster", "部门名册"),
                    ("schools", "学校名册"),
                    ("divisions", "行政区划"),
                    ("payments", "缴费明细"),
                    ("bank_credits", "银行入账"),
                    ("withholding_agreements", "委托代扣协议"),
                    ("withholding_returns", "代扣回盘"),
                ],
                max_length=32,
                verbose_name="类型",
            ),
        ),
        migrations.CreateModel(
            name="SchoolEnrollment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("school", models.CharField(max_length=100, verbose_name="学校名称")),
                ("grade", models.CharField(max_length=40, verbose_name="年级")),
                ("class_name", models.CharField(blank=True, max_length=40, verbose_name="班级")),
                (
                    "student_number",
                    models.CharField(blank=True, max_length=40, verbose_name="学籍号"),
                ),
                ("valid_from", models.DateField(verbose_name="有效期起（名册日期）")),
                ("valid_to", models.DateField(blank=True, null=True, verbose_name="有效期止")),
                ("created_at", models.DateTimeField(verbose_name="创建时间")),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="students",
                        to="registry.importbatch",
                    ),
                ),
                (
                    "resident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="schools",
                        to="registry.resident",
                    ),
                ),
            ],
            options={
                "verbose_name": "在校学生",
                "verbose_name_plural": "在校学生",
                "indexes": [
                    models.Index(fields=["school", "valid_from"], name="school_roster_day")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("valid_to__isnull", True)),
                        fields=("resident",),
                        name="school_one_open_per_resident",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("valid_to__isnull", True),
                            ("valid_from__lte", models.F("valid_to")),
                            _connector="OR",
                        ),
                        name="school_valid_range",
                    ),
                ],
            },
        ),
    ]
