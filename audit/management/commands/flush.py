"""``manage.py flush``, made able to empty the append-only audit tables.

Django's flush truncates every table, which the audit triggers refuse. This override switches them off
and on again inside the flush's own transaction, so only a role that may ALTER the tables (the owner
or a superuser, never the application role of docs/OPERATIONS.md) can wipe the audit log, and no other
session sees the tables unprotected. Django's TransactionTestCase flushes through this command too.
"""

from __future__ import annotations

from django.core.management.commands import flush
from django.db import connections

from audit import protection


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        original = connection.ops.execute_sql_flush

        def execute_sql_flush(sql_list: list[str]) -> None:
            tables = [table for table in protection.TRIGGERS if any(f'"{table}"' in sql for sql in sql_list)]
            original([*protection.suspend_sql(tables), *sql_list, *protection.restore_sql(tables)])

        connection.ops.execute_sql_flush = execute_sql_flush
        try:
            return super().handle(**options)
        finally:
            del connection.ops.execute_sql_flush
