"""The governance workflow's models leave this app (they are ``workflow``'s now, same tables).

The old-named row triggers are dropped (workflow 0001 created them again under their ``workflow``
names), then the models are forgotten in the state only: no table, row or constraint is touched.
"""

import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0013_audit_moves_to_audit_app'),
        ('workflow', '0001_initial'),
        # every foreign key to the moved models points at workflow's before they leave
        ('reports', '0004_grcdelivery_approval_to_workflow'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name='evidencedocument', name='governance_evidence_fixed'),
        pgtrigger.migrations.RemoveTrigger(model_name='periodicreview', name='governance_review_closed_fixed'),
        pgtrigger.migrations.RemoveTrigger(model_name='periodicreview', name='governance_review_kept'),
        pgtrigger.migrations.RemoveTrigger(model_name='signature', name='governance_signature_final'),
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='approvalrequest',
                    name='model_version',
                ),
                migrations.RemoveField(
                    model_name='approvalrequest',
                    name='policy',
                ),
                migrations.RemoveField(
                    model_name='approvalrequest',
                    name='requested_by',
                ),
                migrations.RemoveField(
                    model_name='deployment',
                    name='approval',
                ),
                migrations.RemoveField(
                    model_name='signature',
                    name='request',
                ),
                migrations.RemoveField(
                    model_name='control',
                    name='framework',
                ),
                migrations.RemoveField(
                    model_name='deployment',
                    name='deployed_by',
                ),
                migrations.RemoveField(
                    model_name='deployment',
                    name='model_version',
                ),
                migrations.RemoveField(
                    model_name='deployment',
                    name='rolled_back_by',
                ),
                migrations.RemoveField(
                    model_name='evidencedocument',
                    name='evidence_type',
                ),
                migrations.RemoveField(
                    model_name='evidencedocument',
                    name='model_version',
                ),
                migrations.RemoveField(
                    model_name='evidencedocument',
                    name='uploaded_by',
                ),
                migrations.RemoveField(
                    model_name='periodicreview',
                    name='documents',
                ),
                migrations.RemoveField(
                    model_name='finding',
                    name='check_run',
                ),
                migrations.RemoveField(
                    model_name='finding',
                    name='model',
                ),
                migrations.RemoveField(
                    model_name='finding',
                    name='model_version',
                ),
                migrations.RemoveField(
                    model_name='finding',
                    name='owner',
                ),
                migrations.RemoveField(
                    model_name='finding',
                    name='raised_by',
                ),
                migrations.RemoveField(
                    model_name='periodicreview',
                    name='model',
                ),
                migrations.RemoveField(
                    model_name='periodicreview',
                    name='opened_by',
                ),
                migrations.RemoveField(
                    model_name='periodicreview',
                    name='signer',
                ),
                migrations.RemoveField(
                    model_name='policy',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='reviewnotice',
                    name='model',
                ),
                migrations.RemoveField(
                    model_name='signature',
                    name='signer',
                ),
                migrations.RemoveField(
                    model_name='webhookdelivery',
                    name='endpoint',
                ),
                migrations.RemoveField(
                    model_name='webhookendpoint',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='webhookendpoint',
                    name='team',
                ),
                migrations.DeleteModel(
                    name='ApprovalRequest',
                ),
                migrations.DeleteModel(
                    name='Control',
                ),
                migrations.DeleteModel(
                    name='Framework',
                ),
                migrations.DeleteModel(
                    name='Deployment',
                ),
                migrations.DeleteModel(
                    name='EvidenceType',
                ),
                migrations.DeleteModel(
                    name='EvidenceDocument',
                ),
                migrations.DeleteModel(
                    name='Finding',
                ),
                migrations.DeleteModel(
                    name='PeriodicReview',
                ),
                migrations.DeleteModel(
                    name='Policy',
                ),
                migrations.DeleteModel(
                    name='ReviewNotice',
                ),
                migrations.DeleteModel(
                    name='Signature',
                ),
                migrations.DeleteModel(
                    name='WebhookDelivery',
                ),
                migrations.DeleteModel(
                    name='WebhookEndpoint',
                ),
            ],
        ),
    ]
