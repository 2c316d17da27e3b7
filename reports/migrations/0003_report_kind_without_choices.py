# The kinds are declared in reports.services.report_kinds and checked by the request service; the column
# keeps no choices, so declaring a new kind needs no migration (the stored values do not change).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_durable_jobs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="report",
            name="kind",
            field=models.CharField(max_length=20),
        ),
    ]
