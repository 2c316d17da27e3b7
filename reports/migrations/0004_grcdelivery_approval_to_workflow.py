"""The GRC delivery's approval now points at ``workflow.ApprovalRequest``: the same table, so state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0003_report_kind_without_choices'),
        ('workflow', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='grcdelivery',
                    name='approval',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='workflow.approvalrequest'),
                ),
            ],
        ),
    ]
