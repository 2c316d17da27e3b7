"""The governance workflow's models move here from the ``governance`` app (now ``accounts``) without
touching their data.

State only (``SeparateDatabaseAndState`` with no database operations): the tables were created by
governance's migrations and keep their names (``db_table``), rows, constraints and indexes; this
migration tells Django that ``workflow`` now owns them. The one database change is the row triggers:
django-pgtrigger names a trigger after its model's app label, so the triggers are created again under
their ``workflow`` names here and governance 0014 drops the old ones (the tables are never unprotected).
Reports 0004 points its foreign key here, governance 0014 then forgets the models, and 0002 moves their
content types (permissions, object permissions and admin log entries follow).
"""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # the tables exist, as governance last shaped them, before the state claims them
        ('governance', '0013_audit_moves_to_audit_app'),
        ('monitoring', '0003_durable_jobs'),
        ('registry', '0004_durable_jobs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='EvidenceType',
                    fields=[
                        ('key', models.SlugField(max_length=64, primary_key=True, serialize=False)),
                        ('title', models.CharField(max_length=300)),
                    ],
                    options={
                        'db_table': 'governance_evidencetype',
                        'ordering': ['key'],
                    },
                ),
                migrations.CreateModel(
                    name='Framework',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.SlugField(max_length=64, unique=True)),
                        ('title', models.CharField(max_length=300)),
                        ('source', models.TextField(blank=True)),
                        ('url', models.URLField(blank=True, max_length=500)),
                    ],
                    options={
                        'db_table': 'governance_framework',
                        'ordering': ['key'],
                    },
                ),
                migrations.CreateModel(
                    name='EvidenceDocument',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('title', models.CharField(max_length=300)),
                        ('file_name', models.CharField(max_length=255)),
                        ('file_key', models.CharField(max_length=200)),
                        ('sha256', models.CharField(max_length=64)),
                        ('size', models.BigIntegerField()),
                        ('uploaded_at', models.DateTimeField(auto_now_add=True)),
                        ('model_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='evidence', to='registry.modelversion')),
                        ('uploaded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('evidence_type', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='workflow.evidencetype')),
                    ],
                    options={
                        'db_table': 'governance_evidencedocument',
                        'ordering': ['model_version_id', 'evidence_type__key', 'uploaded_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Finding',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source', models.CharField(default='review', max_length=20)),
                        ('severity', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High'), ('critical', 'Critical')], max_length=10)),
                        ('title', models.CharField(max_length=300)),
                        ('description', models.TextField(blank=True)),
                        ('due_date', models.DateField(blank=True, null=True)),
                        ('status', models.CharField(choices=[('open', 'Open'), ('remediated', 'Remediated'), ('risk_accepted', 'Risk accepted'), ('closed', 'Closed')], default='open', max_length=20)),
                        ('resolution', models.TextField(blank=True)),
                        ('dedupe_key', models.CharField(blank=True, max_length=200, null=True, unique=True)),
                        ('raised_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('check_run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='findings', to='monitoring.checkrun')),
                        ('model', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='findings', to='registry.registeredmodel')),
                        ('model_version', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='findings', to='registry.modelversion')),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='owned_findings', to=settings.AUTH_USER_MODEL)),
                        ('raised_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_finding',
                        'ordering': ['-raised_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Control',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=64)),
                        ('title', models.CharField(max_length=300)),
                        ('description', models.TextField(blank=True)),
                        ('satisfied_by', models.JSONField(default=dict)),
                        ('framework', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='controls', to='workflow.framework')),
                    ],
                    options={
                        'db_table': 'governance_control',
                        'ordering': ['framework__key', 'key'],
                    },
                ),
                migrations.CreateModel(
                    name='PeriodicReview',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('open', 'Open'), ('completed', 'Completed'), ('cancelled', 'Cancelled')], default='open', max_length=10)),
                        ('scope', models.TextField(blank=True, help_text='What the review covers and why now.')),
                        ('opened_at', models.DateTimeField(auto_now_add=True)),
                        ('conclusion', models.CharField(blank=True, choices=[('satisfactory', 'Satisfactory: the model remains fit for use'), ('satisfactory_with_findings', 'Satisfactory with findings: fit for use while the findings are remediated'), ('unsatisfactory', 'Unsatisfactory: the model is not fit for continued use')], max_length=30)),
                        ('summary', models.TextField(blank=True)),
                        ('valid_until', models.DateField(blank=True, help_text='The validity the review grants, if any.', null=True)),
                        ('printed_name', models.CharField(blank=True, max_length=300)),
                        ('roles', models.JSONField(blank=True, default=list)),
                        ('signed_at', models.DateTimeField(blank=True, null=True)),
                        ('auth_method', models.CharField(blank=True, max_length=30)),
                        ('payload', models.BinaryField(blank=True, null=True)),
                        ('server_signature', models.CharField(blank=True, max_length=128)),
                        ('key_id', models.CharField(blank=True, max_length=64)),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('cancel_reason', models.TextField(blank=True)),
                        ('documents', models.ManyToManyField(blank=True, db_table='governance_periodicreview_documents', related_name='reviews', to='workflow.evidencedocument')),
                        ('model', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reviews', to='registry.registeredmodel')),
                        ('opened_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('signer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_periodicreview',
                        'ordering': ['-opened_at', '-pk'],
                    },
                ),
                migrations.CreateModel(
                    name='Policy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tier', models.PositiveSmallIntegerField()),
                        ('version', models.PositiveIntegerField()),
                        ('name', models.CharField(max_length=200)),
                        ('is_active', models.BooleanField(default=False)),
                        ('required_checks', models.JSONField(default=list)),
                        ('required_evidence', models.JSONField(default=list)),
                        ('stages', models.JSONField(default=list)),
                        ('gated_environments', models.JSONField(default=dict)),
                        ('segregation', models.JSONField(default=list)),
                        ('review_frequency_months', models.PositiveSmallIntegerField(default=12)),
                        ('approval_valid_months', models.PositiveSmallIntegerField(default=12)),
                        ('blocking_finding_severity', models.CharField(default='high', max_length=10)),
                        ('review_trigger_severity', models.CharField(default='high', max_length=10)),
                        ('evidence_change', models.CharField(choices=[('close_gate', 'Close the gate until a new approval'), ('warn', 'Keep the gate open and warn')], default='warn', max_length=10)),
                        ('model_wide_findings', models.JSONField(blank=True, default=list, help_text='Finding sources (check, monitoring, review) that block every version of the model, not only the version they were raised on.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_policy',
                        'ordering': ['tier', '-version'],
                    },
                ),
                migrations.CreateModel(
                    name='ApprovalRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('environment', models.CharField(choices=[('staging', 'Staging'), ('production', 'Production')], max_length=20)),
                        ('stage_keys', models.JSONField(help_text='The policy stages this environment needs, in order.')),
                        ('stage_index', models.PositiveSmallIntegerField(default=0)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('invalidated', 'Invalidated (evidence changed)'), ('cancelled', 'Cancelled')], default='pending', max_length=20)),
                        ('evidence_manifest', models.JSONField()),
                        ('evidence_digest', models.CharField(max_length=64)),
                        ('justification', models.TextField(blank=True)),
                        ('requested_at', models.DateTimeField(auto_now_add=True)),
                        ('completed_at', models.DateTimeField(blank=True, null=True)),
                        ('expires_at', models.DateTimeField(blank=True, help_text='Set when approved: review date.', null=True)),
                        ('outcome_reason', models.TextField(blank=True)),
                        ('model_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='approvals', to='registry.modelversion')),
                        ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('policy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='approvals', to='workflow.policy')),
                    ],
                    options={
                        'db_table': 'governance_approvalrequest',
                        'ordering': ['-requested_at'],
                    },
                ),
                migrations.CreateModel(
                    name='ReviewNotice',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('due_date', models.DateField()),
                        ('notified_at', models.DateTimeField(auto_now_add=True)),
                        ('model', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='review_notices', to='registry.registeredmodel')),
                    ],
                    options={
                        'db_table': 'governance_reviewnotice',
                        'ordering': ['-notified_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Signature',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('stage_key', models.CharField(max_length=64)),
                        ('printed_name', models.CharField(max_length=300)),
                        ('roles', models.JSONField()),
                        ('decision', models.CharField(choices=[('approve', 'Approve'), ('reject', 'Reject')], max_length=10)),
                        ('meaning', models.CharField(choices=[('review', 'Review: I have reviewed the evidence'), ('approval', 'Approval: I approve this version for the environment'), ('responsibility', 'Responsibility: I take responsibility for this model in use')], max_length=20)),
                        ('comment', models.TextField(blank=True)),
                        ('signed_at', models.DateTimeField()),
                        ('auth_method', models.CharField(max_length=30)),
                        ('evidence_digest', models.CharField(max_length=64)),
                        ('policy_version', models.PositiveIntegerField()),
                        ('policy_tier', models.PositiveSmallIntegerField()),
                        ('requester_id_at_signing', models.BigIntegerField()),
                        ('submitter_id_at_signing', models.BigIntegerField()),
                        ('owner_id_at_signing', models.BigIntegerField()),
                        ('payload', models.BinaryField(help_text='The RFC 8785 bytes the server signed.')),
                        ('server_signature', models.CharField(max_length=128)),
                        ('key_id', models.CharField(max_length=64)),
                        ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='signatures', to='workflow.approvalrequest')),
                        ('signer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='signatures', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_signature',
                        'ordering': ['request_id', 'signed_at'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookEndpoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('url', models.URLField(max_length=1000)),
                        ('description', models.CharField(blank=True, max_length=300)),
                        ('secret', models.CharField(max_length=200)),
                        ('events', models.JSONField(default=list, help_text='Event types to send; empty means all.')),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance.team')),
                    ],
                    options={
                        'db_table': 'governance_webhookendpoint',
                        'ordering': ['id'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('claim_token', models.CharField(blank=True, max_length=32)),
                        ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('message_id', models.CharField(max_length=64, unique=True)),
                        ('event_type', models.CharField(max_length=64)),
                        ('payload', models.JSONField()),
                        ('status', models.CharField(default='pending', max_length=20)),
                        ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='workflow.webhookendpoint')),
                    ],
                    options={
                        'db_table': 'governance_webhookdelivery',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Deployment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('environment', models.CharField(max_length=20)),
                        ('strategy', models.CharField(choices=[('full', 'Full'), ('canary', 'Canary'), ('shadow', 'Shadow'), ('blue_green', 'Blue-green')], default='full', max_length=20)),
                        ('traffic_percent', models.PositiveSmallIntegerField(default=100)),
                        ('status', models.CharField(choices=[('active', 'Active'), ('rolled_back', 'Rolled back'), ('superseded', 'Superseded')], default='active', max_length=20)),
                        ('note', models.TextField(blank=True)),
                        ('deployed_at', models.DateTimeField(auto_now_add=True)),
                        ('rolled_back_at', models.DateTimeField(blank=True, null=True)),
                        ('rollback_reason', models.TextField(blank=True)),
                        ('approval', models.ForeignKey(blank=True, help_text='The approval the gate relied on; empty for environments the policy does not gate.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='deployments', to='workflow.approvalrequest')),
                        ('deployed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('model_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='deployments', to='registry.modelversion')),
                        ('rolled_back_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_deployment',
                        'ordering': ['-deployed_at'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('traffic_percent__gte', 1), ('traffic_percent__lte', 100)), name='governance_deployment_traffic_range')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='evidencedocument',
                    constraint=models.UniqueConstraint(fields=('model_version', 'sha256'), name='governance_evidence_once'),
                ),
                migrations.AddIndex(
                    model_name='finding',
                    index=models.Index(fields=['model', 'status', 'severity'], name='governance_finding_open_idx'),
                ),
                migrations.AddConstraint(
                    model_name='control',
                    constraint=models.UniqueConstraint(fields=('framework', 'key'), name='governance_control_key'),
                ),
                migrations.AddConstraint(
                    model_name='periodicreview',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'open')), fields=('model',), name='governance_one_open_review'),
                ),
                migrations.AddConstraint(
                    model_name='periodicreview',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'completed'), _negated=True), models.Q(models.Q(('conclusion', ''), _negated=True), ('signed_at__isnull', False), models.Q(('server_signature', ''), _negated=True)), _connector='OR'), name='governance_completed_review_signed'),
                ),
                migrations.AddConstraint(
                    model_name='policy',
                    constraint=models.UniqueConstraint(fields=('tier', 'version'), name='governance_policy_version'),
                ),
                migrations.AddConstraint(
                    model_name='policy',
                    constraint=models.UniqueConstraint(condition=models.Q(('is_active', True)), fields=('tier',), name='governance_policy_one_active'),
                ),
                migrations.AddConstraint(
                    model_name='approvalrequest',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('model_version', 'environment'), name='governance_one_pending_approval'),
                ),
                migrations.AddConstraint(
                    model_name='reviewnotice',
                    constraint=models.UniqueConstraint(fields=('model', 'due_date'), name='governance_review_notice_once'),
                ),
                migrations.AddConstraint(
                    model_name='signature',
                    constraint=models.UniqueConstraint(fields=('request', 'signer'), name='governance_one_signature_per_person'),
                ),
                migrations.AddConstraint(
                    model_name='signature',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('signer_id', models.F('requester_id_at_signing')), _negated=True), models.Q(('signer_id', models.F('submitter_id_at_signing')), _negated=True), models.Q(('signer_id', models.F('owner_id_at_signing')), _negated=True)), name='governance_no_self_approval'),
                ),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='evidencedocument',
            trigger=pgtrigger.compiler.Trigger(name='governance_evidence_fixed', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='97c399b64ffa3638a3728410427f6654bc8b2a88', operation='UPDATE OR DELETE', pgid='pgtrigger_governance_evidence_fixed_7f07b', table='governance_evidencedocument', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='periodicreview',
            trigger=pgtrigger.compiler.Trigger(name='governance_review_closed_fixed', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD."status" = \'completed\' OR OLD."status" = \'cancelled\')', func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='e1cdb9effff52974bd0e6cb3829ee1aba98b53e7', operation='UPDATE OR DELETE', pgid='pgtrigger_governance_review_closed_fixed_77ebd', table='governance_periodicreview', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='periodicreview',
            trigger=pgtrigger.compiler.Trigger(name='governance_review_kept', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;", hash='21ef788580cf2cf6e56e56812453fa9e5e62275e', operation='DELETE', pgid='pgtrigger_governance_review_kept_6df7a', table='governance_periodicreview', when='BEFORE')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='signature',
            trigger=pgtrigger.compiler.Trigger(name='governance_signature_final', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='ce6f8b06e28bd16d18b92fd9a362c9866e1e81e0', operation='UPDATE OR DELETE', pgid='pgtrigger_governance_signature_final_4adf2', table='governance_signature', when='BEFORE')),
        ),
    ]
