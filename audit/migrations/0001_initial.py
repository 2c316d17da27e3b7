"""The audit log's models move here from ``governance`` without touching the database.

State only (``SeparateDatabaseAndState`` with no database operations): the tables were created by
governance's migrations 0001, 0004 and 0011 and keep their names, triggers, indexes and rows; this
migration tells Django that the ``audit`` app now owns them. Governance 0013 then forgets them there,
and 0002 here moves their content types, so permissions and admin log entries follow.
"""

import audit.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # the tables exist, as governance last shaped them, before the state claims them
        ("governance", "0012_auth_throttle"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='AuditCheckpoint',
                    fields=[
                        ('number', models.BigIntegerField(primary_key=True, serialize=False)),
                        ('created_at', models.DateTimeField()),
                        ('last_seq', models.BigIntegerField()),
                        ('chain_head', models.CharField(max_length=64)),
                        ('previous_signature', models.CharField(blank=True, max_length=128)),
                        ('key_id', models.CharField(help_text='SHA-256 of the raw public key, hex.', max_length=64)),
                        ('payload', models.BinaryField(help_text='The RFC 8785 bytes that were signed.')),
                        ('signature', models.CharField(help_text='Ed25519 signature, hex.', max_length=128)),
                    ],
                    options={
                        'db_table': 'governance_auditcheckpoint',
                        'ordering': ['number'],
                    },
                ),
                migrations.CreateModel(
                    name='AuditVerification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('claim_token', models.CharField(blank=True, max_length=32)),
                        ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='queued', max_length=16)),
                        ('from_seq', models.BigIntegerField(blank=True, null=True)),
                        ('requested_by_username', models.CharField(blank=True, max_length=150)),
                        ('progress_current', models.BigIntegerField(default=0)),
                        ('progress_total', models.BigIntegerField(default=0)),
                        ('intact', models.BooleanField(blank=True, null=True)),
                        ('result', models.JSONField(blank=True, default=dict)),
                        ('error', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_auditverification',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('seq', models.BigIntegerField(primary_key=True, serialize=False)),
                        ('event_id', models.UUIDField(editable=False, unique=True)),
                        ('occurred_at', models.DateTimeField(db_index=True, help_text='Database clock, UTC.')),
                        ('actor_pk', models.BigIntegerField(blank=True, help_text="Snapshot of the actor's id.", null=True)),
                        ('actor_username', models.CharField(blank=True, max_length=150)),
                        ('actor_roles', audit.models.CanonicalJSONField(default=list)),
                        ('auth_method', models.CharField(max_length=16)),
                        ('request_id', models.CharField(blank=True, db_index=True, max_length=128)),
                        ('client_ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('user_agent', models.CharField(blank=True, max_length=512)),
                        ('action', models.CharField(db_index=True, max_length=64)),
                        ('object_type', models.CharField(blank=True, max_length=100)),
                        ('object_id', models.CharField(blank=True, max_length=64)),
                        ('object_repr', models.CharField(blank=True, max_length=200)),
                        ('before', audit.models.CanonicalJSONField(blank=True, null=True)),
                        ('after', audit.models.CanonicalJSONField(blank=True, null=True)),
                        ('reason', models.TextField(blank=True)),
                        ('schema_version', models.PositiveSmallIntegerField()),
                        ('canonical', models.BinaryField(help_text='The RFC 8785 bytes that were hashed.')),
                        ('prev_hash', models.CharField(max_length=64)),
                        ('hash', models.CharField(max_length=64, unique=True)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_auditevent',
                        'ordering': ['seq'],
                        'indexes': [models.Index(fields=['object_type', 'object_id', 'seq'], name='audit_object_idx'), models.Index(fields=['actor_pk', 'seq'], name='audit_actor_idx')],
                    },
                ),
            ],
        ),
    ]
